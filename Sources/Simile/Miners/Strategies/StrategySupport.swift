import Foundation

/// Shared machinery of the mining strategies (cascade, curriculum, variance-filter, proxy-guided,
/// mix): state that survives batches behind a lock, its byte encoding for checkpoints, lookups of
/// mined tuples by anchor, and sub-batches of rows.

// MARK: State behind a lock

/// A value that concurrent `mine` calls read and update under a lock, so that a stateful miner
/// stays a `Sendable` struct.
final class LockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

// MARK: Bytes of a checkpoint

/// Writes a miner's state as little-endian bytes. Every state begins with the miner's name and a
/// format version, so that restoring another miner's bytes is a clear error, not garbage.
struct StateWriter {
    private(set) var bytes: [UInt8] = []

    init(miner: String, version: Int) {
        string(miner)
        int(version)
    }

    mutating func int(_ value: Int) { uint(UInt64(bitPattern: Int64(value))) }

    mutating func uint(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func double(_ value: Double) { uint(value.bitPattern) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func string(_ value: String) { data(Array(value.utf8)) }

    /// A length-prefixed block (a nested miner's state).
    mutating func data(_ value: [UInt8]) {
        int(value.count)
        bytes += value
    }
}

/// Reads what `StateWriter` wrote; every malformed input is a `SimileError` naming the miner.
struct StateReader {
    private let bytes: [UInt8]
    private var position = 0
    private let miner: String

    /// Checks the name and the version at the start.
    init(_ bytes: [UInt8], miner: String, version: Int) throws {
        self.bytes = bytes
        self.miner = miner
        let name: String
        do {
            name = try string()
        } catch {
            throw SimileError.invalidInput("'\(miner)': the saved state is not a miner state (\(bytes.count) bytes); restore bytes that this miner's state() returned")
        }
        guard name == miner else {
            throw SimileError.invalidInput("'\(miner)': the saved state belongs to '\(name)'; restore each miner's own state")
        }
        let saved = try int()
        guard saved == version else {
            throw SimileError.invalidInput("'\(miner)': the saved state has format version \(saved), this build reads version \(version)")
        }
    }

    mutating func uint() throws -> UInt64 {
        guard position + 8 <= bytes.count else { throw truncated() }
        var value: UInt64 = 0
        for k in 0..<8 { value |= UInt64(bytes[position + k]) << UInt64(8 * k) }
        position += 8
        return value
    }

    mutating func int() throws -> Int { Int(Int64(bitPattern: try uint())) }

    /// A count or size: non-negative and no larger than the bytes that are left could hold.
    mutating func count(elementBytes: Int = 1) throws -> Int {
        let value = try int()
        guard value >= 0, value <= (bytes.count - position) / max(elementBytes, 1) else { throw truncated() }
        return value
    }

    mutating func double() throws -> Double { Double(bitPattern: try uint()) }

    mutating func bool() throws -> Bool {
        guard position < bytes.count else { throw truncated() }
        defer { position += 1 }
        switch bytes[position] {
        case 0: return false
        case 1: return true
        default: throw SimileError.invalidInput("'\(miner)': the saved state is corrupt (a flag byte is \(bytes[position]))")
        }
    }

    mutating func string() throws -> String {
        let bytes = try data()
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw truncated() }
        return text
    }

    mutating func data() throws -> [UInt8] {
        let length = try count()
        defer { position += length }
        return Array(bytes[position..<(position + length)])
    }

    /// Every byte must have been read.
    func finish() throws {
        guard position == bytes.count else {
            throw SimileError.invalidInput("'\(miner)': the saved state has \(bytes.count - position) unread bytes at its end; it was not written by this miner")
        }
    }

    private func truncated() -> SimileError {
        .invalidInput("'\(miner)': the saved state is truncated or corrupt (at byte \(position) of \(bytes.count))")
    }
}

// MARK: Nested miners

/// Checkpoints of composite miners hold their stateful children's states, in order.
enum NestedState {
    static func write(_ miners: [any Miner], into writer: inout StateWriter) throws {
        writer.int(miners.count)
        for miner in miners {
            if let stateful = miner as? any StatefulMiner {
                writer.bool(true)
                writer.data(try stateful.state())
            } else {
                writer.bool(false)
            }
        }
    }

