/// A FIFO queue of past embeddings, their labels and item ids, used as the reference batch of a
/// loss (and its miner): the cross-batch memory of Wang et al. 2020, with PML's semantics.
///
/// Each call enqueues the batch (detached: a copy of the values, as PML's `.detach()`) and then
/// compares the batch, as anchors, with the whole memory, the batch's own fresh copy included:
///
/// ```swift
/// var memory = try CrossBatchMemory<Float>(embeddingSize: 128)            // 4096 entries
/// let loss = try Registry.builtin.loss("contrastive")
/// let miner = try Registry.builtin.miner("multi-similarity")
/// let output = try memory.loss(loss, embeddings, labels, items: datasetRows, miner: miner)
/// // output.gradient: dL/d(embeddings); the memory itself is a constant.
/// ```
///
/// An item is never paired with its own copies in the memory, fresh or stale: with `items`, every
/// memory row carrying the anchor's item id is excluded (the miner receives the ids in
/// `MiningContext.batchItems`/`referenceItems`, and its tuples are filtered again in case it
/// ignores them; without a miner, explicit pairs are built without those rows). Without `items`,
/// every row gets a fresh id, so only the copy just enqueued is excluded: exactly PML's
/// `remove_self_comparisons`, which cannot recognise stale copies from earlier batches.
///
/// The memory is a value: `Codable` for checkpoints, `reset()` empties it.
public struct CrossBatchMemory<S: SimileFloat>: Sendable, Equatable, Codable {
    /// The most entries kept (PML's `memory_size`).
    public let capacity: Int
    /// D.
    public let embeddingSize: Int
    /// Row-major, `capacity` slots of D values; slots `0..<count` are filled.
    private var slots: [S]
    private var slotLabels: [Int]
    private var slotItems: [Int]
    /// The next slot to write (PML's `queue_idx`).
    private var next: Int
    /// Whether every slot has been written (PML's `has_been_filled`).
    public private(set) var isFull: Bool
    /// Ids handed to rows enqueued without item ids: −1, −2, … (user ids must be ≥ 0).
    private var anonymous: Int

    /// An empty memory.
    /// - Parameters:
    ///   - embeddingSize: D, the width of every batch.
    ///   - capacity: the number of entries kept; PML's default is 1024, Simile's 4096.
    public init(embeddingSize: Int, capacity: Int = 4096) throws {
        guard embeddingSize > 0 else {
            throw SimileError.invalidInput("cross-batch memory: embeddingSize must be at least 1 (it is \(embeddingSize))")
        }
        guard capacity > 0 else {
            throw SimileError.invalidInput("cross-batch memory: capacity must be at least 1 (it is \(capacity))")
        }
        guard capacity <= Int.max / embeddingSize else {
            throw SimileError.invalidInput("cross-batch memory: capacity × embeddingSize is too large")
        }
        self.capacity = capacity
        self.embeddingSize = embeddingSize
        slots = []
        slotLabels = []
        slotItems = []
        next = 0
        isFull = false
        anonymous = 0
    }

    /// The number of entries held.
    public var count: Int { isFull ? capacity : next }

    /// Forgets every entry.
    public mutating func reset() {
        slots = []
        slotLabels = []
        slotItems = []
        next = 0
        isFull = false
        anonymous = 0
    }

    // MARK: The reference batch

    /// The entries as a reference batch, in slot order (PML's `embedding_memory[:queue_idx]`, or
    /// the whole memory once full): the tuples a miner returns index these rows.
    public var embeddings: Matrix<S> { filledRows() }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func filledRows() -> Matrix<S> {
        Matrix(rows: count, columns: embeddingSize, elements: Array(slots[0..<(count * embeddingSize)]))
    }

    /// Labels of `embeddings`' rows.
    public var labels: [Int] { Array(slotLabels[0..<count]) }

    /// Item ids of `embeddings`' rows (negative: rows enqueued without ids).
    public var items: [Int] { Array(slotItems[0..<count]) }

    /// The slots in FIFO order, oldest first (the next to be overwritten first).
    public var slotsOldestFirst: [Int] {
        isFull ? Array(next..<capacity) + Array(0..<next) : Array(0..<next)
    }

    // MARK: Enqueueing

