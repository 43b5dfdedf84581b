/// Drops negatives that have stayed closer than ε over several epochs: a pair of "different"
/// classes that the model keeps putting together is more likely a labelling error than a hard
/// negative.
public struct VarianceFilterMiner: StatefulMiner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "variance-filter",
        summary: "Wraps a miner and drops negative pairs that have stayed closer than ε in several epochs (a sign of noisy labels).",
        formula: """
            every negative pair (a, n) of a batch is observed:  close ⇔ d(a,n) < ε   (s(a,n) > ε for a similarity)
            per pair key (item(a), item(n)):  a far observation forgets the pair;
              a close one counts the epoch once:  c ← c + 1 if its epoch ≠ the last counted epoch
            the wrapped miner's negatives (a, n) with c ≥ epochs after this batch are dropped
              (a triplet (a,p,n) goes with its negative; positive pairs are kept)
            """,
        discussion: """
            Persistent closeness across training is one of the signs used to detect noisy labels \
            (samples whose loss or position stays anomalous over epochs; Arpit et al. 2017, Han et \
            al. 2018): a true hard negative is pushed away within a few epochs, a mislabelled \
            positive keeps coming back. Here a negative is dropped from the epoch in which it has \
            been close in `epochs` different epochs (the current one included) with no far \
            observation since; a single far observation forgets it. Epochs in which the pair does \
            not meet do not reset the count, but the pair must meet again to be counted, so the \
            filter needs pairs that recur: a cross-batch memory as the reference, or a sampler that \
            repeats neighbourhoods (classes per batch); with random batches from a large data set \
            a given pair rarely meets twice. Pairs are keyed by item ids (`MiningContext.batchItems` \
            and `referenceItems`, or `batchItems` alone when the batch is its own reference); \
            without ids the key is the (row, reference row) index pair, which is meaningful only \
            when the same items come back at the same rows; a miner that has keyed by ids refuses \
            a batch without them (and the reverse) until it is reset. The epoch is \
            `MiningContext.epoch` (epoch 0, outside training, counts as one epoch). At most \
            `capacity` pairs are tracked: beyond it, the pairs counted longest ago are forgotten \
            first (down to ¾ of the capacity). State: only close pairs are stored, 32 bytes each; \
            state() writes them sorted, so equal histories give equal bytes. Cost per batch: the \
            wrapped miner's, one distance matrix, and a hash lookup per close negative (and per \
            negative of an anchor item that already has history).
            """,
        reference: "Arpit et al. 2017 (A Closer Look at Memorization in Deep Networks); Han et al. 2018 (Co-teaching)",
        parameters: [
            ParameterSpec("miner", .component(.miner), default: .value(.component(ComponentSpec(literal: "triplet-margin"))),
                          doc: "the miner whose negatives are filtered"),
            .double("epsilon", 0.2, doc: "a negative closer than this is suspicious, in units of the distance (a similarity above it, for a similarity)"),
            .int("epochs", 3, range: .atLeast(1), doc: "drop a negative once it has been close in this many epochs"),
            .int("capacity", 1_000_000, range: .atLeast(1), doc: "the most pairs tracked at once (32 bytes each)"),
            .distance(default: "lp", doc: "how closeness is measured"),
        ],
        examples: [[], ["miner=batch-hard", "epsilon=0.3", "epochs=2"],
                   ["miner=multi-similarity", "distance=cosine", "epsilon=0.9"]])

    public let miner: any Miner
    public let epsilon: Double
    public let epochs: Int
    public let capacity: Int
    public let distance: any Distance
    let history: LockedState<History>

    /// (anchor key, reference key).
    struct PairKey: Hashable, Sendable {
        let anchor: Int
        let other: Int
        init(_ anchor: Int, _ other: Int) {
            self.anchor = anchor
            self.other = other
        }
    }

    /// The tracked pairs.
    struct History: Sendable {
        struct Record: Sendable, Equatable {
            var count: Int
            var lastEpoch: Int
        }
        /// How pairs are keyed: decided by the first batch.
        enum Keying: Int, Sendable {
            case undecided = 0, items = 1, rows = 2
        }
        var keying: Keying = .undecided
        /// anchor key → reference key → record.
        var pairs: [Int: [Int: Record]] = [:]
        var size = 0

        func record(_ anchor: Int, _ other: Int) -> Record? { pairs[anchor]?[other] }
    }

    public init(_ arguments: Arguments) throws {
        miner = try arguments.miner("miner")
        epsilon = try arguments.double("epsilon")
        epochs = try arguments.int("epochs")
        capacity = try arguments.int("capacity")
        distance = try arguments.distance()
        history = LockedState(History())
    }

    /// Whether the pairs are keyed by row index (no item ids were given); nil before the first batch.
    public var keysByRowIndex: Bool? {
        history.withLock { history in
            switch history.keying {
            case .undecided: nil
            case .items: false
            case .rows: true
            }
        }
    }

    /// The number of tracked (close) pairs.
    public var trackedPairs: Int { history.withLock { $0.size } }

    /// How many epochs the pair of keys has been counted close (0 if not tracked).
    public func closeEpochs(anchorKey: Int, referenceKey: Int) -> Int {
        history.withLock { $0.record(anchorKey, referenceKey)?.count ?? 0 }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let name = Self.descriptor.name
        let mask = try MiningMask(input, miner: name)
        let tuples = try miner.mine(input)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        // Keys of the rows and of the reference rows.
        let context = input.context
        let keying: History.Keying
        let anchorKeys: [Int], referenceKeys: [Int]
        if let batch = context.batchItems, input.isSelfComparison || context.referenceItems != nil {
            keying = .items
            anchorKeys = batch
            referenceKeys = context.referenceItems ?? batch
        } else {
            keying = .rows
            anchorKeys = Array(0..<mask.rows)
            referenceKeys = Array(0..<mask.columns)
        }
        let sign = S(distance.sign), threshold = S(epsilon)
        let epoch = context.epoch, needed = epochs, capacity = self.capacity
        let m = mask.columns
        let drop: Set<IndexPair> = try history.withLock { history in
            if history.keying == .undecided { history.keying = keying }
            guard history.keying == keying else {
                throw SimileError.invalidInput(
                    "'\(name)': its history is keyed by \(history.keying == .items ? "item ids" : "row index"), but this batch \(keying == .items ? "has" : "has no") item ids; give batch_items (and reference_items) with every batch or with none, or reset the miner")
            }
            // Observe every negative pair: the close ones, and the far ones the history knows.
            var close = Set<PairKey>(), far = Set<PairKey>()
            let positives = UnsafeMutablePointer<Int32>.allocate(capacity: max(m, 1))
            let negatives = UnsafeMutablePointer<Int32>.allocate(capacity: max(m, 1))
            defer {
                positives.deallocate()
                negatives.deallocate()
            }
            matrix.elements.withUnsafeBufferPointer { values in
                for a in 0..<mask.rows {
                    let (_, nn) = mask.split(a, positives: positives, negatives: negatives)
                    let row = values.baseAddress! + a * m
                    let known = history.pairs[anchorKeys[a]]
                    for k in 0..<nn {
                        let j = Int(negatives[k])
                        if sign * (row[j] - threshold) < 0 {
                            close.insert(PairKey(anchorKeys[a], referenceKeys[j]))
                        } else if let known, known[referenceKeys[j]] != nil {
                            far.insert(PairKey(anchorKeys[a], referenceKeys[j]))
                        }
                    }
                }
            }
            for key in far { history.remove(key) }
            for key in close where !far.contains(key) { history.countClose(key, epoch: epoch) }
            history.evict(capacity: capacity)
            // The wrapped miner's negatives that have been close long enough.
            var drop = Set<IndexPair>()
            for pair in tuples.asPairs.negative where !drop.contains(pair) {
                if let record = history.record(anchorKeys[pair.anchor], referenceKeys[pair.other]), record.count >= needed {
                    drop.insert(pair)
                }
            }
            return drop
        }
        guard !drop.isEmpty else { return tuples }
        return tuples.filtered(triplet: { !drop.contains(IndexPair($0.anchor, $0.negative)) },
                               positive: { _ in true }, negative: { !drop.contains($0) })
    }

    // MARK: State

    public func state() throws -> [UInt8] {
        var writer = StateWriter(miner: Self.descriptor.name, version: 1)
        history.withLock { history in
            writer.int(history.keying.rawValue)
            let entries = history.sortedEntries()
            writer.int(entries.count)
            for (key, record) in entries {
                writer.int(key.anchor)
                writer.int(key.other)
                writer.int(record.count)
                writer.int(record.lastEpoch)
            }
        }
        try NestedState.write([miner], into: &writer)
        return writer.bytes
    }

    public func restore(_ state: [UInt8]) throws {
        var reader = try StateReader(state, miner: Self.descriptor.name, version: 1)
        guard let keying = History.Keying(rawValue: try reader.int()) else {
            throw SimileError.invalidInput("'\(Self.descriptor.name)': the saved state is corrupt (unknown keying)")
        }
        var restored = History()
        restored.keying = keying
        let count = try reader.count(elementBytes: 32)
        for _ in 0..<count {
            let key = PairKey(try reader.int(), try reader.int())
            let record = History.Record(count: try reader.int(), lastEpoch: try reader.int())
            guard record.count >= 1, restored.record(key.anchor, key.other) == nil else {
                throw SimileError.invalidInput("'\(Self.descriptor.name)': the saved state is corrupt (a pair is repeated or has count \(record.count))")
            }
            restored.pairs[key.anchor, default: [:]][key.other] = record
            restored.size += 1
        }
        let nested = try NestedState.read([miner], from: &reader, miner: Self.descriptor.name)
        try reader.finish()
        try NestedState.apply(nested)
        history.withLock { $0 = restored }
    }

    public func reset() {
        history.withLock { $0 = History() }
        NestedState.reset([miner])
    }
}

