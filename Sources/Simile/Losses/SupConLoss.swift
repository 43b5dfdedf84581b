import RealModule

/// The supervised contrastive loss (Khosla et al. 2020) in PML's form: for each anchor, the mean
/// log-probability of its positives under a softmax over its positives and negatives.
public struct SupConLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "supcon", aliases: ["supervised-contrastive"],
        summary: "Per anchor, the mean log-softmax probability of its positives among its positives and negatives.",
        formula: """
            xₐⱼ = Sₐⱼ/τ for a similarity, −dₐⱼ/τ for a distance
            log pₐⱼ = xₐⱼ − log Σ_{k∈P(a)∪N(a)} e^{xₐₖ}
            ℓₐ = −Σ_{p∈P(a)} log pₐₚ / (|P(a)| + tiny)   (0 for an anchor without positives)
            L = reduce over all anchors (avg-non-zero by default)
            """,
        discussion: """
            The supervised generalisation of NT-Xent: all positives of an anchor share one softmax \
            denominator. A strong default for supervised representation learning with large batches. \
            Mined pairs act as masks (a pair mined twice counts once). The softmax runs over the \
            anchor's positives and negatives only (the anchor itself is left out); an anchor without \
            negatives still has a loss from its positives. As in PML, the loss is 0 when the batch \
            (or the mined tuple) has no positive pair or no negative pair at all. Simile does not \
            reproduce PML's quirk of returning 0 when every index list has at most one element.
            """,
        reference: "Khosla et al., Supervised Contrastive Learning, NeurIPS 2020; PML SupConLoss",
        parameters: [
            .double("temperature", 0.1, range: .greaterThan(0), doc: "τ, divides the similarities (unitless)"),
            .distance(default: "cosine"),
            .reducer(default: "avg-non-zero"),
        ],
        examples: [[], ["temperature=0.5"], ["distance=lp(power=2)", "reducer=mean"]])

    public let temperature: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        temperature = try arguments.double("temperature")
        distance = try arguments.distance()
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
        let scale = -distance.sign / temperature  // x = scale · M

        // One pass: each anchor's value and its unscaled gradient dℓ/dx (softmax − positive mask / |P|).
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let values = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double in
            var positives = 0
            var maxX = -Double.infinity
            var sumPositive = 0.0
            for j in 0..<row.count {
                out[j] = 0
                let isPositive = row.positives[j] > 0
                guard isPositive || row.negatives[j] > 0 else { continue }
                let x = scale * Double(row.values[j])
                maxX = Swift.max(maxX, x)
                if isPositive {
                    positives += 1
                    sumPositive += x
                }
            }
            guard positives > 0 else { return 0 }
            var sum = 0.0
            for j in 0..<row.count where row.positives[j] > 0 || row.negatives[j] > 0 {
                let e = S.exp(S(scale * Double(row.values[j]) - maxX))
                out[j] = e
                sum += Double(e)
            }
            let lse = maxX + Double.log(sum)
            let count = Double(positives)
            let inverseSum = S(1 / sum), inverseCount = S(1 / count)
            for j in 0..<row.count where out[j] != 0 || row.positives[j] > 0 {
                out[j] = out[j] * inverseSum - (row.positives[j] > 0 ? inverseCount : 0)
            }
            return lse - sumPositive / count
        }
        return try LossAssembly.outputPerAnchor(input, distance: distance, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name, rowFactor: scale)
    }
}
