import RealModule

/// The circle loss (Sun et al. 2020) as PML computes it: every positive and negative similarity of
/// an anchor is re-weighted by how far it is from its optimum, and the two groups are combined
/// in one soft-plus of log-sum-exps.
public struct CircleLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "circle",
        summary: "Weights each positive and negative cosine by its distance from the optimum (1 + m, −m).",
        formula: """
            αₚ = [1 + m − sₐₚ]₊,  αₙ = [sₐₙ + m]₊   (held constant in the gradient)
            ℓₐ = softplus( LSE_{p∈P(a)}(−γ·αₚ·(sₐₚ − (1 − m))) + LSE_{n∈N(a)}(γ·αₙ·(sₐₙ − m)) )
            ℓₐ = 0 for an anchor without a positive or without a negative
            L = reduce over all anchors (avg-non-zero by default); s = cosine similarity
            """,
        discussion: """
            Pair-based losses that want hard pairs to dominate: the paper's default for fine-grained \
            retrieval is m = 0.4, γ = 80 (PML's defaults); for face recognition m = 0.25, γ = 256. \
            Cosine only (PML requires CosineSimilarity), so there is no distance parameter. \
            As in the paper and PML, αₚ and αₙ are detached: the gradient treats them as constants, \
            so it is not the derivative of the value (finite differences disagree by design). \
            Mined tuples act as masks (a pair mined twice counts once). \
            Deviations: PML returns 0 when the batch has at most one positive and at most one negative \
            pair in total; Simile computes the loss of such a pair as it does for any other batch. PML's \
            per-anchor losses have shape (N, 1), so its class-weighted reducer broadcasts them against the \
            (N,) weights and returns mean(ℓ)·mean(w); Simile returns mean(w·ℓ).
            """,
        reference: "Sun et al., Circle Loss: A Unified Perspective of Pair Similarity Optimization, CVPR 2020; PML CircleLoss",
        parameters: [
            .double("m", 0.4, range: .open(-1, 1), doc: "relaxation margin (cosine units): optima 1 + m and −m, decision margins 1 − m and m"),
            .double("gamma", 80, range: .greaterThan(0), doc: "scale of the similarities inside the log-sum-exps"),
            .reducer(default: "avg-non-zero"),
        ],
        examples: [[], ["m=0.25", "gamma=256"], ["reducer=mean"]])

    public let m: Double
    public let gamma: Double
    public let reducer: any Reducer
    let distance = CosineSimilarity()

    public init(_ arguments: Arguments) throws {
        m = try arguments.double("m")
        gamma = try arguments.double("gamma")
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let gamma = self.gamma
        let optimumPositive = 1 + m, optimumNegative = -m, marginPositive = 1 - m, marginNegative = m

        // One pass per anchor: the logits go into the gradient row, then one exp per column
        // (max-subtracted), then each row is scaled by softplus' slope over its log-sum-exp.
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let values = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double in
            // Logits into the gradient row (0 outside both sets), and each side's maximum;
            // four independent accumulators per side, since max reductions do not vectorise.
            let g = S(gamma), op = S(optimumPositive), mp = S(marginPositive)
            let on = S(optimumNegative), mn = S(marginNegative)
            var hasPos = false, hasNeg = false
            var p0 = -S.greatestFiniteMagnitude, p1 = p0, n0 = p0, n1 = p0
            var j = 0
            while j < row.count {
                let s = row.values[j]
                let isPos = row.positives[j] > 0, isNeg = row.negatives[j] > 0
                let logit = isPos ? -g * Swift.max(0, op - s) * (s - mp) : (isNeg ? g * Swift.max(0, s - on) * (s - mn) : 0)
                out[j] = logit
                let lp = isPos ? logit : -S.greatestFiniteMagnitude, ln = isNeg ? logit : -S.greatestFiniteMagnitude
                if j & 1 == 0 {
                    p0 = lp > p0 ? lp : p0
                    n0 = ln > n0 ? ln : n0
                } else {
                    p1 = lp > p1 ? lp : p1
                    n1 = ln > n1 ? ln : n1
                }
                hasPos = hasPos || isPos
                hasNeg = hasNeg || isNeg
                j += 1
            }
            let maxPos = hasPos ? Double(Swift.max(p0, p1)) : -Double.infinity
            let maxNeg = hasNeg ? Double(Swift.max(n0, n1)) : -Double.infinity
            guard maxPos > -.infinity, maxNeg > -.infinity else {
                for j in 0..<row.count { out[j] = 0 }
                return 0
            }
            // Shift each side by its maximum (other columns far below exp's range), one vectorised exp.
            let shiftPos = S(maxPos), shiftNeg = S(maxNeg)
            for j in 0..<row.count {
                out[j] = row.positives[j] > 0 ? out[j] - shiftPos : (row.negatives[j] > 0 ? out[j] - shiftNeg : -200)
            }
            S.exp(out, out, count: row.count)
            let (sumPos, sumNeg) = Elementwise.maskedSums(out, row.positives, row.negatives, count: row.count)
            let x = maxPos + Double.log(sumPos) + maxNeg + Double.log(sumNeg)
            let value = Elementwise.softplus(x)
            let slope = 1 / (1 + Double.exp(-x))
            // dℓ/dsₐⱼ = slope · softmaxⱼ · (−γαₚ) for positives, slope · softmaxⱼ · γαₙ for negatives.
            let scalePos = -gamma * slope / sumPos, scaleNeg = gamma * slope / sumNeg
            let sp = S(scalePos), sn = S(scaleNeg)
            for j in 0..<row.count {
                let s = row.values[j]
                out[j] *= row.positives[j] > 0 ? sp * Swift.max(0, op - s) : (row.negatives[j] > 0 ? sn * Swift.max(0, s - on) : 0)
            }
            return value
        }
        return try LossAssembly.outputPerAnchor(input, distance: distance, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name)
    }
}
