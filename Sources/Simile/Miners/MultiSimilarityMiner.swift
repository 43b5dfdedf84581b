/// The pair mining of the multi-similarity paper: positives less similar than the most similar
/// negative (plus ε), negatives more similar than the least similar positive (minus ε).
public struct MultiSimilarityMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "multi-similarity",
        summary: "Informative pairs by relative similarity: positives near the hardest negative, negatives near the hardest positive.",
        formula: """
            keep positive (a,p) when  s(a,p) − ε < max over negatives s(a,n)
            keep negative (a,n) when  s(a,n) + ε > min over positives s(a,p)
            (with a distance: d(a,p) + ε > min d(a,n) and d(a,n) − ε < max d(a,p))
            """,
        discussion: """
            The pair-mining step of Wang et al. 2019 (the loss itself, `multi-similarity` loss, does \
            no mining). Comparisons are strict, as in PML. An anchor without negatives keeps no \
            positive and one without positives keeps no negative; a batch without any positive \
            pair or without any negative pair gives no pairs at all. One pass per anchor: O(N·M).
            """,
        reference: "Wang et al. 2019 (Multi-Similarity Loss with General Pair Weighting); PML MultiSimilarityMiner",
        parameters: [
            .double("epsilon", 0.1, range: .atLeast(0), doc: "the slack ε, in units of the similarity (or distance)"),
            .distance(default: "cosine"),
        ],
        examples: [[], ["epsilon=0.3"], ["distance=lp"]])

    public let epsilon: Double
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        epsilon = try arguments.double("epsilon")
        distance = try arguments.distance()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        let m = mask.columns
        let layout = ScratchLayout<S>(columns: m)
        let sign = S(distance.sign), epsilon = S(self.epsilon)
        // In h = sign·value (larger = farther): keep positives with h + ε > min h over negatives,
        // negatives with h − ε < max h over positives. Negating is exact, so this is PML's test
        // for both orientations.
        let tuples = matrix.withSendablePointer { values in
            TupleBuilder.pairs(anchors: mask.rows, grain: 32, scratchBytes: layout.bytes) { a, scratch, posOut, negOut in
                let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                guard np > 0, nn > 0 else { return (0, 0) }
                let row = values.pointer + a * m
                var closestNegative = S.infinity, farthestPositive = -S.infinity
                for k in 0..<nn { closestNegative = Swift.min(closestNegative, sign * row[Int(negatives[k])]) }
                for k in 0..<np { farthestPositive = Swift.max(farthestPositive, sign * row[Int(positives[k])]) }
                var p = 0, n = 0
                for k in 0..<np {
                    let j = Int(positives[k])
                    if sign * row[j] + epsilon > closestNegative {
                        posOut?.advanced(by: p).initialize(to: IndexPair(a, j))
                        p += 1
                    }
                }
                for k in 0..<nn {
                    let j = Int(negatives[k])
                    if sign * row[j] - epsilon < farthestPositive {
                        negOut?.advanced(by: n).initialize(to: IndexPair(a, j))
                        n += 1
                    }
                }
                return (p, n)
            }
        }
        // PML returns nothing when the batch has no positive pair or no negative pair at all; the
        // per-anchor rule above already gives that (an anchor needs both to keep anything).
        return tuples
    }
}
