import RealModule

/// The lifted structure loss (Oh Song et al. 2016) in PML's form: each positive pair against the
/// negatives of both of its ends, through a log-sum-exp.
public struct LiftedStructureLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "lifted-structure", aliases: ["lifted"],
        summary: "Each positive pair against a soft maximum over the negatives of both of its ends, squared hinge.",
        formula: """
            Jₐₚ = LSE_{(r,n) ∈ N(a) ∪ N'(p)} m(neg-margin, dᵣₙ) + m(dₐₚ, pos-margin)
            ℓ(a,p) = [Jₐₚ]₊² / 2
            N(a) = negative pairs whose anchor is a; N'(p) = negative pairs whose anchor is p (without a
            reference batch), or whose negative is p (with one); LSE over an empty set is 0 (PML's masked
            log-sum-exp, no add-one); m(x, y) = x − y for a distance, y − x for a similarity
            L = reduce over positive pairs (a, p) (mean by default)
            """,
        discussion: """
            The original lifted structure loss: every positive pair is pushed against the hardest \
            negatives of both of its samples, softly. Mostly of historical interest; \
            generalized-lifted-structure is its cheaper anchor-wise form. The ½ is there because every \
            pair occurs in both orders. Pairs are counted with their multiplicity (a pair mined twice \
            counts twice, on both the positive and the negative side). As in PML, the loss is 0 when \
            there is no positive or no negative pair at all, and a pair none of whose ends has a \
            negative keeps J = m(dₐₚ, pos-margin). \
            Deviation from PML, with reference embeddings: PML takes the negatives of the positive end p \
            from the query row whose index equals p, comparing a reference index with a query index, \
            so the result depends on how the two batches happen to be numbered. Simile takes the \
            negative pairs that contain p, i.e. the queries of another label compared with reference \
            p (column p). Without a reference batch Simile uses row p, as PML does; with all pairs of a \
            batch, row p and column p hold the same distances, so column p is the natural extension. \
            The per-anchor and class-weighted reducers work as documented; in PML 2.9.0 the former \
            crashes and the latter returns mean(ℓ)·mean(w), because its per-pair losses have shape \
            (P, 1). Simile does not reproduce PML's quirk of returning 0 when every index list has at \
            most one element.
            """,
        reference: "Oh Song et al., Deep Metric Learning via Lifted Structured Feature Embedding, CVPR 2016; PML LiftedStructureLoss",
        parameters: [
            .double("neg-margin", 1, doc: "negative pairs are penalised within this distance (or beyond this similarity)"),
            .double("pos-margin", 0, doc: "positive pairs are penalised beyond this distance (or within this similarity)"),
            .distance(default: "lp"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["neg-margin=0.8", "pos-margin=0.1"], ["distance=cosine", "neg-margin=0.1", "pos-margin=0.9"],
                   ["reducer=avg-non-zero"]])

    public let negMargin: Double
    public let posMargin: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        negMargin = try arguments.double("neg-margin")
        posMargin = try arguments.double("pos-margin")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    /// log(eᴬ + eᴮ), or 0 when both sets are empty (PML's masked log-sum-exp of an empty row).
    @inline(__always)
    static func combine(_ a: Double, _ b: Double) -> Double {
        let m = Swift.max(a, b)
        guard m > -.infinity else { return 0 }
        return m + Double.log(Double.exp(a - m) + Double.exp(b - m))
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.totalPositives > 0, pairs.totalNegatives > 0 else {
            return .zero(for: input, subLosses: ["loss"])
        }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let sign = distance.sign, posMargin = self.posMargin, negMargin = self.negMargin
        let isSelf = input.isSelfComparison
        let n = matrix.rows, m = matrix.columns
        let gate = reducer.gate

        // Pass A: each row's log-sum-exp over its negatives (x = m(neg-margin, d) = sign·(neg-margin − d)),
        // with the row softmax (times multiplicity) left in the upstream matrix for the last pass.
        var upstream = Matrix<S>(rows: n, columns: m)
        let rowLSE = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double in
            var maxX = -Double.infinity
            for j in 0..<row.count where row.negatives[j] > 0 {
                maxX = Swift.max(maxX, sign * (negMargin - Double(row.values[j])))
            }
            guard maxX > -.infinity else { return -.infinity }
            var sum = 0.0
            for j in 0..<row.count where row.negatives[j] > 0 {
                let e = Double(row.negatives[j]) * Double(S.exp(S(sign * (negMargin - Double(row.values[j])) - maxX)))
                out[j] = S(e)
                sum += e
            }
            let inverse = 1 / sum
            for j in 0..<row.count where row.negatives[j] > 0 { out[j] = S(Double(out[j]) * inverse) }
            return maxX + Double.log(sum)
        }
        // With a reference batch, the positive end's negatives are its column.
        let columnLSE = isSelf ? [] : Self.columnLSE(pairs, matrix.values, sign: sign, negMargin: negMargin)
        let otherLSE = isSelf ? rowLSE : columnLSE

        // Pass B: the value of every positive pair.
        let bags = pairs.map(matrix.values) { row -> Bag in
            var bag = Bag()
            let own = rowLSE[row.anchor]
            for j in 0..<row.count where row.positives[j] > 0 {
                let v = LiftedStructureLoss.combine(own, otherLSE[j]) + sign * (Double(row.values[j]) - posMargin)
                let h = Swift.max(0, v)
                bag.add(h * h / 2, gate: gate, multiplicity: Int(row.positives[j]))
            }
            return bag
        }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .pair,
                                                labels: input.labels)

        // Pass C: dL/dM on positive entries, and how much each negative set's log-sum-exp is pulled:
        // the anchor's own row (rowWeight) and the positive end's row or column (otherWeight).
        let partials: [(rows: [Double], other: [Double])] =
            matrix.values.elements.withUnsafeBufferPointer { values in
                upstream.elements.withUnsafeMutableBufferPointer { target in
                    let mat = SendableConstPointer(values.baseAddress!)
                    let out = SendablePointer(target.baseAddress!)
                    let otherCount = isSelf ? n : m
                    return Parallel.map(n, grain: 16) { range -> (rows: [Double], other: [Double]) in
                        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                        defer { scratch.deallocate() }
                        var rows = [Double](repeating: 0, count: range.count)
                        var other = [Double](repeating: 0, count: otherCount)
                        for a in range {
                            pairs.fill(a, positives: scratch, negatives: scratch + m)
                            let row = mat.pointer + a * m, outRow = out.pointer + a * m
                            let own = rowLSE[a]
                            var weight = 0.0
                            for j in 0..<m where scratch[j] > 0 {
                                let lse = LiftedStructureLoss.combine(own, otherLSE[j])
                                let h = Swift.max(0, lse + sign * (Double(row[j]) - posMargin))
                                let g = reduction.weight(h * h / 2, group: a) * h * Double(scratch[j])
                                guard g != 0 else { continue }
                                outRow[j] = S(sign * g)
                                if own > -.infinity { weight += g * Double.exp(own - lse) }
                                if otherLSE[j] > -.infinity { other[j] += g * Double.exp(otherLSE[j] - lse) }
                            }
                            rows[a - range.lowerBound] = weight
                        }
                        return (rows, other)
                    }
                }
            }
        var rowWeight = partials.flatMap(\.rows)
        var otherWeight = [Double](repeating: 0, count: isSelf ? n : m)
        for partial in partials {
            for j in otherWeight.indices { otherWeight[j] += partial.other[j] }
        }
        if isSelf {
            for r in 0..<n { rowWeight[r] += otherWeight[r] }
        }

        // Pass D: dL/dM on negative entries, −sign·(row softmax · row weight + column softmax · column weight).
        let columnWeight = otherWeight, rowWeights = rowWeight
        pairs.accumulate(matrix.values, into: &upstream) { row, out in
            let r = row.anchor
            let weight = rowWeights[r]
            for j in 0..<row.count where row.negatives[j] > 0 {
                var g = Double(out[j]) * weight
                if !isSelf, columnWeight[j] != 0 {
                    let x = sign * (negMargin - Double(row.values[j]))
                    g += Double(row.negatives[j]) * Double.exp(x - columnLSE[j]) * columnWeight[j]
                }
                out[j] = S(-sign * g)
            }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)])
    }

    /// For each reference column, the log-sum-exp of x = sign·(neg-margin − d) over its negative
    /// entries (with multiplicity); −∞ for a column without any.
    static func columnLSE<S: SimileFloat>(_ pairs: PairIndex, _ values: Matrix<S>, sign: Double,
                                          negMargin: Double) -> [Double] {
        let n = values.rows, m = values.columns
        func chunked(_ body: @escaping @Sendable (Int, UnsafePointer<Int32>, UnsafePointer<S>, inout [Double]) -> Void,
                     initial: Double) -> [[Double]] {
            values.elements.withUnsafeBufferPointer { buffer in
                let mat = SendableConstPointer(buffer.baseAddress!)
                return Parallel.map(n, grain: 16) { range -> [Double] in
                    let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                    defer { scratch.deallocate() }
                    var partial = [Double](repeating: initial, count: m)
                    for r in range {
                        pairs.fill(r, positives: scratch, negatives: scratch + m)
                        body(m, scratch + m, mat.pointer + r * m, &partial)
                    }
                    return partial
                }
            }
        }
        var maxima = [Double](repeating: -.infinity, count: m)
        for partial in chunked({ m, negatives, row, partial in
            for j in 0..<m where negatives[j] > 0 {
                partial[j] = Swift.max(partial[j], sign * (negMargin - Double(row[j])))
            }
        }, initial: -.infinity) {
            for j in 0..<m { maxima[j] = Swift.max(maxima[j], partial[j]) }
        }
        let columnMax = maxima
        var sums = [Double](repeating: 0, count: m)
        for partial in chunked({ m, negatives, row, partial in
            for j in 0..<m where negatives[j] > 0 {
                partial[j] += Double(negatives[j]) * Double.exp(sign * (negMargin - Double(row[j])) - columnMax[j])
            }
        }, initial: 0) {
            for j in 0..<m { sums[j] += partial[j] }
        }
        return (0..<m).map { sums[$0] > 0 ? columnMax[$0] + Double.log(sums[$0]) : -.infinity }
    }
}