    /// Writes a batch into the next slots, overwriting the oldest entries once full, and returns
    /// the slots written. Checks the batch first, so a bad batch changes nothing.
    @discardableResult
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public mutating func enqueue(_ embeddings: Matrix<S>, labels: [Int], items: [Int]? = nil) throws -> [Int] {
        try check(embeddings, labels: labels, items: items)
        let n = embeddings.rows, d = embeddingSize
        if slots.isEmpty {
            slots = [S](repeating: 0, count: capacity * d)
            slotLabels = [Int](repeating: 0, count: capacity)
            slotItems = [Int](repeating: 0, count: capacity)
        }
        var written: [Int] = []
        written.reserveCapacity(n)
        for i in 0..<n {
            let slot = (next + i) % capacity
            written.append(slot)
            for k in 0..<d { slots[slot * d + k] = embeddings.elements[i * d + k] }
            slotLabels[slot] = labels[i]
            if let items {
                slotItems[slot] = items[i]
            } else {
                anonymous += 1
                slotItems[slot] = -anonymous
            }
        }
        let previous = next
        next = (next + n) % capacity
        if !isFull && next <= previous { isFull = true }
        return written
    }

    private func check(_ x: Matrix<S>, labels: [Int], items: [Int]?) throws {
        guard x.rows > 0 else {
            throw SimileError.empty("cross-batch memory: the batch is empty: embeddings have 0 rows")
        }
        guard x.columns == embeddingSize else {
            throw SimileError.shapeMismatch(
                "cross-batch memory: the embeddings have \(x.columns) columns but the memory holds \(embeddingSize); give embeddings of the memory's embedding size")
        }
        guard x.rows <= capacity else {
            throw SimileError.shapeMismatch(
                "cross-batch memory: the batch has \(x.rows) rows but the memory holds only \(capacity); raise the capacity to at least the batch size")
        }
        guard labels.count == x.rows else {
            throw SimileError.shapeMismatch(
                "cross-batch memory: embeddings have \(x.rows) rows but there are \(labels.count) labels; give one label per row")
        }
        if let items {
            guard items.count == x.rows else {
                throw SimileError.shapeMismatch(
                    "cross-batch memory: there are \(items.count) item ids for \(x.rows) embeddings; give one id per row")
            }
            if let bad = items.first(where: { $0 < 0 }) {
                throw SimileError.invalidInput(
                    "cross-batch memory: item id \(bad) is negative; item ids must be ≥ 0 (e.g. the data set's row numbers)")
            }
        }
        try x.requireFinite("embeddings")
    }

    // MARK: The loss against the memory

