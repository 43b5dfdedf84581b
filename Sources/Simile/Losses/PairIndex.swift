/// Which reference rows are the positives and negatives of each anchor, and how many times each
/// pair occurs.
///
/// Without tuples, every same-label pair is a positive and every other-label pair a negative
/// (self-pairs excluded when the batch is its own reference), as PML's `get_all_pairs_indices`.
/// With tuples, the pairs are the mined ones, with their multiplicities (a pair mined twice
/// counts twice, as in PML's pair-based losses; mask-based losses take `min(count, 1)`).
/// Either way a loss sees one anchor's row at a time, so memory stays O(N·M) at most.
struct PairIndex: Sendable {
    let anchors: Int
    let columns: Int
    private let storage: Storage

    private enum Storage: Sendable {
        case labels(query: [Int], reference: [Int], excludeSelf: Bool, referenceCounts: [Int: Int])
        case explicit(positive: CompressedRows, negative: CompressedRows)
    }

    /// From labels (tuples nil) or mined tuples.
    init(labels: [Int], referenceLabels: [Int], isSelf: Bool, tuples: Tuples?) {
        anchors = labels.count
        columns = referenceLabels.count
        if let tuples {
            let (positive, negative) = tuples.asPairs
            storage = .explicit(positive: CompressedRows(positive, rows: anchors),
                                negative: CompressedRows(negative, rows: anchors))
        } else {
            var counts: [Int: Int] = [:]
            for label in referenceLabels { counts[label, default: 0] += 1 }
            storage = .labels(query: labels, reference: referenceLabels, excludeSelf: isSelf, referenceCounts: counts)
        }
    }

    /// From a loss input's class labels and tuples.
    init<S: SimileFloat>(_ input: LossInput<S>, loss: String) throws {
        self.init(labels: try input.classLabels(loss), referenceLabels: try input.referenceClassLabels(loss),
                  isSelf: input.isSelfComparison, tuples: input.tuples)
    }

    /// Number of positive pairs of anchor a (with multiplicity).
    func positiveCount(_ a: Int) -> Int {
        switch storage {
        case let .labels(query, _, excludeSelf, counts):
            return (counts[query[a]] ?? 0) - (excludeSelf ? 1 : 0)
        case let .explicit(positive, _):
            return positive.count(a)
        }
    }

    /// Number of negative pairs of anchor a (with multiplicity).
    func negativeCount(_ a: Int) -> Int {
        switch storage {
        case let .labels(query, _, _, counts):
            return columns - (counts[query[a]] ?? 0)
        case let .explicit(_, negative):
            return negative.count(a)
        }
    }

    var totalPositives: Int { (0..<anchors).reduce(0) { $0 + positiveCount($1) } }
    var totalNegatives: Int { (0..<anchors).reduce(0) { $0 + negativeCount($1) } }

    /// PML's generic pair losses return 0 when there is no pair at all.
    var hasAnyPair: Bool { totalPositives > 0 || totalNegatives > 0 }

    /// Writes anchor a's multiplicities into two buffers of length `columns`.
    func fill(_ a: Int, positives: UnsafeMutablePointer<Int32>, negatives: UnsafeMutablePointer<Int32>) {
        switch storage {
        case let .labels(query, reference, excludeSelf, _):
            let label = query[a]
            reference.withUnsafeBufferPointer { ref in
                for j in 0..<columns {
                    let same: Int32 = ref[j] == label ? 1 : 0
                    positives[j] = same
                    negatives[j] = 1 - same
                }
            }
            if excludeSelf { positives[a] = 0 }
        case let .explicit(positive, negative):
            positives.update(repeating: 0, count: columns)
            negatives.update(repeating: 0, count: columns)
            positive.forEach(a) { positives[$0] += 1 }
            negative.forEach(a) { negatives[$0] += 1 }
        }
    }
}

