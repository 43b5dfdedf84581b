/// Exact k-nearest-neighbour search: blocked BLAS distances and a per-row top-k selection.
///
/// Distances are Euclidean (squared distances from the Gram blocks, ‖q‖² + ‖r‖² − 2q·r clamped at
/// 0, in single precision, as faiss's `IndexFlatL2` computes them), or cosine, which ranks by
/// Euclidean distance between the L2-normalised rows (the same order). Ties go to the lower
/// reference index. Memory stays bounded: one block of query rows against all references at a
/// time (16 MiB by default; 128 rows, up to 256 MiB, for very large reference sets), never the
/// whole N×M matrix.
public enum NeighbourSearch {
    /// The neighbours of each query, nearest first.
    public struct Neighbours: Sendable, Equatable {
        /// `indices[i]` are the reference rows nearest to query i, in order.
        public var indices: [[Int]]
        /// `distances[i][t]` is the distance to `indices[i][t]`: Euclidean (not squared) for
        /// `.euclidean`, 1 − cosine similarity for `.cosine`.
        public var distances: [[Float]]
    }

    /// The `k` nearest references of every query.
    /// - Parameters:
    ///   - reference: nil searches the queries among themselves, leaving each query's own row
    ///     out (by index).
    ///   - k: neighbours per query; fewer are returned when there are fewer references.
    ///   - blockRows: query rows per block (nil: automatic).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func nearest<S: SimileFloat>(query: Matrix<S>, reference: Matrix<S>? = nil, k: Int,
                                              geometry: EvaluationOptions.Geometry = .euclidean,
                                              blockRows: Int? = nil) throws -> Neighbours {
        guard k >= 1 else { throw SimileError.invalidInput("k=\(k): ask for at least one neighbour") }
        guard query.rows > 0, query.columns > 0 else { throw SimileError.empty("there are no query embeddings") }
        try query.requireFinite(reference == nil ? "embeddings" : "query embeddings")
        if let reference {
            guard reference.rows > 0 else { throw SimileError.empty("there are no reference embeddings") }
            guard reference.columns == query.columns else {
                throw SimileError.shapeMismatch("query embeddings have \(query.columns) dimensions but reference embeddings have \(reference.columns); both need the same")
            }
            try reference.requireFinite("reference embeddings")
        }
        if let blockRows, blockRows < 1 { throw SimileError.invalidInput("blockRows=\(blockRows): use at least 1") }
        try BLAS.require()
        var q = S.self == Float.self ? query as! Matrix<Float> : query.converted(to: Float.self)
        var r = reference.map { S.self == Float.self ? $0 as! Matrix<Float> : $0.converted(to: Float.self) }
        if geometry == .cosine {
            q = Evaluation.normalizedRows(q)
            r = r.map(Evaluation.normalizedRows)
        }
        let scan = DistanceScan(query: q, reference: r, blockRows: blockRows)
        let n = q.rows, m = scan.reference.rows
        let selfReference = reference == nil
        let depth = min(k, m - (selfReference ? 1 : 0))
        var indices = [Int32](repeating: -1, count: n * max(depth, 0))
        var distances = [Float](repeating: 0, count: n * max(depth, 0))
        if depth > 0 {
            indices.withUnsafeMutableBufferPointer { indexBuffer in
                distances.withUnsafeMutableBufferPointer { distanceBuffer in
                    let indexOut = SendablePointer(indexBuffer.baseAddress!)
                    let distanceOut = SendablePointer(distanceBuffer.baseAddress!)
                    scan.forEachChunk { range, rows in
                        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: depth)
                        defer { keys.deallocate() }
                        let selector = NearestSelection.Selector(k: depth, rowLength: m)
                        for i in range {
                            let row = rows + (i - range.lowerBound) * m
                            let found = selector.smallest(row, count: m, excluding: selfReference ? i : -1, into: keys)
                            for t in 0..<found {
                                let squared = NearestSelection.value(keys[t])
                                indexOut.pointer[i * depth + t] = Int32(NearestSelection.index(keys[t]))
                                distanceOut.pointer[i * depth + t] = geometry == .cosine ? squared / 2 : squared.squareRoot()
                            }
                        }
                    }
                }
            }
        }
        return Neighbours(
            indices: (0..<n).map { i in (0..<max(depth, 0)).map { Int(indices[i * depth + $0]) } },
            distances: (0..<n).map { i in Array(distances[(i * max(depth, 0))..<((i + 1) * max(depth, 0))]) })
    }
}
