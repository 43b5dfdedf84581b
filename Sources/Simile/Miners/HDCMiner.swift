import RealModule

/// The hardest fraction of all positive pairs and of all negative pairs (PML's HDCMiner).
public struct HDCMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "hdc",
        summary: "The hardest fraction of the batch's pairs: the farthest positives and the closest negatives.",
        formula: """
            k₊ = ⌈f · #positive pairs⌉,  k₋ = ⌈f · #negative pairs⌉   (f = filter-percentage)
            keep the k₊ positive pairs with the largest d(a,p) and the k₋ negative pairs with the smallest d(a,n)
            (smallest s(a,p) and largest s(a,n) for a similarity)
            """,
        discussion: """
            One stage of Hard-Aware Deeply Cascaded embedding: the selection is over all pairs of \
            the batch at once, not per anchor. Ties at the cut go to the pair that comes first in \
            (anchor, reference) order; PML's torch.topk breaks them in an unspecified way, which \
            matters for the two orders (i, j) and (j, i) of one pair within a batch: they have the \
            same distance. The output is in (anchor, reference) order, not in PML's order of \
            hardness. PML's cascade (set_idx_externally, applying HDC to another miner's pairs) is \
            not offered here. Expected O(N·M) time (quickselect for the cut).
            """,
        reference: "Yuan, Yang & Zhang 2017 (Hard-Aware Deeply Cascaded Embedding); PML HDCMiner",
        parameters: [
            .double("filter-percentage", 0.5, range: .closed(0, 1), doc: "the fraction f of positive and of negative pairs kept"),
            .distance(default: "lp"),
        ],
        examples: [[], ["filter-percentage=0.25"], ["filter-percentage=0.8", "distance=cosine"]])

    public let filterPercentage: Double
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        filterPercentage = try arguments.double("filter-percentage")
        distance = try arguments.distance()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        let all = AllPairs.of(mask)
        let (positive, negative) = all.asPairs
        let sign = S(distance.sign)
        let m = mask.columns
        // h = sign·value: larger = farther.
        let positiveH = positive.map { sign * matrix.elements[$0.anchor * m + $0.other] }
        let negativeH = negative.map { sign * matrix.elements[$0.anchor * m + $0.other] }
        let keptPositive = TopK.largest(positiveH, Self.count(filterPercentage, positive.count))
        let keptNegative = TopK.smallest(negativeH, Self.count(filterPercentage, negative.count))
        return .pairs(positive: keptPositive.map { positive[$0] }, negative: keptNegative.map { negative[$0] })
    }

    /// PML's `ceil(f · count)`, in double precision as Python computes it.
    static func count(_ fraction: Double, _ count: Int) -> Int {
        Swift.min(count, Int((fraction * Double(count)).rounded(.up)))
    }
}

/// Every positive and negative pair, grouped by anchor in index order (PML's
/// `get_all_pairs_indices`, with the item exclusions of `MiningMask`).
enum AllPairs {
    static func of(_ mask: MiningMask) -> Tuples {
        let layout = ScratchLayout<Float>(columns: mask.columns)
        return TupleBuilder.pairs(anchors: mask.rows, grain: 64, scratchBytes: layout.bytes) { a, scratch, posOut, negOut in
            let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
            let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
            if let posOut, let negOut {
                for k in 0..<np { (posOut + k).initialize(to: IndexPair(a, Int(positives[k]))) }
                for k in 0..<nn { (negOut + k).initialize(to: IndexPair(a, Int(negatives[k]))) }
            }
            return (np, nn)
        }
    }
}