/// Pairs grouped by anchor (compressed sparse rows).
struct CompressedRows: Sendable {
    let offsets: [Int]
    let indices: [Int32]

    init(_ pairs: [IndexPair], rows: Int) {
        var counts = [Int](repeating: 0, count: rows + 1)
        for pair in pairs { counts[pair.anchor + 1] += 1 }
        for r in 0..<rows { counts[r + 1] += counts[r] }
        var fill = counts
        var indices = [Int32](repeating: 0, count: pairs.count)
        for pair in pairs {
            indices[fill[pair.anchor]] = Int32(pair.other)
            fill[pair.anchor] += 1
        }
        offsets = counts
        self.indices = indices
    }

    func count(_ row: Int) -> Int { offsets[row + 1] - offsets[row] }

    @inline(__always)
    func forEach(_ row: Int, _ body: (Int) -> Void) {
        for k in offsets[row]..<offsets[row + 1] { body(Int(indices[k])) }
    }
}

/// One anchor's view during a pass over a pairwise matrix: its row of values and the
/// multiplicities of its positives and negatives.
struct AnchorRow<S: SimileFloat> {
    let anchor: Int
    let count: Int
    let values: UnsafePointer<S>
    let positives: UnsafePointer<Int32>
    let negatives: UnsafePointer<Int32>
}

extension PairIndex {
    /// Calls `body` for every anchor, in parallel, and returns the results in anchor order.
    func map<S: SimileFloat, T: Sendable>(_ matrix: Matrix<S>, grain: Int = 16,
                                          _ body: @Sendable (AnchorRow<S>) -> T) -> [T] {
        precondition(matrix.rows == anchors && matrix.columns == columns)
        let m = columns
        return matrix.elements.withUnsafeBufferPointer { buffer in
            let values = SendableConstPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            let chunks = Parallel.map(anchors, grain: grain) { range -> [T] in
                let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                defer { scratch.deallocate() }
                return range.map { a in
                    fill(a, positives: scratch, negatives: scratch + m)
                    return body(AnchorRow(anchor: a, count: m, values: values.pointer + a * m,
                                          positives: scratch, negatives: scratch + m))
                }
            }
            return chunks.flatMap { $0 }
        }
    }

    /// Calls `body` for every anchor, in parallel, with that anchor's row of `output` (N×M) to write.
    func accumulate<S: SimileFloat>(_ matrix: Matrix<S>, into output: inout Matrix<S>, grain: Int = 16,
                                    _ body: @Sendable (AnchorRow<S>, UnsafeMutablePointer<S>) -> Void) {
        _ = accumulateMap(matrix, into: &output, grain: grain) { row, out -> Bool in
            body(row, out)
            return true
        }
    }

    /// Calls `body` for every anchor, in parallel, with that anchor's row of `output` to write,
    /// and returns its results in anchor order.
    func accumulateMap<S: SimileFloat, T: Sendable>(
        _ matrix: Matrix<S>, into output: inout Matrix<S>, grain: Int = 16,
        _ body: @Sendable (AnchorRow<S>, UnsafeMutablePointer<S>) -> T
    ) -> [T] {
        precondition(output.rows == anchors && output.columns == columns)
        precondition(matrix.rows == anchors && matrix.columns == columns)
        let m = columns
        return matrix.elements.withUnsafeBufferPointer { buffer in
            output.elements.withUnsafeMutableBufferPointer { target in
                let values = SendableConstPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                let out = SendablePointer(target.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!)
                let chunks = Parallel.map(anchors, grain: grain) { range -> [T] in
                    let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                    defer { scratch.deallocate() }
                    return range.map { a in
                        fill(a, positives: scratch, negatives: scratch + m)
                        return body(AnchorRow(anchor: a, count: m, values: values.pointer + a * m,
                                              positives: scratch, negatives: scratch + m),
                                    out.pointer + a * m)
                    }
                }
                return chunks.flatMap { $0 }
            }
        }
    }
}
