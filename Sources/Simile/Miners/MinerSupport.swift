/// Shared machinery of the built-in miners: input checks, which reference rows are each anchor's
/// positives and negatives, and building the output without intermediate copies.

// MARK: Checked inputs

/// A miner's checked labels, with what may be paired with what.
///
/// Positives of anchor a are the reference rows with a's label, except a itself when the batch is
/// its own reference; negatives are the rows with another label. When the context gives both
/// `batchItems` and `referenceItems`, a reference row with the anchor's own item id is neither
/// (it is a stale copy of the anchor, as in a cross-batch memory).
///
/// The labels live in manually allocated buffers so that the hot loops index raw pointers; the
/// object is immutable after `init` and read concurrently.
final class MiningMask: @unchecked Sendable {
    /// N anchors.
    let rows: Int
    /// M reference rows.
    let columns: Int
    let isSelf: Bool
    let labels: UnsafeMutablePointer<Int>
    let referenceLabels: UnsafeMutablePointer<Int>
    let batchItems: UnsafeMutablePointer<Int>?
    let referenceItems: UnsafeMutablePointer<Int>?

    /// Checks a miner's input: a non-empty finite batch, one label per row, a reference batch of
    /// the same width with its own labels, item ids of the right lengths.
    init<S: SimileFloat>(_ input: MinerInput<S>, miner: String) throws {
        try BLAS.require()
        let x = input.embeddings
        guard x.rows > 0 else {
            throw SimileError.empty("'\(miner)': the batch is empty: embeddings have 0 rows; a miner needs at least one sample")
        }
        guard x.columns > 0 else {
            throw SimileError.empty("'\(miner)': embeddings have 0 columns; each embedding needs at least one dimension")
        }
        guard input.labels.count == x.rows else {
            throw SimileError.shapeMismatch(
                "'\(miner)': embeddings have \(x.rows) rows but there are \(input.labels.count) labels; give one label per row")
        }
        try x.requireFinite("embeddings")
        if let reference = input.reference {
            guard let referenceLabels = input.referenceLabels else {
                throw SimileError.invalidInput(
                    "'\(miner)': reference embeddings were given without reference labels; add reference_labels")
            }
            guard reference.rows > 0 else {
                throw SimileError.empty("'\(miner)': the reference batch is empty: reference embeddings have 0 rows")
            }
            guard reference.columns == x.columns else {
                throw SimileError.shapeMismatch(
                    "'\(miner)': the reference embeddings have \(reference.columns) columns but the embeddings have \(x.columns)")
            }
            guard referenceLabels.count == reference.rows else {
                throw SimileError.shapeMismatch(
                    "'\(miner)': reference embeddings have \(reference.rows) rows but there are \(referenceLabels.count) reference labels; give one label per row")
            }
            try reference.requireFinite("reference embeddings")
        } else if input.referenceLabels != nil {
            throw SimileError.invalidInput(
                "'\(miner)': reference labels were given without reference embeddings; add reference_embeddings")
        }
        let referenceLabels = input.referenceLabelsOrLabels
        rows = x.rows
        columns = referenceLabels.count
        isSelf = input.isSelfComparison
        let context = input.context
        if let batch = context.batchItems, batch.count != rows {
            throw SimileError.shapeMismatch(
                "'\(miner)': there are \(batch.count) batch item ids for \(rows) embeddings; give one id per row")
        }
        if let reference = context.referenceItems, reference.count != columns {
            throw SimileError.shapeMismatch(
                "'\(miner)': there are \(reference.count) reference item ids for \(columns) reference rows; give one id per row")
        }
        labels = Self.copy(input.labels)
        self.referenceLabels = Self.copy(referenceLabels)
        if let batch = context.batchItems, let reference = context.referenceItems {
            batchItems = Self.copy(batch)
            referenceItems = Self.copy(reference)
        } else {
            batchItems = nil
            referenceItems = nil
        }
    }

