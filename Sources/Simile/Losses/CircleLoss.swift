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
        let gate = reducer.gate

        // One pass per anchor: the logits go into the gradient row, then one exp per column
        // (max-subtracted), then each row is scaled by softplus' slope over its log-sum-exp.
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let values = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double in
            var maxPos = -Double.infinity, maxNeg = -Double.infinity
            for j in 0..<row.count {
                let s = Double(row.values[j])
                var logit = 0.0
                if row.positives[j] > 0 {
                    logit = -gamma * Swift.max(0, optimumPositive - s) * (s - marginPositive)
                    maxPos = Swift.max(maxPos, logit)
                } else if row.negatives[j] > 0 {
                    logit = gamma * Swift.max(0, s - optimumNegative) * (s - marginNegative)
                    maxNeg = Swift.max(maxNeg, logit)
                }
                out[j] = S(logit)
            }
            guard maxPos > -.infinity, maxNeg > -.infinity else {
                for j in 0..<row.count { out[j] = 0 }
                return 0
            }
            let shiftPos = S(maxPos), shiftNeg = S(maxNeg)
            var sumPos = 0.0, sumNeg = 0.0
            for j in 0..<row.count {
                if row.positives[j] > 0 {
                    let e = S.exp(out[j] - shiftPos)
                    sumPos += Double(e)
                    out[j] = e
                } else if row.negatives[j] > 0 {
                    let e = S.exp(out[j] - shiftNeg)
                    sumNeg += Double(e)
                    out[j] = e
                } else {
                    out[j] = 0
                }
            }
            let x = maxPos + Double.log(sumPos) + maxNeg + Double.log(sumNeg)
            let value = x > 0 ? x + Double.log(onePlus: Double.exp(-x)) : Double.log(onePlus: Double.exp(x))
            let slope = 1 / (1 + Double.exp(-x))
            // dℓ/dsₐⱼ = slope · softmaxⱼ · (−γαₚ) for positives, slope · softmaxⱼ · γαₙ for negatives.
            let scalePos = -gamma * slope / sumPos, scaleNeg = gamma * slope / sumNeg
            for j in 0..<row.count where out[j] != 0 {
                let s = Double(row.values[j])
                if row.positives[j] > 0 {
                    out[j] *= S(scalePos * Swift.max(0, optimumPositive - s))
                } else {
                    out[j] *= S(scaleNeg * Swift.max(0, s - optimumNegative))
                }
            }
            return value
        }
        let bags = values.map { value -> Bag in
            var bag = Bag()
            bag.add(value, gate: gate)
            return bag
        }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .element,
                                                labels: input.labels)
        upstream.scaleRows { reduction.weight(values[$0], group: $0) }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)])
    }
}
