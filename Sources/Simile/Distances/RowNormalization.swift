import RealModule

/// Row-wise Lp normalisation x̂ = x / max(‖x‖ₚ, 1e-12) and its backward pass, as
/// `torch.nn.functional.normalize` (which PML uses) defines them.
struct RowNormalization<S: SimileFloat>: Sendable {
    static var epsilon: Double { 1e-12 }

    let p: Double
    let input: Matrix<S>
    let output: Matrix<S>
    /// ‖xᵢ‖ₚ before clamping.
    let norms: [Double]

    init(_ x: Matrix<S>, p: Double = 2) {
        self.p = p
        input = x
        let rows = x.rows, d = x.columns
        var norms = [Double](repeating: 0, count: rows)
        let output: Matrix<S> = x.elements.withUnsafeBufferPointer { px in
            norms.withUnsafeMutableBufferPointer { pn in
                Matrix(rows: rows, columns: d) { target in
                    let source = px.baseAddress!, norm = pn.baseAddress!
                    if p == 2 {
                        RowNormalization.rowDots(source, source, rows: rows, columns: d, into: norm)
                        for i in 0..<rows { norm[i] = norm[i].squareRoot() }
                    } else {
                        for i in 0..<rows {
                            let row = source + i * d
                            var sum = 0.0
                            for k in 0..<d {
                                let v = Swift.abs(Double(row[k]))
                                sum += p == 1 ? v : Double.pow(v, p)
                            }
                            norm[i] = p == 1 ? sum : Double.pow(sum, 1 / p)
                        }
                    }
                    for i in 0..<rows {
                        let scale = S(1 / Swift.max(norm[i], RowNormalization.epsilon))
                        let row = source + i * d, out = target + i * d
                        for k in 0..<d { out[k] = row[k] * scale }
                    }
                }
            }
        }
        self.norms = norms
        self.output = output
    }

    /// Σₖ aᵢₖ·bᵢₖ of each row in Double, each row summed in order k = 0, 1, … (the products of two
    /// Floats are exact in Double). One row alone is bound by the latency of its additions, so rows
    /// go eight at a time: their products into a buffer (a loop that vectorises), then eight
    /// independent sums. The result is the same as summing each row by itself.
    static func rowDots(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, rows: Int, columns d: Int,
                        into sums: UnsafeMutablePointer<Double>) {
        let products = UnsafeMutablePointer<Double>.allocate(capacity: 8 * d)
        defer { products.deallocate() }
        var i = 0
        while i + 8 <= rows {
            let p = a + i * d, q = b + i * d
            for j in 0..<(8 * d) { products[j] = Double(p[j]) * Double(q[j]) }
            let t0 = UnsafePointer(products), t1 = t0 + d, t2 = t1 + d, t3 = t2 + d
            let t4 = t3 + d, t5 = t4 + d, t6 = t5 + d, t7 = t6 + d
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0
            for k in 0..<d {
                s0 += t0[k]; s1 += t1[k]; s2 += t2[k]; s3 += t3[k]
                s4 += t4[k]; s5 += t5[k]; s6 += t6[k]; s7 += t7[k]
            }
            sums[i] = s0; sums[i + 1] = s1; sums[i + 2] = s2; sums[i + 3] = s3
            sums[i + 4] = s4; sums[i + 5] = s5; sums[i + 6] = s6; sums[i + 7] = s7
            i += 8
        }
        while i < rows {
            let p = a + i * d, q = b + i * d
            var sum = 0.0
            for k in 0..<d { sum += Double(p[k]) * Double(q[k]) }
            sums[i] = sum
            i += 1
        }
    }

    /// dL/dx from dL/dx̂.
    func backward(_ g: Matrix<S>) -> Matrix<S> {
        let rows = g.rows, d = g.columns
        var dots = [Double](repeating: 0, count: rows)
        let result: Matrix<S> = input.elements.withUnsafeBufferPointer { px in
            g.elements.withUnsafeBufferPointer { pg in
                dots.withUnsafeMutableBufferPointer { pd in
                    Matrix(rows: rows, columns: d) { rs in
                        let xs = px.baseAddress!, gs = pg.baseAddress!, dot = pd.baseAddress!
                        RowNormalization.rowDots(gs, xs, rows: rows, columns: d, into: dot)
                        for i in 0..<rows {
                            let x = xs + i * d, gi = gs + i * d, r = rs + i * d
                            let norm = norms[i]
                            guard norm > RowNormalization.epsilon else {
                                // Below the clamp the map is x / eps, a constant scaling.
                                let scale = S(1 / RowNormalization.epsilon)
                                for k in 0..<d { r[k] = gi[k] * scale }
                                continue
                            }
                            if p == 2 {
                                // (g − x̂(x̂·g)) / ‖x‖ with x̂ = x/‖x‖
                                let a = S(1 / norm), b = S(dot[i] / (norm * norm * norm))
                                for k in 0..<d { r[k] = a * gi[k] - b * x[k] }
                                continue
                            }
                            // ∂‖x‖ₚ/∂xₖ = sign(xₖ)|xₖ|^(p−1) / ‖x‖ₚ^(p−1)
                            for k in 0..<d {
                                let xk = Double(x[k])
                                let sign: Double = xk > 0 ? 1 : (xk < 0 ? -1 : 0)
                                let dNorm = p == 1 ? sign : sign * Double.pow(Swift.abs(xk) / norm, p - 1)
                                r[k] = S(Double(gi[k]) / norm - dot[i] / (norm * norm) * dNorm)
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
