/// Positive pairs farther than a margin and negative pairs closer than another (PML's PairMarginMiner).
public struct PairMarginMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "pair-margin",
        summary: "Positive pairs farther apart than pos-margin and negative pairs closer than neg-margin.",
        formula: """
            keep positive (a,p) when d(a,p) > pos-margin;  keep negative (a,n) when d(a,n) < neg-margin
            (with a similarity: s(a,p) < pos-margin and s(a,n) > neg-margin)
            """,
        discussion: """
            The pairs a contrastive loss with the same margins would learn from. Comparisons are \
            strict, as in PML. Both lists are grouped by anchor in index order. O(N·M).
            """,
        reference: "PML PairMarginMiner",
        parameters: [
            .double("pos-margin", 0.2, doc: "positive pairs beyond this distance (below this similarity) are kept"),
            .double("neg-margin", 0.8, doc: "negative pairs within this distance (above this similarity) are kept"),
            .distance(default: "lp"),
        ],
        examples: [[], ["pos-margin=0.5", "neg-margin=1.2"], ["pos-margin=0.9", "neg-margin=0.1", "distance=cosine"]])

    public let positiveMargin: Double
    public let negativeMargin: Double
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        positiveMargin = try arguments.double("pos-margin")
        negativeMargin = try arguments.double("neg-margin")
        distance = try arguments.distance()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        let m = mask.columns
        let layout = ScratchLayout<S>(columns: m)
        // With h = sign·value and the margins scaled alike, both orientations become
        // "positive: h > sign·pos-margin, negative: h < sign·neg-margin" (negation is exact).
        let sign = S(distance.sign)
        let positiveBound = sign * S(positiveMargin), negativeBound = sign * S(negativeMargin)
        return matrix.withSendablePointer { values in
            TupleBuilder.pairs(anchors: mask.rows, grain: 32, scratchBytes: layout.bytes) { a, scratch, posOut, negOut in
                let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                let row = values.pointer + a * m
                var p = 0, n = 0
                for k in 0..<np {
                    let j = Int(positives[k])
                    if sign * row[j] > positiveBound {
                        posOut?.advanced(by: p).initialize(to: IndexPair(a, j))
                        p += 1
                    }
                }
                for k in 0..<nn {
                    let j = Int(negatives[k])
                    if sign * row[j] < negativeBound {
                        negOut?.advanced(by: n).initialize(to: IndexPair(a, j))
                        n += 1
                    }
                }
                return (p, n)
            }
        }
    }
}