    /// Reads the nested states without applying them: the caller applies them with `apply` after
    /// reading (and checking) all of its own bytes, so that a bad state changes nothing.
    static func read(_ miners: [any Miner], from reader: inout StateReader, miner name: String) throws -> Pending {
        let count = try reader.int()
        guard count == miners.count else {
            throw SimileError.invalidInput("'\(name)': the saved state has \(count) nested miners but this miner has \(miners.count); restore a state saved by the same configuration")
        }
        var pending: Pending = []
        for miner in miners {
            let saved = try reader.bool()
            if let stateful = miner as? any StatefulMiner {
                guard saved else {
                    throw SimileError.invalidInput("'\(name)': the saved state lacks the state of nested '\(type(of: miner).descriptor.name)'")
                }
                pending.append((stateful, try reader.data()))
            } else if saved {
                throw SimileError.invalidInput("'\(name)': the saved state has a state for nested '\(type(of: miner).descriptor.name)', which keeps none")
            }
        }
        return pending
    }

    typealias Pending = [(miner: any StatefulMiner, state: [UInt8])]

    /// Restores every nested miner, or none: if one refuses its bytes, those already restored
    /// get their previous state back.
    static func apply(_ pending: Pending) throws {
        let previous = try pending.map { try $0.miner.state() }
        for (k, item) in pending.enumerated() {
            do {
                try item.miner.restore(item.state)
            } catch {
                for j in 0..<k { try? pending[j].miner.restore(previous[j]) }
                throw error
            }
        }
    }

    static func reset(_ miners: [any Miner]) {
        for case let stateful as any StatefulMiner in miners { stateful.reset() }
    }
}

// MARK: Looking up mined tuples

/// Sorted integer keys per anchor (compressed rows), for membership tests by binary search.
struct AnchorKeys: Sendable {
    private let offsets: [Int]
    private let keys: [Int]

    /// `forEach` calls its argument with every (anchor, key); duplicates are kept once.
    init(anchors: Int, _ forEach: ((Int, Int) -> Void) -> Void) {
        var counts = [Int](repeating: 0, count: anchors + 1)
        forEach { anchor, _ in counts[anchor + 1] += 1 }
        for a in 0..<anchors { counts[a + 1] += counts[a] }
        var fill = counts
        var keys = [Int](repeating: 0, count: counts[anchors])
        forEach { anchor, key in
            keys[fill[anchor]] = key
            fill[anchor] += 1
        }
        // Sort and deduplicate each anchor's segment, compacting in place.
        var compacted = [Int](repeating: 0, count: anchors + 1)
        var write = 0
        keys.withUnsafeMutableBufferPointer { buffer in
            for a in 0..<anchors {
                var segment = UnsafeMutableBufferPointer(rebasing: buffer[counts[a]..<counts[a + 1]])
                segment.sort()
                var previous: Int?
                for key in segment where key != previous {
                    buffer[write] = key
                    write += 1
                    previous = key
                }
                compacted[a + 1] = write
            }
        }
        offsets = compacted
        self.keys = Array(keys[0..<write])
    }

    func contains(_ anchor: Int, _ key: Int) -> Bool {
        guard anchor >= 0, anchor + 1 < offsets.count else { return false }
        var low = offsets[anchor], high = offsets[anchor + 1]
        while low < high {
            let mid = (low + high) / 2
            let value = keys[mid]
            if value == key { return true }
            if value < key { low = mid + 1 } else { high = mid }
        }
        return false
    }
}

/// Which tuples one miner returned, for asking whether it admits a pair or a triplet.
///
/// A triplet miner admits the triplets it returned, the positive pairs (a, p) and the negative
/// pairs (a, n) that occur in them; a pair miner admits its pairs, and a triplet (a, p, n) when
/// it admits both (a, p) and (a, n).
struct TupleLookup: Sendable {
    private let triplets: AnchorKeys?
    private let positives: AnchorKeys
    private let negatives: AnchorKeys
    private let columns: Int

    init(_ tuples: Tuples, anchors: Int, columns: Int) {
        self.columns = max(columns, 1)
        let m = self.columns
        switch tuples {
        case let .triplets(list):
            triplets = AnchorKeys(anchors: anchors) { add in for t in list { add(t.anchor, t.positive * m + t.negative) } }
            positives = AnchorKeys(anchors: anchors) { add in for t in list { add(t.anchor, t.positive) } }
            negatives = AnchorKeys(anchors: anchors) { add in for t in list { add(t.anchor, t.negative) } }
        case let .pairs(positive, negative):
            triplets = nil
            positives = AnchorKeys(anchors: anchors) { add in for p in positive { add(p.anchor, p.other) } }
            negatives = AnchorKeys(anchors: anchors) { add in for p in negative { add(p.anchor, p.other) } }
        }
    }

    func admits(_ t: Triplet) -> Bool {
        if let triplets { return triplets.contains(t.anchor, t.positive * columns + t.negative) }
        return positives.contains(t.anchor, t.positive) && negatives.contains(t.anchor, t.negative)
    }

