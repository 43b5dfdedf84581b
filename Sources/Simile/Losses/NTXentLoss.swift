import RealModule

/// The normalized temperature-scaled cross-entropy loss (NT-Xent, InfoNCE) in PML's form: each
/// positive pair against all negatives of its anchor.
public struct NTXentLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "nt-xent", aliases: ["infonce"],
        summary: "Cross-entropy of each positive pair against the negatives of its anchor, at a temperature.",
        formula: """
            xₐⱼ = Sₐⱼ/τ for a similarity, −dₐⱼ/τ for a distance
            ℓ(a,p) = −log( e^{xₐₚ} / (e^{xₐₚ} + Σ_{n∈N(a)} e^{xₐₙ}) + tiny )
            L = reduce over positive pairs (a, p) (mean by default); tiny = the smallest normal number of the type
            """,
        discussion: """
            The contrastive loss of SimCLR and MoCo (InfoNCE), generalised to labels: every positive \
            pair of a labelled batch, or every mined positive pair, is one cross-entropy term whose \
            negatives are the negative pairs with the same anchor (with reference embeddings: the \
            anchor's negatives in the reference batch). Use it for self-supervised pairs (two views \
            per label) or supervised batches; small temperatures weight the hardest negatives. A pair \
            whose anchor has no negative contributes 0 and still counts in the mean, as in PML. Mined \
            pairs count with their multiplicity. Each anchor's negative sum is computed once and \
            shared by all of its positives, so memory is O(N·M) and N = 4096 runs in one call \
            (PML builds a P×(negatives) matrix and runs out of memory near N = 1024). \
            Simile does not reproduce PML's quirk of returning 0 when every index list has at most \
            one element.
            """,
        reference: "Chen et al., A Simple Framework for Contrastive Learning (SimCLR), ICML 2020; van den Oord et al., CPC (InfoNCE), 2018; PML NTXentLoss",
        parameters: [
            .double("temperature", 0.07, range: .greaterThan(0), doc: "τ, divides the similarities (unitless)"),
            .distance(default: "cosine"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["temperature=0.5"], ["temperature=0.2", "distance=lp"], ["reducer=avg-non-zero"]])

    public let temperature: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        temperature = try arguments.double("temperature")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    /// One positive pair: z = LSE_N − x_p. Returns the loss, the factor q/(q + tiny), and 1 − q.
    @inline(__always)
    static func pair(_ z: Double, logTiny: Double) -> (value: Double, ratio: Double, oneMinusQ: Double) {
        // −log q = softplus(z), 1 − q = sigmoid(z), both from t = e^{−|z|}.
        let t = Double.exp(-Swift.abs(z))
        let softplus = Swift.max(z, 0) + Double.log(onePlus: t)
        let oneMinusQ = z > 0 ? 1 / (1 + t) : t / (1 + t)
        // Beyond e⁻⁶⁰, tiny/q vanishes against 1 in double precision.
        guard -softplus - logTiny < 60 else { return (softplus, 1, oneMinusQ) }
        // −log(q + tiny) = softplus − log(1 + tiny/q), with u = log(tiny/q), stable for any u.
        let u = logTiny + softplus
        if u > 0 {
            let v = Double.exp(-u)
            return (Swift.max(0, -logTiny - Double.log(onePlus: v)), v / (1 + v), oneMinusQ)
        }
        let v = Double.exp(u)
        return (Swift.max(0, softplus - Double.log(onePlus: v)), 1 / (1 + v), oneMinusQ)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.totalPositives > 0 else { return .zero(for: input, subLosses: ["loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let scale = -distance.sign / temperature  // x = scale · M
        let logTiny = Double.log(Double(S.leastNormalMagnitude))
        let gate = reducer.gate

        // Pass 1: per anchor, e_n = exp(x_n − max_N x) into the upstream row, the negatives' log-sum-exp,
        // and the values of its positive pairs.
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let rows = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> (bag: Bag, lse: Double, sum: Double) in
            var maxNeg = -Double.infinity
            var hasPositive = false
            for j in 0..<row.count {
                if row.negatives[j] > 0 { maxNeg = Swift.max(maxNeg, scale * Double(row.values[j])) }
                if row.positives[j] > 0 { hasPositive = true }
            }
            var bag = Bag()
            guard hasPositive else { return (bag, -.infinity, 0) }
            guard maxNeg > -.infinity else {
                // No negatives: q = 1, every positive pair has loss 0 (and still counts).
                for j in 0..<row.count where row.positives[j] > 0 { bag.add(0, gate: gate, multiplicity: Int(row.positives[j])) }
                return (bag, -.infinity, 0)
            }
            var sum = 0.0
            for j in 0..<row.count {
                if row.negatives[j] > 0 {
                    let e = S.exp(S(scale * Double(row.values[j]) - maxNeg))
                    out[j] = e
                    sum += Double(row.negatives[j]) * Double(e)
                }
            }
            let lse = maxNeg + Double.log(sum)
            for j in 0..<row.count where row.positives[j] > 0 {
                let value = NTXentLoss.pair(lse - scale * Double(row.values[j]), logTiny: logTiny).value
                bag.add(value, gate: gate, multiplicity: Int(row.positives[j]))
            }
            return (bag, lse, sum)
        }
        let reduction = try LossAssembly.reduce(reducer, rows.map(\.bag), loss: name, term: "loss", kind: .pair,
                                                labels: input.labels)

        // Pass 2: dℓ/dx_p = −r(1 − q), dℓ/dx_n = r(1 − q)·e_n/Σe for each positive p of the anchor.
        pairs.accumulate(matrix.values, into: &upstream) { row, out in
            let a = row.anchor
            let lse = rows[a].lse
            guard lse > -.infinity else {
                for j in 0..<row.count { out[j] = 0 }
                return
            }
            var negativeWeight = 0.0
            for j in 0..<row.count where row.positives[j] > 0 {
                let (value, ratio, oneMinusQ) = NTXentLoss.pair(lse - scale * Double(row.values[j]), logTiny: logTiny)
                let g = reduction.weight(value, group: a) * Double(row.positives[j]) * ratio * oneMinusQ
                out[j] = S(-g * scale)
                negativeWeight += g
            }
            let factor = negativeWeight * scale / rows[a].sum
            for j in 0..<row.count where row.negatives[j] > 0 {
                out[j] = S(Double(out[j]) * Double(row.negatives[j]) * factor)
            }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)])
    }
}
