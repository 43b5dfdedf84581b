/// The machinery the P×K samplers share.
///
/// An epoch starts by cutting every class's rows into chunks of K rows (`ChunkPlan`), so that each
/// row is in at least one chunk. The chunks of a group of classes (all classes, a stratum, a
/// super-class) are put in a *spread* order: class c with m chunks gets the keys (j + u_c)/m,
/// j = 0..<m, u_c uniform in [0, 1), and chunks are taken in key order. Every class's chunks are
/// thus spaced evenly through the epoch, so two chunks of one class rarely compete for one batch.
/// A batch takes P chunks of distinct classes in that order (a chunk whose class is already in the
/// batch waits for the next batch). When a group has no unvisited chunk left for a slot, the slot
/// is either left empty or filled with a fresh chunk of an unused class of the group (rows that
/// were already visited), as the sampler decides. The epoch ends when every chunk is used.
struct Chunk {
    var classIndex: Int
    var rows: [Int]
}

/// A group's unvisited chunks, in spread order.
struct ChunkQueue {
    private var chunks: [Chunk]
    private var taken: [Bool]
    private var head = 0
    private(set) var remaining: Int

    init(_ chunks: [Chunk], random: inout SeededGenerator) {
        var byClass: [Int: [Chunk]] = [:]
        var order: [Int] = []
        for chunk in chunks {
            if byClass[chunk.classIndex] == nil { order.append(chunk.classIndex) }
            byClass[chunk.classIndex, default: []].append(chunk)
        }
        var keyed: [(key: Double, tie: UInt64, chunk: Chunk)] = []
        keyed.reserveCapacity(chunks.count)
        for classIndex in order {
            let members = byClass[classIndex]!
            let offset = random.unit()
            for (j, chunk) in members.enumerated() {
                keyed.append(((Double(j) + offset) / Double(members.count), random.next(), chunk))
            }
        }
        keyed.sort { $0.key != $1.key ? $0.key < $1.key : $0.tie < $1.tie }
        self.chunks = keyed.map(\.chunk)
        taken = [Bool](repeating: false, count: keyed.count)
        remaining = keyed.count
    }

    /// The first unvisited chunk whose class is not in `used`, or nil.
    mutating func take(excluding used: Set<Int>) -> Chunk? {
        while head < chunks.count, taken[head] { head += 1 }
        var index = head
        while index < chunks.count {
            if !taken[index], !used.contains(chunks[index].classIndex) {
                taken[index] = true
                remaining -= 1
                return chunks[index]
            }
            index += 1
        }
        return nil
    }
}

/// Fills batches from the queues of groups of classes.
struct BatchAssembler {
    var queues: [ChunkQueue]
    /// The eligible classes of each group, for fresh chunks.
    let groupClasses: [[Int]]
    /// A fresh chunk (K rows) of a class, for a slot that no unvisited chunk can fill.
    let freshChunk: (Int, inout SeededGenerator) -> [Int]

    var remaining: Int { queues.reduce(0) { $0 + $1.remaining } }

    /// Adds up to `count` chunks of group `group` to the batch: unvisited ones first, then (when
    /// `fresh`) fresh chunks of unused classes. Returns how many it added.
    @discardableResult
    mutating func fill(group: Int, count: Int, into batch: inout [Chunk], used: inout Set<Int>, fresh: Bool,
                       random: inout SeededGenerator) -> Int {
        var added = 0
        while added < count {
            if let chunk = queues[group].take(excluding: used) {
                batch.append(chunk)
                used.insert(chunk.classIndex)
            } else if fresh {
                guard let classIndex = Self.unusedClass(groupClasses[group], used: used, random: &random) else { break }
                batch.append(Chunk(classIndex: classIndex, rows: freshChunk(classIndex, &random)))
                used.insert(classIndex)
            } else {
                break
            }
            added += 1
        }
        return added
    }

    /// A uniformly random class of `classes` that is not in `used`, or nil. A few direct draws
    /// first (a batch uses few classes), then a scan.
    static func unusedClass(_ classes: [Int], used: Set<Int>, random: inout SeededGenerator) -> Int? {
        guard !classes.isEmpty else { return nil }
        if classes.count > 2 * used.count {
            for _ in 0..<8 {
                let candidate = classes[random.below(classes.count)]
                if !used.contains(candidate) { return candidate }
            }
        }
        let unused = classes.filter { !used.contains($0) }
        return unused.isEmpty ? nil : unused[random.below(unused.count)]
    }
}

/// What a P×K sampler does with a final batch that cannot get P classes from unvisited chunks.
enum LastBatchPolicy: String, CaseIterable {
    /// Complete it with fresh chunks of other classes (already visited rows), so every batch is P×K.
    case fill
    /// Keep it with fewer classes.
    case keep
    /// Drop it (its rows are not visited this epoch).
    case drop
}

