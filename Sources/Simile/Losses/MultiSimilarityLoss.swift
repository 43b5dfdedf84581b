import RealModule

/// The multi-similarity loss (Wang et al. 2019) as PML computes it: soft weighting of all
/// positives and negatives of each anchor. The ε-mining of the paper belongs to the
/// `multi-similarity` miner; pass its tuples to get the paper's method.
public struct MultiSimilarityLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "multi-similarity", aliases: ["ms"],
        summary: "Soft-weights every positive and negative of an anchor by how hard it is.",
        formula: """
            ℓₐ = (1/α)·log(1 + Σ_{p∈P(a)} exp(α·m(Sₐₚ, base))) + (1/β)·log(1 + Σ_{n∈N(a)} exp(β·m(base, Sₐₙ)))
            with m(x, y) = y − x for a similarity (so −α(S − base) and β(S − base) for cosine);
            L = reduce over all anchors (mean by default)
            """,
        discussion: """
            The product's main ECG loss. Mined tuples act as masks (a pair mined twice counts once). \
            The paper's ε-based pair selection is the multi-similarity miner's job, as in PML.
            """,
        reference: "Wang et al., Multi-Similarity Loss with General Pair Weighting, CVPR 2019; PML MultiSimilarityLoss",
        parameters: [
            .double("alpha", 2, range: .greaterThan(0), doc: "scale of the positive term"),
            .double("beta", 50, range: .greaterThan(0), doc: "scale of the negative term"),
            .double("base", 0.5, doc: "the similarity both terms are measured from"),
            .distance(default: "cosine"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["alpha=1", "beta=40", "base=0.6"], ["distance=lp"]])

    public let alpha: Double
    public let beta: Double
    public let base: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        alpha = try arguments.double("alpha")
        beta = try arguments.double("beta")
        base = try arguments.double("base")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let distance = self.distance, alpha = self.alpha, beta = self.beta, base = self.base
        let sign = distance.sign

        // One pass: each anchor's value, and its gradient row (scaled by the reducer afterwards).
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let values = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double in
            // pos exponent α·m(S, base) = α·sign·(S − base); neg exponent β·m(base, S) = −β·sign·(S − base).
            let a = S(alpha * sign), b = S(-beta * sign), baseS = S(base)
            let (maxPosS, maxNegS) = Elementwise.maskedScaledMax(row.values, row.positives, row.negatives,
                                                                 count: row.count, base: baseS, a: a, b: b)
            let maxPos = Double(maxPosS), maxNeg = Double(maxNegS)
            // Exponents, shifted by their maxima (masked entries far below exp's range give 0),
            // then one vectorised exp over the row.
            for j in 0..<row.count {
                let x = row.values[j] - baseS
                out[j] = row.positives[j] > 0 ? a * x - maxPosS : (row.negatives[j] > 0 ? b * x - maxNegS : -200)
            }
            S.exp(out, out, count: row.count)
            let (positiveSum, negativeSum) = Elementwise.maskedSums(out, row.positives, row.negatives, count: row.count)
            let sumPos = Double.exp(-maxPos) + positiveSum, sumNeg = Double.exp(-maxNeg) + negativeSum
            // d ℓ / d Sₐⱼ = sign·softmax₊ⱼ for positives and −sign·softmax₋ⱼ for negatives
            // (entries in neither set are exp(−200) = 0 already).
            let scalePos = S(sign / sumPos), scaleNeg = S(-sign / sumNeg)
            for j in 0..<row.count { out[j] *= row.positives[j] > 0 ? scalePos : scaleNeg }
            return (Double.log(sumPos) + maxPos) / alpha + (Double.log(sumNeg) + maxNeg) / beta
        }
        return try LossAssembly.outputPerAnchor(input, distance: distance, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name)
    }
}