    /// Enqueues the batch, then computes the loss of the batch (anchors) against the memory
    /// (reference), with tuples from `miner` or, without one, every pair; never pairing an item
    /// with its own copies.
    ///
    /// - Parameters:
    ///   - loss: a loss that takes reference embeddings and tuples (contrastive, triplet-margin,
    ///     multi-similarity, circle, nt-xent, supcon, margin, lifted, …).
    ///   - items: the rows' item ids (≥ 0, e.g. data set row numbers); nil gives each row a fresh id.
    ///   - miner: mines the batch against the memory; nil means every pair.
    ///   - parameters: the loss's trainable parameters, if any.
    ///   - context: epoch, step and proxies for the miner (its item ids are set here); the step
    ///     also goes to the loss.
    /// - Returns: the loss output. `gradient` is dL/d(embeddings) through the anchors only: the
    ///   memory is a constant, as in PML (its rows, the batch's fresh copy included, are
    ///   detached); `referenceGradient` is dL/d(memory rows), for whoever wants it.
    /// - Throws: before changing the memory, when the batch or the loss is unsuitable; if the
    ///   miner or the loss fails, the memory is restored to what it was.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public mutating func loss(
        _ loss: any Loss, _ embeddings: Matrix<S>, _ labels: [Int], items: [Int]? = nil, miner: (any Miner)? = nil,
        parameters: [String: Matrix<S>] = [:], context: MiningContext = MiningContext()
    ) throws -> LossOutput<S> {
        guard loss is any ReferenceCapable, loss is any TupleCapable else {
            throw SimileError.unsupported(
                component: loss.name,
                message: "cannot be used with a cross-batch memory: it must take reference embeddings and mined tuples (e.g. contrastive, triplet-margin, multi-similarity)")
        }
        try check(embeddings, labels: labels, items: items)
        let undo = Undo(self, overwriting: embeddings.rows)
        do {
            let written = try enqueue(embeddings, labels: labels, items: items)
            let batchItems = items ?? written.map { slotItems[$0] }
            let reference = self.embeddings, referenceLabels = self.labels, referenceItems = self.items
            let tuples: Tuples
            if let miner {
                var context = context
                context.batchItems = batchItems
                context.referenceItems = referenceItems
                let mined = try miner.mine(MinerInput(embeddings: embeddings, labels: labels, reference: reference,
                                                      referenceLabels: referenceLabels, context: context))
                tuples = mined.filtered(
                    triplet: { batchItems[$0.anchor] != referenceItems[$0.positive] && batchItems[$0.anchor] != referenceItems[$0.negative] },
                    positive: { batchItems[$0.anchor] != referenceItems[$0.other] },
                    negative: { batchItems[$0.anchor] != referenceItems[$0.other] })
            } else {
                tuples = Self.allPairs(labels: labels, items: batchItems, referenceLabels: referenceLabels,
                                       referenceItems: referenceItems)
            }
            return try loss(embeddings, labels, tuples: tuples, reference: reference, referenceLabels: referenceLabels,
                            parameters: parameters, step: context.step)
        } catch {
            undo.apply(to: &self)
            throw error
        }
    }

    /// What an enqueue overwrites, to put it back if the loss fails (without copying the memory).
    private struct Undo {
        let next: Int, isFull: Bool, anonymous: Int, wasEmpty: Bool
        let slots: [Int], values: [S], labels: [Int], items: [Int]

        init(_ memory: CrossBatchMemory, overwriting rows: Int) {
            next = memory.next
            isFull = memory.isFull
            anonymous = memory.anonymous
            wasEmpty = memory.slots.isEmpty
            let d = memory.embeddingSize
            slots = wasEmpty ? [] : (0..<rows).map { (memory.next + $0) % memory.capacity }
            values = slots.flatMap { memory.slots[($0 * d)..<(($0 + 1) * d)] }
            labels = slots.map { memory.slotLabels[$0] }
            items = slots.map { memory.slotItems[$0] }
        }

        func apply(to memory: inout CrossBatchMemory) {
            memory.next = next
            memory.isFull = isFull
            memory.anonymous = anonymous
            if wasEmpty {
                memory.slots = []
                memory.slotLabels = []
                memory.slotItems = []
                return
            }
            let d = memory.embeddingSize
            for (r, slot) in slots.enumerated() {
                for k in 0..<d { memory.slots[slot * d + k] = values[r * d + k] }
                memory.slotLabels[slot] = labels[r]
                memory.slotItems[slot] = items[r]
            }
        }
    }

    /// Every (anchor, memory row) pair except those of the same item, row-major: positives with
    /// the anchor's label, negatives with another (PML's `get_all_pairs_indices` minus the self
    /// comparisons).
    static func allPairs(labels: [Int], items: [Int], referenceLabels: [Int], referenceItems: [Int]) -> Tuples {
        var positive: [IndexPair] = [], negative: [IndexPair] = []
        for a in 0..<labels.count {
            for j in 0..<referenceLabels.count where items[a] != referenceItems[j] {
                if labels[a] == referenceLabels[j] {
                    positive.append(IndexPair(a, j))
                } else {
                    negative.append(IndexPair(a, j))
                }
            }
        }
        return .pairs(positive: positive, negative: negative)
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey {
        case capacity, embeddingSize = "embedding_size", embeddings, labels, items, next, isFull = "is_full", anonymous
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let capacity = try container.decode(Int.self, forKey: .capacity)
        let embeddingSize = try container.decode(Int.self, forKey: .embeddingSize)
        try self.init(embeddingSize: embeddingSize, capacity: capacity)
        let embeddings = try container.decode([S].self, forKey: .embeddings)
        let labels = try container.decode([Int].self, forKey: .labels)
        let items = try container.decode([Int].self, forKey: .items)
        next = try container.decode(Int.self, forKey: .next)
        isFull = try container.decode(Bool.self, forKey: .isFull)
        anonymous = try container.decode(Int.self, forKey: .anonymous)
        let count = isFull ? capacity : next
        guard (0..<capacity).contains(next), labels.count == count, items.count == count,
              embeddings.count == count * embeddingSize, anonymous >= 0, embeddings.allSatisfy(\.isFinite) else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath, debugDescription: "cross-batch memory: inconsistent saved memory (sizes, position or values)"))
        }
        if count > 0 {
            slots = embeddings + [S](repeating: 0, count: (capacity - count) * embeddingSize)
            slotLabels = labels + [Int](repeating: 0, count: capacity - count)
            slotItems = items + [Int](repeating: 0, count: capacity - count)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(capacity, forKey: .capacity)
        try container.encode(embeddingSize, forKey: .embeddingSize)
        try container.encode(embeddings.elements, forKey: .embeddings)
        try container.encode(labels, forKey: .labels)
        try container.encode(items, forKey: .items)
        try container.encode(next, forKey: .next)
        try container.encode(isFull, forKey: .isFull)
        try container.encode(anonymous, forKey: .anonymous)
    }
}