/// What happens to a class with fewer than K rows.
enum SmallClassPolicy: String, CaseIterable {
    /// Its rows are drawn with replacement up to K (PML's MPerClassSampler does the same).
    case replace
    /// It is left out of the epoch.
    case skip
}

/// Cutting classes into chunks of K rows.
enum ChunkPlan {
    /// The chunks of one class for an epoch: the rows shuffled and cut into ⌈n/K⌉ chunks; the last
    /// partial chunk is completed with distinct other rows of the class. A class with n < K gives
    /// one chunk of all its rows plus K − n draws with replacement, or nothing under `.skip`.
    static func chunks(of rows: [Int], classIndex: Int, k: Int, small: SmallClassPolicy,
                       random: inout SeededGenerator) -> [Chunk] {
        guard !rows.isEmpty else { return [] }
        if rows.count < k {
            guard small == .replace else { return [] }
            return [Chunk(classIndex: classIndex, rows: fresh(rows, k: k, random: &random))]
        }
        let order = random.shuffled(rows)
        var chunks: [Chunk] = []
        var start = 0
        while start < order.count {
            var part = Array(order[start..<min(order.count, start + k)])
            if part.count < k {
                let others = order[0..<start]
                part += random.sample(Array(others), count: k - part.count)
            }
            chunks.append(Chunk(classIndex: classIndex, rows: part))
            start += k
        }
        return chunks
    }

    /// K rows of a class: distinct when it has K or more, else all of them plus draws with replacement.
    static func fresh(_ rows: [Int], k: Int, random: inout SeededGenerator) -> [Int] {
        if rows.count >= k { return random.sample(rows, count: k) }
        var part = rows
        while part.count < k { part.append(rows[random.below(rows.count)]) }
        return random.shuffled(part)
    }
}

/// Parameter declarations and checks the samplers share.
enum SamplerParameters {
    static func classesPerBatch(_ value: Int = 12) -> ParameterSpec {
        .int("classes-per-batch", value, range: .atLeast(1),
             doc: "P: distinct classes in each batch (PML's batch_size / m)")
    }

    static func samplesPerClass(_ value: Int = 4) -> ParameterSpec {
        .int("samples-per-class", value, range: .atLeast(1),
             doc: "K: rows of each class in a batch (PML's m); at least 2 for pair and triplet losses")
    }

    static let smallClasses = ParameterSpec(
        "small-classes", .choice(SmallClassPolicy.allCases.map(\.rawValue)), default: .value(.choice("replace")),
        doc: "a class with fewer than K rows: replace draws its rows with replacement up to K; skip leaves it out")

    static func lastBatch(_ choices: [String] = LastBatchPolicy.allCases.map(\.rawValue), default value: String = "fill")
        -> ParameterSpec {
        ParameterSpec("last-batch", .choice(choices), default: .value(.choice(value)),
                      doc: "the final batch when unvisited rows cannot fill it: fill completes it with visited rows, keep keeps it smaller, drop drops it")
    }

    static let seed = ParameterSpec.int("seed", 0, range: .atLeast(0),
                                        doc: "random seed; the batches depend only on the seed, the epoch and the data")

    /// The generator of one epoch.
    static func generator(seed: Int, epoch: Int, component: String) throws -> SeededGenerator {
        guard epoch >= 1 else {
            throw SimileError.invalidInput("'\(component)': epoch \(epoch) is not valid; epochs count from 1")
        }
        return SeededGenerator(seed: UInt64(seed), stream: UInt64(epoch))
    }

    /// The error for too few eligible classes.
    static func tooFewClasses(_ component: String, eligible: Int, total: Int, needed: Int, reason: String) -> SimileError {
        .invalidInput(
            "'\(component)': a batch needs \(needed) distinct classes (classes-per-batch) but only \(eligible) of the data's \(total) classes \(reason); lower classes-per-batch")
    }
}

/// The batches of a plain P×K epoch over one group: the route pk, temporal-pk and
/// quality-weighted share.
func assemblePK(chunks: [Chunk], classes: [Int], p: Int, lastBatch: LastBatchPolicy,
                freshChunk: @escaping (Int, inout SeededGenerator) -> [Int],
                random: inout SeededGenerator) -> [[Chunk]] {
    var assembler = BatchAssembler(queues: [ChunkQueue(chunks, random: &random)], groupClasses: [classes],
                                   freshChunk: freshChunk)
    var batches: [[Chunk]] = []
    while assembler.remaining > 0 {
        var batch: [Chunk] = []
        var used = Set<Int>()
        let filled = assembler.fill(group: 0, count: p, into: &batch, used: &used, fresh: false, random: &random)
        if filled < p {
            switch lastBatch {
            case .fill:
                assembler.fill(group: 0, count: p - filled, into: &batch, used: &used, fresh: true, random: &random)
            case .keep: break
            case .drop: continue
            }
        }
        batches.append(batch)
    }
    return batches
}
