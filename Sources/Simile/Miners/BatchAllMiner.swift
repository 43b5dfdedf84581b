/// Every valid triplet of the batch.
public struct BatchAllMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "batch-all",
        summary: "Every valid triplet (a, p, n): label(a) = label(p) ≠ label(n), p ≠ a.",
        formula: """
            { (a, p, n) : label(p) = label(a), p ≠ a, label(n) ≠ label(a) }
            """,
        discussion: """
            The "batch all" strategy of Hermans et al. 2017. It needs no distances, so it takes no \
            parameters; in PML it is TripletMarginMiner(margin=inf, type_of_triplets="all") (or \
            `get_all_triplets_indices`). To keep only the triplets that violate a margin, use \
            `triplet-margin` (its `all` type). The output has every triplet, so it grows as \
            N·P·(M − P) for P samples per class: a triplet loss without any miner uses the same \
            triplets without listing them, which is cheaper. Output ordered by (a, p, n).
            """,
        reference: "Hermans, Beyer & Leibe 2017 (In Defense of the Triplet Loss); PML TripletMarginMiner(margin=inf)",
        parameters: [],
        examples: [[]])

    public init(_ arguments: Arguments) throws {}

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let layout = ScratchLayout<S>(columns: mask.columns)
        return .triplets(TupleBuilder.triplets(anchors: mask.rows, grain: 16, scratchBytes: layout.bytes) { a, scratch, out in
            let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
            let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
            if let out {
                var k = 0
                for i in 0..<np {
                    let p = Int(positives[i])
                    for r in 0..<nn {
                        (out + k).initialize(to: Triplet(a, p, Int(negatives[r])))
                        k += 1
                    }
                }
            }
            return np * nn
        })
    }
}