extension VarianceFilterMiner.History {
    mutating func remove(_ key: VarianceFilterMiner.PairKey) {
        guard pairs[key.anchor]?.removeValue(forKey: key.other) != nil else { return }
        size -= 1
        if pairs[key.anchor]?.isEmpty == true { pairs[key.anchor] = nil }
    }

    mutating func countClose(_ key: VarianceFilterMiner.PairKey, epoch: Int) {
        if var record = pairs[key.anchor]?[key.other] {
            if record.lastEpoch != epoch {
                record.count += 1
                record.lastEpoch = epoch
                pairs[key.anchor]![key.other] = record
            }
        } else {
            pairs[key.anchor, default: [:]][key.other] = Record(count: 1, lastEpoch: epoch)
            size += 1
        }
    }

    /// Every tracked pair, sorted by key.
    func sortedEntries() -> [(VarianceFilterMiner.PairKey, Record)] {
        pairs.flatMap { anchor, row in row.map { (VarianceFilterMiner.PairKey(anchor, $0.key), $0.value) } }
            .sorted { ($0.0.anchor, $0.0.other) < ($1.0.anchor, $1.0.other) }
    }

    /// Over capacity: forget the pairs counted longest ago (then by key) down to ¾ of it.
    mutating func evict(capacity: Int) {
        guard size > capacity else { return }
        let target = max(capacity * 3 / 4, 0)
        let order = sortedEntries().sorted { ($0.1.lastEpoch, $0.0.anchor, $0.0.other) < ($1.1.lastEpoch, $1.0.anchor, $1.0.other) }
        for (key, _) in order.prefix(size - target) { remove(key) }
    }
}
