/// The few matrix manipulations that every distance's backward pass shares.
enum PairwiseAlgebra {
    /// The tile size of the blocked passes over square matrices.
    static let tile = 64

    /// Visits the lower triangle (i ≥ j) of an n×n matrix in cache-sized tiles, tile rows in
    /// parallel. `body(rows, columns, diagonal)` runs once per tile; on a diagonal tile only the
    /// pairs with j ≤ i belong to it. A tile's body may write (i, j) and (j, i) for its pairs,
    /// which no other tile touches.
    static func forEachLowerTile(_ n: Int, _ body: @Sendable (Range<Int>, Range<Int>, Bool) -> Void) {
        let tiles = (n + tile - 1) / tile
        Parallel.forEach(tiles, grain: 1) { tileRows in
            for ti in tileRows {
                let rows = (ti * tile)..<min(n, ti * tile + tile)
                for tj in 0...ti {
                    body(rows, (tj * tile)..<min(n, tj * tile + tile), ti == tj)
                }
            }
        }
    }

    /// Fills a symmetric n×n matrix tile by tile. For each lower tile (rows I, columns J),
    /// `body(I, J, diagonal, tile, scratch)` writes the values of (i, j) into `tile` (row-major,
    /// `tile[(i − I.lowerBound)·T + (j − J.lowerBound)]`, only j ≤ i on a diagonal tile); the
    /// helper then stores the tile at (I, J) and its transpose at (J, I). Every access to the
    /// n×n matrices is row-contiguous; only the small local buffers are read across, which
    /// avoids the cache-set conflicts of a strided transpose. `scratch` is a second T×T buffer.
    static func fillSymmetric<S: SimileFloat>(
        _ output: UnsafeMutablePointer<S>, _ n: Int,
        _ body: @Sendable (Range<Int>, Range<Int>, Bool, UnsafeMutablePointer<S>, UnsafeMutablePointer<S>) -> Void
    ) {
        let out = SendablePointer(output)
        let t = tile
        let tiles = (n + t - 1) / t
        Parallel.forEach(tiles, grain: 1) { tileRows in
            let buffer = UnsafeMutablePointer<S>.allocate(capacity: 2 * t * t)
            defer { buffer.deallocate() }
            let values = buffer, scratch = buffer + t * t
            for ti in tileRows {
                let rows = (ti * t)..<min(n, ti * t + t)
                for tj in 0...ti {
                    let columns = (tj * t)..<min(n, tj * t + t)
                    let diagonal = ti == tj
                    body(rows, columns, diagonal, values, scratch)
                    // Rows of the tile to (I, J); columns of the tile to rows of (J, I).
                    // (Index arithmetic goes through pointers, which is unchecked, so that the
                    // loops vectorise; checked Int arithmetic would not.)
                    let o = out.pointer
                    let j0 = columns.lowerBound, width = columns.count
                    for i in rows {
                        let source = values + (i - rows.lowerBound) * t
                        let target = o + i * n + j0
                        let count = diagonal ? i - j0 + 1 : width
                        for k in 0..<count { target[k] = source[k] }
                    }
                    let i0 = rows.lowerBound, height = rows.count
                    for j in columns {
                        let column = values + (j - j0)
                        let target = o + j * n + i0
                        let start = diagonal ? j - i0 : 0
                        for k in start..<height { target[k] = column[k * t] }
                    }
                }
            }
        }
    }

    /// Copies the tile of `source` at rows J, columns I, transposed, into `target`
    /// (`target[(i − I.lowerBound)·T + (j − J.lowerBound)] = source[j, i]`).
    @inline(__always)
    static func loadTransposed<S: SimileFloat>(_ source: UnsafePointer<S>, _ n: Int, rows: Range<Int>,
                                               columns: Range<Int>, into target: UnsafeMutablePointer<S>) {
        // Read row j of the (J, I) tile contiguously, scatter it into column j of the local buffer.
        let i0 = rows.lowerBound, height = rows.count
        for j in columns {
            let row = source + j * n + i0
            let destination = target + (j - columns.lowerBound)
            for k in 0..<height { destination[k * tile] = row[k] }
        }
    }

