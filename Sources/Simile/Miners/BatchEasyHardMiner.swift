/// One positive and one negative per anchor, each chosen easy, semi-hard or hard (or all of them)
/// (PML's BatchEasyHardMiner).
public struct BatchEasyHardMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "batch-easy-hard",
        summary: "Per anchor, the easiest, semi-hard or hardest positive and negative (or all of them), as pairs.",
        formula: """
            positive: easy = closest, hard = farthest, semihard = farthest with d(a,p) < d(a,n*)
            negative: easy = farthest, hard = closest, semihard = closest with d(a,n) > d(a,p*)
            (n*, p*: the negative or positive chosen by the other strategy; "all" = every pair)
            only values inside allowed-pos-range / allowed-neg-range are candidates
            returns pairs (a, p*) and (a, n*) for every anchor that has both
            """,
        discussion: """
            PML's strategies and rules: pos-strategy and neg-strategy are easy, semihard, hard or all; \
            they cannot both be semihard, and semihard cannot be combined with all. The semi-hard \
            band has no margin (strictly beyond the other side's choice). With a similarity, closest \
            means most similar. When neither strategy is all, an anchor needs both a positive and a \
            negative; with all on one side, that side keeps every pair and the other side keeps \
            every anchor that has a choice. The allowed ranges bound the raw matrix values \
            (inclusive) and are ignored for a side whose strategy is all, as in PML. Ties go to the \
            lowest reference index (PML takes torch's first minimum or maximum). One O(M) scan per \
            anchor; the output is pairs, PML's (a, p, a, n).
            """,
        reference: "Xuan et al. 2020 (Improved Embeddings with Easy Positive Triplet Mining); PML BatchEasyHardMiner",
        parameters: [
            ParameterSpec("pos-strategy", .choice(Strategy.allCases.map(\.rawValue)), default: .value(.choice("easy")),
                          doc: "which positive per anchor: easy (closest), semihard, hard (farthest) or all"),
            ParameterSpec("neg-strategy", .choice(Strategy.allCases.map(\.rawValue)), default: .value(.choice("semihard")),
                          doc: "which negative per anchor: easy (farthest), semihard, hard (closest) or all"),
            ParameterSpec("allowed-pos-range", .doubles, default: .unset("no bound"),
                          doc: "[low, high]: only positives whose distance (or similarity) lies in it, inclusive"),
            ParameterSpec("allowed-neg-range", .doubles, default: .unset("no bound"),
                          doc: "[low, high]: only negatives whose distance (or similarity) lies in it, inclusive"),
            .distance(default: "lp"),
        ],
        examples: [[], ["pos-strategy=hard", "neg-strategy=hard"], ["pos-strategy=semihard", "neg-strategy=easy"],
                   ["pos-strategy=all", "neg-strategy=hard", "allowed-neg-range=[0.2, 1.2]", "distance=cosine"]])

    /// How one side of the pair is chosen.
    public enum Strategy: String, Sendable, CaseIterable {
        case easy, semihard, hard, all
    }

    public let positiveStrategy: Strategy
    public let negativeStrategy: Strategy
    public let allowedPositiveRange: ClosedRange<Double>?
    public let allowedNegativeRange: ClosedRange<Double>?
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        let name = Self.descriptor.name
        positiveStrategy = Strategy(rawValue: try arguments.choice("pos-strategy")) ?? .easy
        negativeStrategy = Strategy(rawValue: try arguments.choice("neg-strategy")) ?? .semihard
        if positiveStrategy == .semihard && negativeStrategy == .semihard {
            throw SimileError.incompatible(
                "'\(name)': pos-strategy and neg-strategy cannot both be semihard (each is defined by the other's choice); make one of them easy or hard")
        }
        if (positiveStrategy == .semihard && negativeStrategy == .all) || (positiveStrategy == .all && negativeStrategy == .semihard) {
            throw SimileError.incompatible(
                "'\(name)': semihard cannot be combined with all (a semi-hard choice needs one pair on the other side); use easy or hard with all")
        }
        allowedPositiveRange = try Self.range(arguments, "allowed-pos-range", miner: name)
        allowedNegativeRange = try Self.range(arguments, "allowed-neg-range", miner: name)
        distance = try arguments.distance()
    }

    init(positive: Strategy, negative: Strategy, positiveRange: ClosedRange<Double>?, negativeRange: ClosedRange<Double>?,
         distance: any Distance) {
        positiveStrategy = positive
        negativeStrategy = negative
        allowedPositiveRange = positiveRange
        allowedNegativeRange = negativeRange
        self.distance = distance
    }

    /// Reads an optional `[low, high]` parameter.
    static func range(_ arguments: Arguments, _ parameter: String, miner: String) throws -> ClosedRange<Double>? {
        guard let values = try arguments.optionalDoubles(parameter) else { return nil }
        guard values.count == 2 else {
            throw SimileError.invalidParameterValue(component: miner, parameter: parameter, value: "\(values)",
                                                    expected: "two numbers [low, high], e.g. \(parameter)=[0.1, 1.2]")
        }
        guard values[0] <= values[1] else {
            throw SimileError.invalidParameterValue(component: miner, parameter: parameter, value: "\(values)",
                                                    expected: "[low, high] with low ≤ high; swap the two numbers")
        }
        return values[0]...values[1]
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        return Self.select(mask, matrix, sign: S(distance.sign), positive: positiveStrategy, negative: negativeStrategy,
                           positiveRange: allowedPositiveRange, negativeRange: allowedNegativeRange)
    }

    /// The chosen pairs, grouped by anchor.
    static func select<S: SimileFloat>(_ mask: MiningMask, _ matrix: Matrix<S>, sign: S, positive: Strategy,
                                       negative: Strategy, positiveRange: ClosedRange<Double>?,
                                       negativeRange: ClosedRange<Double>?) -> Tuples {
        let n = mask.rows, m = mask.columns
        let layout = ScratchLayout<S>(columns: m)
        let posRange = positiveRange.map { (S($0.lowerBound), S($0.upperBound)) }
        let negRange = negativeRange.map { (S($0.lowerBound), S($0.upperBound)) }
        // One scan per anchor: the chosen positive and negative (−1 for none) and, for a side
        // whose strategy is all, how many pairs it has.
        var choices = [Int](repeating: -1, count: 4 * n)
        choices.withUnsafeMutableBufferPointer { buffer in
            let out = SendablePointer(buffer.baseAddress!)
            matrix.withSendablePointer { values in
                Parallel.forEach(n, grain: 32) { range in
                    TupleBuilder.withScratch(layout.bytes) { scratch in
                        let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                        for a in range {
                            let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                            let (p, q) = choose(row: values.pointer + a * m, positives: positives, np, negatives: negatives, nn,
                                                sign: sign, positive: positive, negative: negative,
                                                positiveRange: posRange, negativeRange: negRange)
                            out.pointer[4 * a] = p
                            out.pointer[4 * a + 1] = q
                            out.pointer[4 * a + 2] = np
                            out.pointer[4 * a + 3] = nn
                        }
                    }
                }
            }
        }
        if positive != .all && negative != .all {
            var positivePairs: [IndexPair] = [], negativePairs: [IndexPair] = []
            for a in 0..<n where choices[4 * a] >= 0 && choices[4 * a + 1] >= 0 {
                positivePairs.append(IndexPair(a, choices[4 * a]))
                negativePairs.append(IndexPair(a, choices[4 * a + 1]))
            }
            return .pairs(positive: positivePairs, negative: negativePairs)
        }
        // A side with strategy all lists every pair of the anchor: split again while writing.
        let chosen = choices
        return TupleBuilder.pairs(anchors: n, grain: 32, scratchBytes: layout.bytes) { a, scratch, posOut, negOut in
            let p = chosen[4 * a], q = chosen[4 * a + 1], np = chosen[4 * a + 2], nn = chosen[4 * a + 3]
            let counts = (positive == .all ? np : (p >= 0 ? 1 : 0), negative == .all ? nn : (q >= 0 ? 1 : 0))
            if let posOut, let negOut {
                let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                _ = mask.split(a, positives: positives, negatives: negatives)
                if positive == .all {
                    for k in 0..<counts.0 { (posOut + k).initialize(to: IndexPair(a, Int(positives[k]))) }
                } else if counts.0 == 1 {
                    posOut.initialize(to: IndexPair(a, p))
                }
                if negative == .all {
                    for k in 0..<counts.1 { (negOut + k).initialize(to: IndexPair(a, Int(negatives[k]))) }
                } else if counts.1 == 1 {
                    negOut.initialize(to: IndexPair(a, q))
                }
            }
            return counts
        }
    }

    /// Anchor a's positive and negative (reference indices, −1 for none) under the strategies.
    @inline(__always)
    static func choose<S: SimileFloat>(
        row: UnsafePointer<S>, positives: UnsafePointer<Int32>, _ np: Int, negatives: UnsafePointer<Int32>, _ nn: Int,
        sign: S, positive: Strategy, negative: Strategy, positiveRange: (S, S)?, negativeRange: (S, S)?
    ) -> (positive: Int, negative: Int) {
        // In h = sign·value, larger always means farther: hard positive = largest h, hard
        // negative = smallest h.
        var p = -1, n = -1
        if positive == .semihard {
            n = pick(row, negatives, nn, largest: negative == .easy, sign: sign, bound: nil, range: negativeRange)
            if n >= 0 { p = pick(row, positives, np, largest: true, sign: sign, bound: sign * row[n], range: positiveRange) }
        } else if negative == .semihard {
            p = pick(row, positives, np, largest: positive == .hard, sign: sign, bound: nil, range: positiveRange)
            if p >= 0 { n = pick(row, negatives, nn, largest: false, sign: sign, bound: sign * row[p], range: negativeRange) }
        } else {
            if positive != .all {
                p = pick(row, positives, np, largest: positive == .hard, sign: sign, bound: nil, range: positiveRange)
            }
            if negative != .all {
                n = pick(row, negatives, nn, largest: negative == .easy, sign: sign, bound: nil, range: negativeRange)
            }
        }
        return (p, n)
    }

    /// The candidate with the largest (or smallest) h = sign·value, first one on ties; with a
    /// bound, only h < bound (largest) or h > bound (smallest); with a range, only raw values in it.
    @inline(__always)
    static func pick<S: SimileFloat>(_ row: UnsafePointer<S>, _ list: UnsafePointer<Int32>, _ count: Int, largest: Bool,
                                     sign: S, bound: S?, range: (S, S)?) -> Int {
        var best = -1
        var bestH: S = 0
        for k in 0..<count {
            let j = Int(list[k])
            let v = row[j]
            if let range, v < range.0 || v > range.1 { continue }
            let h = sign * v
            if let bound, largest ? h >= bound : h <= bound { continue }
            if best < 0 || (largest ? h > bestH : h < bestH) {
                best = j
                bestH = h
            }
        }
        return best
    }
}