    deinit {
        labels.deallocate()
        referenceLabels.deallocate()
        batchItems?.deallocate()
        referenceItems?.deallocate()
    }

    private static func copy(_ values: [Int]) -> UnsafeMutablePointer<Int> {
        let pointer = UnsafeMutablePointer<Int>.allocate(capacity: max(values.count, 1))
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.initialize(from: base, count: values.count) }
        }
        return pointer
    }

    /// Writes anchor a's positive and negative reference columns, in increasing order, into two
    /// buffers of `columns` Int32s each, and returns how many of each there are.
    @inline(__always)
    func split(_ a: Int, positives: UnsafeMutablePointer<Int32>, negatives: UnsafeMutablePointer<Int32>)
        -> (positives: Int, negatives: Int) {
        let label = labels[a]
        let reference = referenceLabels
        let m = columns
        var p = 0, n = 0
        if let batchItems, let referenceItems {
            let item = batchItems[a]
            for j in 0..<m {
                let excluded = referenceItems[j] == item || (isSelf && j == a)
                let same = reference[j] == label
                positives[p] = Int32(truncatingIfNeeded: j)
                negatives[n] = Int32(truncatingIfNeeded: j)
                p &+= same && !excluded ? 1 : 0
                n &+= !same && !excluded ? 1 : 0
            }
        } else {
            // a itself is never its own positive (it would be the only self-pair).
            let own = isSelf ? a : -1
            for j in 0..<m {
                let same = reference[j] == label
                positives[p] = Int32(truncatingIfNeeded: j)
                negatives[n] = Int32(truncatingIfNeeded: j)
                p &+= same && j != own ? 1 : 0
                n &+= same ? 0 : 1
            }
        }
        return (p, n)
    }

    /// The number of reference rows with anchor a's label (excluded rows included).
    func classSize(_ a: Int) -> Int {
        let label = labels[a]
        var count = 0
        for j in 0..<columns where referenceLabels[j] == label { count += 1 }
        return count
    }
}

// MARK: Building the output

