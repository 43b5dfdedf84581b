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
        for i in 0..<g.rows {
            let norm = norms[i]
            guard norm > RowNormalization.epsilon else {
                // Below the clamp the map is x / eps, a constant scaling.
                for k in 0..<d { result.elements[i * d + k] = S(Double(g.elements[i * d + k]) / RowNormalization.epsilon) }
                continue
            }
            var dot = 0.0
            for k in 0..<d { dot += Double(g.elements[i * d + k]) * Double(input.elements[i * d + k]) }
            // ∂‖x‖ₚ/∂xₖ = sign(xₖ)|xₖ|^(p−1) / ‖x‖ₚ^(p−1)
            for k in 0..<d {
                let x = Double(input.elements[i * d + k])
                let dNorm: Double
                if p == 2 {
                    dNorm = x / norm
                } else if p == 1 {
                    dNorm = x > 0 ? 1 : (x < 0 ? -1 : 0)
                } else {
                    dNorm = (x > 0 ? 1 : (x < 0 ? -1 : 0)) * Double.pow(Swift.abs(x) / norm, p - 1)
                }
                let value = Double(g.elements[i * d + k]) / norm - dot / (norm * norm) * dNorm
                result.elements[i * d + k] = S(value)
            }
        }
        return result
    }
}
