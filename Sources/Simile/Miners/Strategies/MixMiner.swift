/// One miner on the hardest batches, another on the rest: hard mining where it helps, without
/// letting it drive every step.
public struct MixMiner: StatefulMiner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "mix",
        summary: "Chooses a miner per batch: `hard` on the batches among the hardest fraction of recent ones, `otherwise` on the rest.",
        formula: """
            hardness h = mean over anchors with a positive and a negative of
                         σ·(hardest positive − hardest negative)      σ = +1 distance, −1 similarity
                         (max d(a,p) − min d(a,n);  max s(a,n) − min s(a,p) for a similarity)
            H = the hardness of the last `window` batches (before this one)
            |H| < warmup:  otherwise
            else:  hard  ⇔  #{x ∈ H : x > h} < hardest-fraction · (|H| + 1)
            then h joins H (the oldest leaves beyond `window`)
            """,
        discussion: """
            Batch-hard mining (Hermans et al. 2017) learns fast but can collapse an embedding \
            when every step follows the hardest, often mislabelled, examples (Schroff et al. 2015; \
            Wu et al. 2017); a softer miner is stable but slow once most triplets are easy. `mix` \
            uses the hard miner only on the batches whose hardness h ranks among the hardest \
            `hardest-fraction` of the recent ones (the current batch included in the count), e.g. \
            batch-hard on the hardest 20 % and semi-hard on the rest. h > 0 means the average \
            anchor's hardest triplet violates even a zero margin. The rank is taken against a \
            running window of past batches' hardness, so the rule adapts as training makes \
            batches easier; equal hardness counts as not harder. Until the window holds `warmup` \
            batches, every batch uses `otherwise` (hard mining at the start, from a random \
            embedding, is the collapse-prone case); with warmup=0 the first batch is hard. A batch \
            with no anchor having both a positive and a negative has no hardness: it uses \
            `otherwise` and is not recorded. Stateful (the window): state()/restore()/reset() \
            round-trip it, with the nested miners' states; a state restored into a smaller window \
            keeps the newest values. Cost: one distance matrix and an O(N·M) scan on top of the \
            chosen miner's cost.
            """,
        reference: "Hermans, Beyer & Leibe 2017 (In Defense of the Triplet Loss); Schroff et al. 2015 (FaceNet); Wu et al. 2017 (Sampling Matters)",
        parameters: [
            ParameterSpec("hard", .component(.miner), default: .value(.component(ComponentSpec(literal: "batch-hard"))),
                          doc: "the miner for the hardest batches"),
            ParameterSpec("otherwise", .component(.miner), default: .value(.component(ComponentSpec(literal: "semi-hard"))),
                          doc: "the miner for every other batch"),
            .double("hardest-fraction", 0.2, range: .closed(0, 1), doc: "the fraction of batches (by hardness rank) that use the hard miner"),
            .int("window", 100, range: .atLeast(1), doc: "the number of recent batches the rank is judged against"),
            .int("warmup", 10, range: .atLeast(0), doc: "batches of history needed before the hard miner can be chosen"),
            .distance(default: "lp", doc: "how hardness is measured"),
        ],
        examples: [[], ["hard=batch-hard", "otherwise=multi-similarity", "hardest-fraction=0.3", "window=20"],
                   ["otherwise=triplet-margin(margin=0.1)", "warmup=0", "distance=cosine"]])

    public let hard: any Miner
    public let otherwise: any Miner
    public let hardestFraction: Double
    public let window: Int
    public let warmup: Int
    public let distance: any Distance
    /// Past batches' hardness, oldest first.
    let history: LockedState<[Double]>

    public init(_ arguments: Arguments) throws {
        hard = try arguments.miner("hard")
        otherwise = try arguments.miner("otherwise")
        hardestFraction = try arguments.double("hardest-fraction")
        window = try arguments.int("window")
        warmup = try arguments.int("warmup")
        distance = try arguments.distance()
        guard warmup <= window else {
            throw SimileError.incompatible(
                "'\(Self.descriptor.name)': warmup (\(warmup)) exceeds window (\(window)), so the hard miner could never be chosen; lower warmup or raise window")
        }
        history = LockedState([])
    }

    /// The batch's hardness (see the formula), or nil when no anchor has both a positive and a negative.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func hardness<S: SimileFloat>(_ input: MinerInput<S>) throws -> Double? {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        let sign = S(distance.sign)
        let m = mask.columns
        let layout = ScratchLayout<S>(columns: m)
        let partials = matrix.withSendablePointer { values in
            Parallel.map(mask.rows, grain: 32) { range -> (Double, Int) in
                TupleBuilder.withScratch(layout.bytes) { scratch in
                    let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                    var sum = 0.0, count = 0
                    for a in range {
                        let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                        guard np > 0, nn > 0 else { continue }
                        let row = values.pointer + a * m
                        // In σ-space larger is farther: hardest positive = max, hardest negative = min.
                        var positive = -S.infinity, negative = S.infinity
                        for k in 0..<np { positive = Swift.max(positive, sign * row[Int(positives[k])]) }
                        for k in 0..<nn { negative = Swift.min(negative, sign * row[Int(negatives[k])]) }
                        sum += Double(positive - negative)
                        count += 1
                    }
                    return (sum, count)
                }
            }
        }
        let count = partials.reduce(0) { $0 + $1.1 }
        guard count > 0 else { return nil }
        return partials.reduce(0) { $0 + $1.0 } / Double(count)
    }

    /// Applies the rule to a batch of hardness h (nil: no hardness), records it, and says whether
    /// the hard miner is used.
    public func decide(hardness h: Double?) -> Bool {
        guard let h else { return false }
        let (fraction, window, warmup) = (hardestFraction, self.window, self.warmup)
        return history.withLock { history in
            defer {
                history.append(h)
                if history.count > window { history.removeFirst(history.count - window) }
            }
            guard history.count >= warmup else { return false }
            let harder = history.reduce(0) { $0 + ($1 > h ? 1 : 0) }
            return Double(harder) < fraction * Double(history.count + 1)
        }
    }

    /// The recorded hardness of recent batches, oldest first.
    public var recentHardness: [Double] { history.withLock { $0 } }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let useHard = decide(hardness: try hardness(input))
        return try (useHard ? hard : otherwise).mine(input)
    }

    // MARK: State

    public func state() throws -> [UInt8] {
        var writer = StateWriter(miner: Self.descriptor.name, version: 1)
        let values = history.withLock { $0 }
        writer.int(values.count)
        for value in values { writer.double(value) }
        try NestedState.write([hard, otherwise], into: &writer)
        return writer.bytes
    }

    public func restore(_ state: [UInt8]) throws {
        var reader = try StateReader(state, miner: Self.descriptor.name, version: 1)
        let count = try reader.count(elementBytes: 8)
        var values: [Double] = []
        for _ in 0..<count {
            let value = try reader.double()
            guard value.isFinite else {
                throw SimileError.invalidInput("'\(Self.descriptor.name)': the saved state is corrupt (a hardness is \(value))")
            }
            values.append(value)
        }
        let nested = try NestedState.read([hard, otherwise], from: &reader, miner: Self.descriptor.name)
        try reader.finish()
        try NestedState.apply(nested)
        let window = self.window
        history.withLock { $0 = Array(values.suffix(window)) }
    }

    public func reset() {
        history.withLock { $0 = [] }
        NestedState.reset([hard, otherwise])
    }
}
