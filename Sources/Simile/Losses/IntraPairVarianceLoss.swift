/// The intra-pair variance loss (Yu et al. 2019) in PML's form: positive pairs should not be much
/// less similar than the mean positive pair, negative pairs not much more similar than the mean
/// negative pair.
public struct IntraPairVarianceLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "intra-pair-variance",
        summary: "Penalises positive and negative pairs that stray from their mean similarity by more than ε.",
        formula: """
            μ₊ = mean similarity of the positive pairs, μ₋ = of the negative pairs (the gradient flows through both)
            pos_loss = reduce over positive pairs of [(1 − pos-eps)·μ₊ − Sₐₚ]₊²
            neg_loss = reduce over negative pairs of [Sₐₙ − (1 + neg-eps)·μ₋]₊²
            with a distance: pos [dₐₚ − (1 + pos-eps)·μ₊]₊², neg [(1 − neg-eps)·μ₋ − dₐₙ]₊²
            L = pos_loss + neg_loss
            """,
        discussion: """
            A regulariser of the spread of pair similarities, from "Deep Metric Learning with Tuplet \
            Margin Loss", where it is added to tuplet-margin; on its own it does not separate classes. \
            Every pair term depends on all pairs through the means μ₊ and μ₋, so each pair's gradient \
            has a second, uniform part. Pairs count with their multiplicity (in the means too). \
            Simile does not reproduce PML's quirk of returning 0 when every index list has at most one \
            element.
            """,
        reference: "Yu & Tao, Deep Metric Learning with Tuplet Margin Loss, ICCV 2019; PML IntraPairVarianceLoss",
        parameters: [
            .double("pos-eps", 0.01, range: .closed(0, 1), doc: "relative slack below (above, for a distance) the mean positive similarity"),
            .double("neg-eps", 0.01, range: .closed(0, 1), doc: "relative slack above (below, for a distance) the mean negative similarity"),
            .distance(default: "cosine"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["pos-eps=0.05", "neg-eps=0.1"], ["distance=lp"], ["reducer=avg-non-zero"]])

    public let posEps: Double
    public let negEps: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        posEps = try arguments.double("pos-eps")
        negEps = try arguments.double("neg-eps")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["pos_loss", "neg_loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let gate = reducer.gate
        // vₖ = σ·(Mₖ − c·μ): positives σ₊ = sign, c₊ = 1 + sign·pos-eps; negatives σ₋ = −sign, c₋ = 1 − sign·neg-eps.
        let sign = distance.sign
        let sigmaPos = sign, cPos = 1 + sign * posEps
        let sigmaNeg = -sign, cNeg = 1 - sign * negEps

        // Pass 1: the means.
        let sums = pairs.map(matrix.values) { row -> (pos: Double, neg: Double) in
            var pos = 0.0, neg = 0.0
            for j in 0..<row.count {
                let v = Double(row.values[j])
                if row.positives[j] > 0 { pos += Double(row.positives[j]) * v }
                if row.negatives[j] > 0 { neg += Double(row.negatives[j]) * v }
            }
            return (pos, neg)
        }
        let posCount = Double(pairs.totalPositives), negCount = Double(pairs.totalNegatives)
        let meanPos = posCount > 0 ? sums.reduce(0) { $0 + $1.pos } / posCount : 0
        let meanNeg = negCount > 0 ? sums.reduce(0) { $0 + $1.neg } / negCount : 0
        let shiftPos = cPos * meanPos, shiftNeg = cNeg * meanNeg

        // Pass 2: the values.
        let bags = pairs.map(matrix.values) { row -> (Bag, Bag) in
            var positive = Bag(), negative = Bag()
            for j in 0..<row.count {
                let v = Double(row.values[j])
                if row.positives[j] > 0 {
                    let h = Swift.max(0, sigmaPos * (v - shiftPos))
                    positive.add(h * h, gate: gate, multiplicity: Int(row.positives[j]))
                }
                if row.negatives[j] > 0 {
                    let h = Swift.max(0, sigmaNeg * (v - shiftNeg))
                    negative.add(h * h, gate: gate, multiplicity: Int(row.negatives[j]))
                }
            }
            return (positive, negative)
        }
        let positive = try LossAssembly.reduce(reducer, bags.map(\.0), loss: name, term: "pos_loss", kind: .pair,
                                               labels: input.labels)
        let negative = try LossAssembly.reduce(reducer, bags.map(\.1), loss: name, term: "neg_loss", kind: .pair,
                                               labels: input.labels)

        // Pass 3: the direct part, dℓₖ/dMₖ = 2hσ, and Σₖ w·2h (for the part through the means).
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let totals = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> (pos: Double, neg: Double) in
            let a = row.anchor
            var pos = 0.0, neg = 0.0
            for j in 0..<row.count {
                let v = Double(row.values[j])
                var g = 0.0
                if row.positives[j] > 0 {
                    let h = Swift.max(0, sigmaPos * (v - shiftPos))
                    let w = positive.weight(h * h, group: a) * 2 * h * Double(row.positives[j])
                    g += w * sigmaPos
                    pos += w
                }
                if row.negatives[j] > 0 {
                    let h = Swift.max(0, sigmaNeg * (v - shiftNeg))
                    let w = negative.weight(h * h, group: a) * 2 * h * Double(row.negatives[j])
                    g += w * sigmaNeg
                    neg += w
                }
                out[j] = S(g)
            }
            return (pos, neg)
        }
        // Pass 4: dvₖ/dμ = −σc and dμ/dMⱼ = multiplicity/count, the same for every pair of a kind.
        let throughPos = posCount > 0 ? -sigmaPos * cPos * totals.reduce(0) { $0 + $1.pos } / posCount : 0
        let throughNeg = negCount > 0 ? -sigmaNeg * cNeg * totals.reduce(0) { $0 + $1.neg } / negCount : 0
        if throughPos != 0 || throughNeg != 0 {
            pairs.accumulate(matrix.values, into: &upstream) { row, out in
                for j in 0..<row.count {
                    let extra = Double(row.positives[j]) * throughPos + Double(row.negatives[j]) * throughNeg
                    if extra != 0 { out[j] = S(Double(out[j]) + extra) }
                }
            }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("pos_loss", positive), ("neg_loss", negative)])
    }
}