/// Builds per-anchor tuple lists in two parallel passes, counting and then filling straight into
/// the result, so that no intermediate list (and no per-tuple allocation) exists. The output is
/// grouped by anchor in increasing anchor order, whatever the number of cores.
enum TupleBuilder {
    /// Triplets. `visit(anchor, scratch, out)` returns the number of anchor a's triplets and,
    /// when `out` is not nil, writes exactly that many there. `scratch` has `scratchBytes` bytes
    /// (64-byte aligned), private to the calling task.
    static func triplets(
        anchors: Int, grain: Int, scratchBytes: Int,
        _ visit: @Sendable (_ anchor: Int, _ scratch: UnsafeMutableRawPointer, _ out: UnsafeMutablePointer<Triplet>?) -> Int
    ) -> [Triplet] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(anchors, 1))
        defer { counts.deallocate() }
        let countsOut = SendablePointer(counts)
        Parallel.forEach(anchors, grain: grain) { range in
            withScratch(scratchBytes) { scratch in
                for a in range { countsOut.pointer[a] = visit(a, scratch, nil) }
            }
        }
        var offsets = [Int](repeating: 0, count: anchors + 1)
        for a in 0..<anchors { offsets[a + 1] = offsets[a] + counts[a] }
        let total = offsets[anchors]
        guard total > 0 else { return [] }
        let starts = offsets
        return [Triplet](unsafeUninitializedCapacity: total) { buffer, initialized in
            let base = SendablePointer(buffer.baseAddress!)
            Parallel.forEach(anchors, grain: grain) { range in
                withScratch(scratchBytes) { scratch in
                    for a in range where starts[a + 1] > starts[a] {
                        let written = visit(a, scratch, base.pointer + starts[a])
                        precondition(written == starts[a + 1] - starts[a], "miner: the fill pass disagrees with the count")
                    }
                }
            }
            initialized = total
        }
    }

    /// Positive and negative pairs, the same way: `visit` returns anchor a's counts and writes
    /// them when the pointers are not nil.
    static func pairs(
        anchors: Int, grain: Int, scratchBytes: Int,
        _ visit: @Sendable (_ anchor: Int, _ scratch: UnsafeMutableRawPointer, _ positive: UnsafeMutablePointer<IndexPair>?,
                            _ negative: UnsafeMutablePointer<IndexPair>?) -> (Int, Int)
    ) -> Tuples {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 2 * max(anchors, 1))
        defer { counts.deallocate() }
        let countsOut = SendablePointer(counts)
        Parallel.forEach(anchors, grain: grain) { range in
            withScratch(scratchBytes) { scratch in
                for a in range {
                    let (p, n) = visit(a, scratch, nil, nil)
                    countsOut.pointer[2 * a] = p
                    countsOut.pointer[2 * a + 1] = n
                }
            }
        }
        var positiveStarts = [Int](repeating: 0, count: anchors + 1)
        var negativeStarts = positiveStarts
        for a in 0..<anchors {
            positiveStarts[a + 1] = positiveStarts[a] + counts[2 * a]
            negativeStarts[a + 1] = negativeStarts[a] + counts[2 * a + 1]
        }
        let positiveTotal = positiveStarts[anchors], negativeTotal = negativeStarts[anchors]
        guard positiveTotal + negativeTotal > 0 else { return .pairs(positive: [], negative: []) }
        let ps = positiveStarts, ns = negativeStarts
        var positive = [IndexPair]()
        var negative = [IndexPair]()
        positive = [IndexPair](unsafeUninitializedCapacity: positiveTotal) { positiveBuffer, positiveInitialized in
            negative = [IndexPair](unsafeUninitializedCapacity: negativeTotal) { negativeBuffer, negativeInitialized in
                let positiveBase = positiveBuffer.baseAddress.map { SendablePointer($0) }
                let negativeBase = negativeBuffer.baseAddress.map { SendablePointer($0) }
                Parallel.forEach(anchors, grain: grain) { range in
                    withScratch(scratchBytes) { scratch in
                        for a in range where ps[a + 1] > ps[a] || ns[a + 1] > ns[a] {
                            // A pointer is passed for both kinds (a zero-length one may point anywhere valid).
                            let p = positiveBase.map { $0.pointer + ps[a] } ?? UnsafeMutablePointer<IndexPair>(bitPattern: 16)!
                            let n = negativeBase.map { $0.pointer + ns[a] } ?? UnsafeMutablePointer<IndexPair>(bitPattern: 16)!
                            let written = visit(a, scratch, p, n)
                            precondition(written.0 == ps[a + 1] - ps[a] && written.1 == ns[a + 1] - ns[a],
                                         "miner: the fill pass disagrees with the count")
                        }
                    }
                }
                negativeInitialized = negativeTotal
            }
            positiveInitialized = positiveTotal
        }
        return .pairs(positive: positive, negative: negative)
    }

    @inline(__always)
    static func withScratch<T>(_ bytes: Int, _ body: (UnsafeMutableRawPointer) -> T) -> T {
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
        defer { scratch.deallocate() }
        return body(scratch)
    }
}

/// How a miner's per-chunk scratch memory is carved up: two index lists of M Int32s (positives,
/// negatives), then `extraIndexLists` more, then `scalarLists` lists of M scalars of type S.
struct ScratchLayout<S: SimileFloat> {
    let columns: Int
    let indexLists: Int
    let scalarLists: Int

    init(columns: Int, extraIndexLists: Int = 0, scalarLists: Int = 0) {
        self.columns = max(columns, 1)
        indexLists = 2 + extraIndexLists
        self.scalarLists = scalarLists
    }

    private var indexBytes: Int { ((indexLists * columns * 4 + 63) / 64) * 64 }

    var bytes: Int { indexBytes + scalarLists * columns * MemoryLayout<S>.stride }

