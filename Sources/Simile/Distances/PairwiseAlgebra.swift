/// The few matrix manipulations that every distance's backward pass shares.
enum PairwiseAlgebra {
    /// The tile size of the blocked passes over square matrices.
    static let tile = 64

    /// Visits the pairs (i, j) with i ≥ j of an n×n matrix in cache-sized tiles, tile rows in
    /// parallel. `body(i, j)` runs once per pair; it may write (i, j) and (j, i), which no other
    /// call touches.
    @inline(__always)
    static func forEachLowerPair(_ n: Int, _ body: @Sendable (Int, Int) -> Void) {
        let tiles = (n + tile - 1) / tile
        Parallel.forEach(tiles, grain: 1) { tileRows in
            for ti in tileRows {
                let i0 = ti * tile, i1 = min(n, i0 + tile)
                for tj in 0...ti {
                    let j0 = tj * tile, j1 = min(n, j0 + tile)
                    for i in i0..<i1 {
                        for j in j0..<min(j1, i + 1) { body(i, j) }
                    }
                }
            }
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
                let dst = SendablePointer(target.baseAddress!)
                forEachLowerPair(n) { i, j in
                    let value = src.pointer[i * n + j] + src.pointer[j * n + i]
                    dst.pointer[i * n + j] = value
                    dst.pointer[j * n + i] = value
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
                rows.map { i -> Double in
                    var sum = 0.0
                    for j in 0..<m { sum += Double(src.pointer[i * m + j]) }
                    return sum
                }
            }.flatMap { $0 }
        }
    }

    /// Σᵢ C[i, j] for each column, accumulated in Double.
    static func columnSums<S: SimileFloat>(_ c: Matrix<S>) -> [Double] {
        var sums = [Double](repeating: 0, count: c.columns)
        let m = c.columns
        c.elements.withUnsafeBufferPointer { source in
            for i in 0..<c.rows {
                for j in 0..<m { sums[j] += Double(source[i * m + j]) }
            }
        }
        return sums
    }

    /// scale · (diag(r)·X − P): row i is scale·(rᵢ·xᵢ − pᵢ).
    static func scaledRowsMinus<S: SimileFloat>(_ r: [Double], _ x: Matrix<S>, _ p: Matrix<S>, scale: Double)
        -> Matrix<S> {
        var result = p
        let d = x.columns
        for i in 0..<x.rows {
            let ri = r[i]
            for k in 0..<d {
                let index = i * d + k
                result.elements[index] = S(scale * (ri * Double(x.elements[index]) - Double(p.elements[index])))
            }
        }
        return result
    }

    /// Squared row norms, accumulated in Double.
    static func squaredNorms<S: SimileFloat>(_ x: Matrix<S>) -> [Double] {
        (0..<x.rows).map { i in
            var sum = 0.0
            for k in 0..<x.columns {
                let v = Double(x.elements[i * x.columns + k])
                sum += v * v
            }
            return sum
        }
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
