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
        let d = x.columns
        var norms = [Double](repeating: 0, count: x.rows)
        var output = x
        for i in 0..<x.rows {
            var sum = 0.0
            for k in 0..<d {
                let v = Double(x.elements[i * d + k])
                sum += p == 2 ? v * v : (p == 1 ? Swift.abs(v) : Double.pow(Swift.abs(v), p))
            }
            let norm = p == 2 ? sum.squareRoot() : (p == 1 ? sum : Double.pow(sum, 1 / p))
            norms[i] = norm
            let scale = S(1 / Swift.max(norm, RowNormalization.epsilon))
            for k in 0..<d { output.elements[i * d + k] *= scale }
        }
        self.norms = norms
        self.output = output
    }

    /// dL/dx from dL/dx̂.
    func backward(_ g: Matrix<S>) -> Matrix<S> {
        let d = g.columns
        var result = g
        input.elements.withUnsafeBufferPointer { px in
            result.elements.withUnsafeMutableBufferPointer { pr in
                for i in 0..<g.rows {
                    let x = px.baseAddress! + i * d, r = pr.baseAddress! + i * d
                    let norm = norms[i]
                    guard norm > RowNormalization.epsilon else {
                        // Below the clamp the map is x / eps, a constant scaling.
                        let scale = S(1 / RowNormalization.epsilon)
                        for k in 0..<d { r[k] *= scale }
                        continue
                    }
                    var dot = 0.0
                    for k in 0..<d { dot += Double(r[k]) * Double(x[k]) }
                    if p == 2 {
                        // (g − x̂(x̂·g)) / ‖x‖ with x̂ = x/‖x‖
                        let a = S(1 / norm), b = S(dot / (norm * norm * norm))
                        for k in 0..<d { r[k] = a * r[k] - b * x[k] }
                        continue
                    }
                    // ∂‖x‖ₚ/∂xₖ = sign(xₖ)|xₖ|^(p−1) / ‖x‖ₚ^(p−1)
                    for k in 0..<d {
                        let xk = Double(x[k])
                        let sign: Double = xk > 0 ? 1 : (xk < 0 ? -1 : 0)
                        let dNorm = p == 1 ? sign : sign * Double.pow(Swift.abs(xk) / norm, p - 1)
                        r[k] = S(Double(r[k]) / norm - dot / (norm * norm) * dNorm)
                    }
                }
            }
        }
        return result
    }
}