    func admitsPositive(_ pair: IndexPair) -> Bool { positives.contains(pair.anchor, pair.other) }
    func admitsNegative(_ pair: IndexPair) -> Bool { negatives.contains(pair.anchor, pair.other) }
}

extension Tuples {
    /// The tuples that pass the filters, in their order and form.
    func filtered(triplet keep: (Triplet) -> Bool, positive: (IndexPair) -> Bool, negative: (IndexPair) -> Bool) -> Tuples {
        switch self {
        case let .triplets(list): return .triplets(list.filter(keep))
        case let .pairs(p, n): return .pairs(positive: p.filter(positive), negative: n.filter(negative))
        }
    }

    /// Indices moved through `anchor` and `other` (sub-batch rows back to batch rows).
    func remapped(anchor: [Int], other: [Int]) -> Tuples {
        switch self {
        case let .triplets(list):
            return .triplets(list.map { Triplet(anchor[$0.anchor], other[$0.positive], other[$0.negative]) })
        case let .pairs(p, n):
            return .pairs(positive: p.map { IndexPair(anchor[$0.anchor], other[$0.other]) },
                          negative: n.map { IndexPair(anchor[$0.anchor], other[$0.other]) })
        }
    }

    var isTriplets: Bool {
        if case .triplets = self { return true }
        return false
    }
}

// MARK: Sub-batches

extension Matrix {
    /// The listed rows, in order.
    func gatherRows(_ indices: [Int]) -> Matrix {
        var out = [Scalar](repeating: 0, count: indices.count * columns)
        let d = columns
        elements.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                for (r, i) in indices.enumerated() {
                    for k in 0..<d { target[r * d + k] = source[i * d + k] }
                }
            }
        }
        return Matrix(rows: indices.count, columns: d, elements: out)
    }
}

extension MinerInput {
    /// The same mining problem restricted to some batch rows and some reference rows (all rows of
    /// the batch when it is its own reference: then `referenceRows` must equal `rows`).
    func restricted(rows: [Int], referenceRows: [Int]) -> MinerInput {
        var context = self.context
        context.batchItems = context.batchItems.map { items in rows.map { items[$0] } }
        context.referenceItems = context.referenceItems.map { items in referenceRows.map { items[$0] } }
        if isSelfComparison {
            return MinerInput(embeddings: embeddings.gatherRows(rows), labels: rows.map { labels[$0] }, context: context)
        }
        let referenceLabels = referenceLabelsOrLabels
        return MinerInput(embeddings: embeddings.gatherRows(rows), labels: rows.map { labels[$0] },
                          reference: referenceEmbeddings.gatherRows(referenceRows),
                          referenceLabels: referenceRows.map { referenceLabels[$0] }, context: context)
    }
}

/// Class representatives from the rows of a batch (and its reference): the mean of each class's
/// L2-normalised rows, normalised again. Classes are in increasing label order.
enum ClassMeans {
    static func compute<S: SimileFloat>(_ input: MinerInput<S>) -> (labels: [Int], means: Matrix<Double>) {
        let d = input.embeddings.columns
        var labelSet = Set(input.labels)
        if let referenceLabels = input.referenceLabels { labelSet.formUnion(referenceLabels) }
        let labels = labelSet.sorted()
        var position: [Int: Int] = [:]
        for (r, label) in labels.enumerated() { position[label] = r }
        var sums = [Double](repeating: 0, count: labels.count * d)
        func add(_ x: Matrix<S>, _ rowLabels: [Int]) {
            x.elements.withUnsafeBufferPointer { values in
                for i in 0..<x.rows {
                    let row = values.baseAddress! + i * d
                    var norm = 0.0
                    for k in 0..<d { norm += Double(row[k]) * Double(row[k]) }
                    let scale = 1 / max(norm.squareRoot(), 1e-12)
                    let base = position[rowLabels[i]]! * d
                    for k in 0..<d { sums[base + k] += Double(row[k]) * scale }
                }
            }
        }
        add(input.embeddings, input.labels)
        if let reference = input.reference, let referenceLabels = input.referenceLabels { add(reference, referenceLabels) }
        for r in 0..<labels.count {
            var norm = 0.0
            for k in 0..<d { norm += sums[r * d + k] * sums[r * d + k] }
            let scale = 1 / max(norm.squareRoot(), 1e-12)
            for k in 0..<d { sums[r * d + k] *= scale }
        }
        return (labels, Matrix(rows: labels.count, columns: d, elements: sums))
    }
}
