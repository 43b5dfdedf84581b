import RealModule

/// The tuplet margin loss (Yu & Tao 2019): each positive pair, with an angular margin, against
/// all negatives of its anchor in one softmax.
public struct TupletMarginLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "tuplet-margin",
        summary: "Each positive pair, its angle widened by a margin, against all negatives of its anchor.",
        formula: """
            ℓₐₚ = log(1 + Σ_{n∈N(a)} exp(scale·(sₐₙ − cos(θₐₚ − margin)))),  θₐₚ = acos(sₐₚ)
            L = reduce over positive pairs (a, p) (mean by default); s = cosine similarity
            """,
        discussion: """
            An N-pair-style softmax loss with an angular margin for the positive, for retrieval with \
            cosine embeddings. margin is in degrees (PML converts it with np.radians). Cosine only, as in \
            PML, so there is no distance parameter. A mined pair counts as often as it was mined. \
            cos(θ − margin) is computed as s·cos(margin) + √(1 − s²)·sin(margin), without acos. Its \
            derivative cos(margin) − s·sin(margin)/√(1 − s²) is infinite at s = ±1 (duplicated or opposite \
            embeddings): Simile bounds √(1 − s²) below by 1e-6, so such pairs get a finite gradient (zero for \
            exact duplicates, whose cosine has zero derivative), where PML's gradient is NaN or infinite and \
            its float32 loss can be NaN. Deviation: PML returns 0 when the batch has at most one positive \
            and at most one negative pair in total; Simile computes that pair's loss like any other.
            """,
        reference: "Yu & Tao, Deep Metric Learning with Tuplet Margin Loss, ICCV 2019; PML TupletMarginLoss",
        parameters: [
            .double("margin", 5.73, range: .closed(0, 180), doc: "angular margin added to each positive angle, in degrees"),
            .double("scale", 64, range: .greaterThan(0), doc: "inverse temperature of the softmax"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["margin=10", "scale=32"], ["reducer=avg-non-zero"]])

    public let margin: Double
    public let scale: Double
    public let reducer: any Reducer
    let distance = CosineSimilarity()

    /// The floor on √(1 − s²) in the derivative of cos(acos(s) − margin).
    static let sineFloor = 1e-6

    public init(_ arguments: Arguments) throws {
        margin = try arguments.double("margin")
        scale = try arguments.double("scale")
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.totalPositives > 0, pairs.totalNegatives > 0 else {
            return .zero(for: input, subLosses: ["loss"])
        }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let radians = margin * .pi / 180
        let cosMargin = Double.cos(radians), sinMargin = Double.sin(radians)
        let scale = self.scale, floor = Self.sineFloor
        let gate = reducer.gate

        // Per anchor: Σₙ exp(scale·sₐₙ) once (max-subtracted), then each positive's
        // zₐₚ = log Σₙ exp(scale·sₐₙ) − scale·cₐₚ and ℓₐₚ = softplus(zₐₚ). The gradient is written
        // unscaled and scaled by the reducer afterwards (every write stays in the anchor's row).
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let bags = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Bag in
            var bag = Bag()
            var maxNeg = -Double.infinity
            for j in 0..<row.count where row.negatives[j] > 0 {
                maxNeg = Swift.max(maxNeg, scale * Double(row.values[j]))
            }
            guard maxNeg > -.infinity else {
                // No negatives: every positive pair has loss log(1 + 0) = 0.
                for j in 0..<row.count {
                    if row.positives[j] > 0 { bag.add(0, gate: gate, multiplicity: Int(row.positives[j])) }
                    out[j] = 0
                }
                return bag
            }
            let shift = S(maxNeg)
            var sumNeg = 0.0
            for j in 0..<row.count {
                if row.negatives[j] > 0 {
                    let e = S.exp(S(scale) * row.values[j] - shift) * S(row.negatives[j])
                    sumNeg += Double(e)
                    out[j] = e
                } else {
                    out[j] = 0
                }
            }
            let logSum = maxNeg + Double.log(sumNeg)
            var negativeWeight = 0.0
            for j in 0..<row.count where row.positives[j] > 0 {
                let s = Swift.min(1, Swift.max(-1, Double(row.values[j])))
                let sine = ((1 - s) * (1 + s)).squareRoot()
                let c = s * cosMargin + sine * sinMargin
                let z = logSum - scale * c
                let value = Elementwise.softplus(z)
                let multiplicity = Int(row.positives[j])
                bag.add(value, gate: gate, multiplicity: multiplicity)
                guard gate.includes(value) else { continue }
                let slope = Double(multiplicity) / (1 + Double.exp(-z))
                negativeWeight += slope
                let dc = cosMargin - s * sinMargin / Swift.max(sine, floor)
                out[j] = S(-slope * scale * dc)
            }
            // dzₐₚ/dsₐₙ = scale · softmaxₙ for every positive p of the anchor.
            let negativeScale = S(negativeWeight * scale / sumNeg)
            for j in 0..<row.count where row.negatives[j] > 0 { out[j] *= negativeScale }
            return bag
        }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .pair,
                                                labels: input.labels)
        upstream.scaleRows { reduction.scale(group: $0) }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)])
    }
}