    @inline(__always)
    func index(_ list: Int, in scratch: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Int32> {
        (scratch + list * columns * 4).assumingMemoryBound(to: Int32.self)
    }

    @inline(__always)
    func scalars(_ list: Int, in scratch: UnsafeMutableRawPointer) -> UnsafeMutablePointer<S> {
        (scratch + indexBytes + list * columns * MemoryLayout<S>.stride).assumingMemoryBound(to: S.self)
    }
}

extension Matrix {
    /// Calls `body` with a read-only pointer to the elements that may cross into concurrent tasks.
    func withSendablePointer<T>(_ body: (SendableConstPointer<Scalar>) throws -> T) rethrows -> T {
        try elements.withUnsafeBufferPointer { buffer in
            try body(SendableConstPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 64)!))
        }
    }
}

// MARK: Randomness and selection

enum MinerRandom {
    /// The generator for one call of a stochastic miner: its seed mixed with the training step,
    /// so that every batch draws afresh and the same (seed, step) always draws the same.
    static func generator(seed: Int, step: UInt64) -> SeededGenerator {
        SeededGenerator(seed: UInt64(seed), stream: step)
    }

    /// Independent generators per anchor (so anchors can be drawn in parallel, deterministically),
    /// derived from the call's generator.
    static func anchorSeed(seed: Int, step: UInt64) -> UInt64 {
        var generator = generator(seed: seed, step: step)
        return generator.next()
    }
}

enum TopK {
    /// The positions of the `k` largest values, ties going to the lower position, in increasing
    /// position order. O(n) expected time (quickselect for the threshold, then one scan).
    static func largest<S: SimileFloat>(_ values: [S], _ k: Int) -> [Int] {
        let n = values.count
        guard k > 0 else { return [] }
        guard k < n else { return Array(0..<n) }
        var work = values
        let threshold = kthLargest(&work, k)
        var above = 0
        for v in values where v > threshold { above += 1 }
        var equalsNeeded = k - above
        var result: [Int] = []
        result.reserveCapacity(k)
        for (i, v) in values.enumerated() {
            if v > threshold {
                result.append(i)
            } else if v == threshold && equalsNeeded > 0 {
                result.append(i)
                equalsNeeded -= 1
            }
        }
        return result
    }

    /// The positions of the `k` smallest values, ties going to the lower position.
    static func smallest<S: SimileFloat>(_ values: [S], _ k: Int) -> [Int] {
        largest(values.map { -$0 }, k)
    }

    /// The k-th largest value (1-based), reordering `values`. Quickselect with a median-of-three
    /// pivot and three-way partitioning (many equal values stay linear); after too many rounds it
    /// sorts what is left, so the worst case is O(n log n).
    static func kthLargest<S: SimileFloat>(_ values: inout [S], _ k: Int) -> S {
        precondition(k >= 1 && k <= values.count)
        return values.withUnsafeMutableBufferPointer { v -> S in
            var low = 0, high = v.count - 1
            let target = k - 1  // index in descending order
            var rounds = 0
            while low < high {
                rounds += 1
                if rounds > 64 {
                    var slice = UnsafeMutableBufferPointer(rebasing: v[low...high])
                    slice.sort(by: >)
                    return v[target]
                }
                let mid = low + (high - low) / 2
                let a = v[low], b = v[mid], c = v[high]
                let pivot = max(min(a, b), min(max(a, b), c))
                // Three-way partition (descending): [low, lt) > pivot, [lt, i) == pivot, (gt, high] < pivot.
                var lt = low, i = low, gt = high
                while i <= gt {
                    let x = v[i]
                    if x > pivot {
                        v.swapAt(lt, i)
                        lt += 1
                        i += 1
                    } else if x < pivot {
                        v.swapAt(i, gt)
                        gt -= 1
                    } else {
                        i += 1
                    }
                }
                if target < lt {
                    high = lt - 1
                } else if target > gt {
                    low = gt + 1
                } else {
                    return pivot
                }
            }
            return v[target]
        }
    }
}
