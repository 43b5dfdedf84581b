/// Squared Euclidean distances from every query to every reference, streamed one block of
/// query rows at a time so that memory stays bounded (never N×M).
///
/// Each block is one BLAS product −2·Q_b·Rᵀ, turned into ‖q‖² + ‖r‖² − 2q·r and clamped at 0 (as
/// faiss's `IndexFlatL2` computes them). The rows of a block are then handed, in parallel
/// chunks, to the caller, which may overwrite them. Every row is computed the same way whatever
/// the block size, and each chunk writes only its own rows' results, so results do not depend
/// on the block size or the number of cores.
struct DistanceScan: @unchecked Sendable {
    let query: Matrix<Float>
    let reference: Matrix<Float>
    let queryNorms: [Float]
    let referenceNorms: [Float]
    /// Query rows per block.
    let blockRows: Int

    /// Bytes one block of distances may take when the caller does not choose the block size
    /// (it then stays in the last-level cache between the product and the row passes)...
    static let blockBudgetBytes = 16 << 20
    /// ...unless that leaves fewer than 128 rows, which may take up to this much.
    static let blockCeilingBytes = 256 << 20

    /// - Parameters:
    ///   - reference: nil for the queries themselves (leave-one-out).
    ///   - blockRows: query rows per block; nil keeps a block within `blockBudgetBytes`.
    init(query: Matrix<Float>, reference: Matrix<Float>?, blockRows: Int?) {
        self.query = query
        self.reference = reference ?? query
        queryNorms = Self.squaredNorms(query)
        referenceNorms = reference.map(Self.squaredNorms) ?? queryNorms
        // Within the budget, but at least 128 rows while a block stays under 256 MiB: BLAS packs
        // the whole reference set once per block, so very thin blocks would spend as long
        // packing as multiplying (at M = 100,000 a 16 MiB block is only 41 rows).
        let rowBytes = 4 * max(1, self.reference.rows)
        let floor = max(1, min(128, Self.blockCeilingBytes / rowBytes))
        let automatic = max(floor, min(512, Self.blockBudgetBytes / rowBytes))
        self.blockRows = max(1, min(blockRows ?? automatic, max(1, query.rows)))
    }

    /// ‖x_i‖² for every row, summed in Double.
    static func squaredNorms(_ x: Matrix<Float>) -> [Float] {
        let d = x.columns
        return x.elements.withUnsafeBufferPointer { buffer in
            (0..<x.rows).map { i in
                let row = buffer.baseAddress! + i * d
                var sum = 0.0
                for k in 0..<d { sum += Double(row[k]) * Double(row[k]) }
                return Float(sum)
            }
        }
    }

    /// Calls `body(queries, rows)` for consecutive ranges of query indices, concurrently, where
    /// `rows` points at `queries.count` rows of `reference.rows` squared distances each (row
    /// stride `reference.rows`). The body may overwrite those rows; it must write nothing that
    /// another range writes.
    /// - Parameter grain: the fewest query rows worth a task of their own.
    func forEachChunk(grain: Int = 4, _ body: @Sendable (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let n = query.rows, m = reference.rows, d = query.columns
        guard n > 0, m > 0 else { return }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * m)
        defer { buffer.deallocate() }
        let block = SendablePointer(buffer)
        query.elements.withUnsafeBufferPointer { q in
            reference.elements.withUnsafeBufferPointer { r in
                queryNorms.withUnsafeBufferPointer { qn in
                    referenceNorms.withUnsafeBufferPointer { rn in
                        let queryNorm = SendableConstPointer(qn.baseAddress!)
                        let referenceNorm = SendableConstPointer(rn.baseAddress!)
                        var start = 0
                        while start < n {
                            let rows = min(blockRows, n - start)
                            if d > 0 {
                                Float.gemm(transposeA: false, transposeB: true, m: rows, n: m, k: d, alpha: -2,
                                           a: q.baseAddress! + start * d, lda: d, b: r.baseAddress!, ldb: d,
                                           beta: 0, c: buffer, ldc: m)
                            } else {
                                buffer.update(repeating: 0, count: rows * m)
                            }
                            let first = start
                            Parallel.forEach(rows, grain: grain) { local in
                                for li in local {
                                    let row = block.pointer + li * m
                                    let a = queryNorm.pointer[first + li]
                                    let b = referenceNorm.pointer
                                    for j in 0..<m {
                                        let value = a + b[j] + row[j]
                                        row[j] = value > 0 ? value : 0
                                    }
                                }
                                body((first + local.lowerBound)..<(first + local.upperBound),
                                     block.pointer + local.lowerBound * m)
                            }
                            start += rows
                        }
                    }
                }
            }
        }
    }
}
