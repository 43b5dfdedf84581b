/// The hardest positive and the hardest negative of every anchor (PML's BatchHardMiner).
public struct BatchHardMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "batch-hard",
        summary: "Per anchor, the farthest positive and the closest negative, as one triplet.",
        formula: """
            p*(a) = argmax over positives d(a,p),   n*(a) = argmin over negatives d(a,n)
            (argmin s(a,p) and argmax s(a,n) for a similarity)
            returns (a, p*(a), n*(a)) for every anchor that has a positive and a negative
            """,
        discussion: """
            The "batch hard" strategy of Hermans et al. 2017; `batch-easy-hard` with both strategies \
            hard, returned as triplets. The allowed ranges bound the raw matrix values (inclusive), \
            as PML's keyword arguments do. Ties go to the lowest reference index (PML takes torch's \
            first maximum or minimum). One O(M) scan per anchor over the distance matrix: O(N·M) \
            time and memory.
            """,
        reference: "Hermans, Beyer & Leibe 2017 (In Defense of the Triplet Loss); PML BatchHardMiner",
        parameters: [
            ParameterSpec("allowed-pos-range", .doubles, default: .unset("no bound"),
                          doc: "[low, high]: only positives whose distance (or similarity) lies in it, inclusive"),
            ParameterSpec("allowed-neg-range", .doubles, default: .unset("no bound"),
                          doc: "[low, high]: only negatives whose distance (or similarity) lies in it, inclusive"),
            .distance(default: "lp"),
        ],
        examples: [[], ["distance=cosine"], ["allowed-neg-range=[0.3, 2]"]])

    public let allowedPositiveRange: ClosedRange<Double>?
    public let allowedNegativeRange: ClosedRange<Double>?
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        allowedPositiveRange = try BatchEasyHardMiner.range(arguments, "allowed-pos-range", miner: Self.descriptor.name)
        allowedNegativeRange = try BatchEasyHardMiner.range(arguments, "allowed-neg-range", miner: Self.descriptor.name)
        distance = try arguments.distance()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        let pairs = BatchEasyHardMiner.select(mask, matrix, sign: S(distance.sign), positive: .hard, negative: .hard,
                                              positiveRange: allowedPositiveRange, negativeRange: allowedNegativeRange)
        // One positive and one negative per kept anchor, in the same anchor order.
        let (positive, negative) = pairs.asPairs
        return .triplets(zip(positive, negative).map { Triplet($0.anchor, $0.other, $1.other) })
    }
}
