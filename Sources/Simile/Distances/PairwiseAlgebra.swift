/// The few matrix manipulations that every distance's backward pass shares.
enum PairwiseAlgebra {
    /// W = C + Cᵀ for a square C, in cache-sized blocks, in parallel over block rows.
    static func symmetrizedSum<S: SimileFloat>(_ c: Matrix<S>) -> Matrix<S> {
        precondition(c.rows == c.columns)
        let n = c.rows
        var w = Matrix<S>(rows: n, columns: n)
        let block = 64
        c.elements.withUnsafeBufferPointer { source in
            w.elements.withUnsafeMutableBufferPointer { target in
                let src = SendableConstPointer(source.baseAddress!)
                let dst = SendablePointer(target.baseAddress!)
                let blocks = (n + block - 1) / block
                Parallel.forEach(blocks, grain: 1) { range in
                    for bi in range {
                        let i0 = bi * block, i1 = min(n, i0 + block)
                        for j0 in stride(from: 0, to: n, by: block) {
                            let j1 = min(n, j0 + block)
                            for i in i0..<i1 {
                                for j in j0..<j1 {
                                    dst.pointer[i * n + j] = src.pointer[i * n + j] + src.pointer[j * n + i]
                                }
                            }
                        }
                    }
                }
            }
        }
        return w
    }

    /// Σⱼ C[i, j] for each row, accumulated in Double.
    static func rowSums<S: SimileFloat>(_ c: Matrix<S>) -> [Double] {
        var sums = [Double](repeating: 0, count: c.rows)
        let m = c.columns
        c.elements.withUnsafeBufferPointer { source in
            for i in 0..<c.rows {
                var sum = 0.0
                for j in 0..<m { sum += Double(source[i * m + j]) }
                sums[i] = sum
            }
        }
        return sums
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