    /// W = C + Cᵀ for a square C, in one blocked pass.
    static func symmetrizedSum<S: SimileFloat>(_ c: Matrix<S>) -> Matrix<S> {
        precondition(c.rows == c.columns)
        let n = c.rows
        var w = Matrix<S>(rows: n, columns: n)
        c.elements.withUnsafeBufferPointer { source in
            w.elements.withUnsafeMutableBufferPointer { target in
                let src = SendableConstPointer(source.baseAddress!)
                fillSymmetric(target.baseAddress!, n) { rows, columns, _, values, transposed in
                    let c = src.pointer
                    loadTransposed(c, n, rows: rows, columns: columns, into: transposed)
                    let width = columns.count
                    for i in rows {
                        let offset = (i - rows.lowerBound) * tile
                        let v = values + offset, tr = transposed + offset, row = c + i * n + columns.lowerBound
                        for k in 0..<width { v[k] = row[k] + tr[k] }
                    }
                }
            }
        }
        return w
    }

    /// Σⱼ C[i, j] for each row, accumulated in Double.
    static func rowSums<S: SimileFloat>(_ c: Matrix<S>) -> [Double] {
        let m = c.columns
        return c.elements.withUnsafeBufferPointer { source in
            let src = SendableConstPointer(source.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            return Parallel.map(c.rows, grain: 64) { rows in
                rows.map { i -> Double in sum(src.pointer + i * m, m) }
            }.flatMap { $0 }
        }
    }

    /// Σₖ x[k] in Double, four accumulators wide.
    @inline(__always)
    static func sum<S: SimileFloat>(_ x: UnsafePointer<S>, _ count: Int) -> Double {
        var a = 0.0, b = 0.0, c = 0.0, d = 0.0
        var k = 0
        while k + 4 <= count {
            a += Double(x[k])
            b += Double(x[k + 1])
            c += Double(x[k + 2])
            d += Double(x[k + 3])
            k += 4
        }
        while k < count {
            a += Double(x[k])
            k += 1
        }
        return (a + b) + (c + d)
    }

    /// Σᵢ C[i, j] for each column, accumulated in Double.
    static func columnSums<S: SimileFloat>(_ c: Matrix<S>) -> [Double] {
        var sums = [Double](repeating: 0, count: c.columns)
        let m = c.columns
        c.elements.withUnsafeBufferPointer { source in
            sums.withUnsafeMutableBufferPointer { target in
                guard let base = source.baseAddress, let total = target.baseAddress else { return }
                for i in 0..<c.rows {
                    let row = base + i * m
                    for j in 0..<m { total[j] += Double(row[j]) }
                }
            }
        }
        return sums
    }

    /// scale · (diag(r)·X − P): row i is scale·(rᵢ·xᵢ − pᵢ).
    static func scaledRowsMinus<S: SimileFloat>(_ r: [Double], _ x: Matrix<S>, _ p: Matrix<S>, scale: Double)
        -> Matrix<S> {
        var result = p
        let d = x.columns
        x.elements.withUnsafeBufferPointer { px in
            result.elements.withUnsafeMutableBufferPointer { pr in
                for i in 0..<x.rows {
                    let a = S(scale * r[i]), b = S(scale)
                    let xi = px.baseAddress! + i * d, ri = pr.baseAddress! + i * d
                    for k in 0..<d { ri[k] = a * xi[k] - b * ri[k] }
                }
            }
        }
        return result
    }

    /// Squared row norms, accumulated in Double.
    static func squaredNorms<S: SimileFloat>(_ x: Matrix<S>) -> [Double] {
        var sums = [Double](repeating: 0, count: x.rows)
        x.elements.withUnsafeBufferPointer { px in
            sums.withUnsafeMutableBufferPointer { target in
                guard let base = px.baseAddress, let out = target.baseAddress else { return }
                RowNormalization<S>.rowDots(base, base, rows: x.rows, columns: x.columns, into: out)
            }
        }
        return sums
    }

    /// X·Yᵀ (or the Gram matrix X·Xᵀ when y is nil).
    static func innerProducts<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) -> Matrix<S> {
        guard let y else { return Matrix.gram(x) }
        return Matrix.product(x, y, transposeB: true)
    }

    /// The backward of G = X·Yᵀ (or X·Xᵀ): returns (dX, dY) for upstream U = dL/dG.
    static func innerProductsBackward<S: SimileFloat>(_ u: Matrix<S>, _ x: Matrix<S>, _ y: Matrix<S>?)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        guard let y else { return (Matrix.product(symmetrizedSum(u), x), nil) }
        return (Matrix.product(u, y), Matrix.product(u, transposeA: true, x))
    }
}
