import RealModule

/// The nonlinearity after each hidden layer of an `MLP`.
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// max(0, u); its derivative at 0 is taken as 0, as in PyTorch.
    case relu
    /// The exact GELU, u·Φ(u) = ½u(1 + erf(u/√2)): PyTorch's `nn.GELU()` (approximate='none').
    case gelu
    /// The tanh approximation ½u(1 + tanh(√(2/π)(u + 0.044715u³))): PyTorch's
    /// `nn.GELU(approximate='tanh')`.
    case geluTanh = "gelu-tanh"

    /// f(u) over `count` values; `output` may be `input`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func apply<S: SimileFloat>(_ input: UnsafePointer<S>, _ output: UnsafeMutablePointer<S>, count: Int) {
        switch self {
        case .relu: for k in 0..<count { output[k] = Activation.relu(input[k]) }
        case .gelu: for k in 0..<count { output[k] = Activation.gelu(input[k]) }
        case .geluTanh: for k in 0..<count { output[k] = Activation.geluTanh(input[k]) }
        }
    }

    /// gradient[k] *= f′(input[k]) over `count` values.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func multiplyByDerivative<S: SimileFloat>(_ input: UnsafePointer<S>, _ gradient: UnsafeMutablePointer<S>,
                                              count: Int) {
        switch self {
        case .relu: for k in 0..<count where !(input[k] > 0) { gradient[k] = 0 }
        case .gelu: for k in 0..<count { gradient[k] *= Activation.geluDerivative(input[k]) }
        case .geluTanh: for k in 0..<count { gradient[k] *= Activation.geluTanhDerivative(input[k]) }
        }
    }

    @inline(__always)
    static func relu<S: SimileFloat>(_ u: S) -> S { u > 0 ? u : 0 }

    @inline(__always)
    static func gelu<S: SimileFloat>(_ u: S) -> S {
        S(0.5) * u * (1 + S.erf(u * S(inverseSquareRootOfTwo)))
    }

    /// Φ(u) + u·φ(u)
    @inline(__always)
    static func geluDerivative<S: SimileFloat>(_ u: S) -> S {
        let cdf = S(0.5) * (1 + S.erf(u * S(inverseSquareRootOfTwo)))
        let pdf = S.exp(-S(0.5) * u * u) * S(inverseSquareRootOfTwoPi)
        return cdf + u * pdf
    }

    @inline(__always)
    static func geluTanh<S: SimileFloat>(_ u: S) -> S {
        let inner = S(squareRootOfTwoOverPi) * (u + S(tanhCubic) * u * u * u)
        return S(0.5) * u * (1 + S.tanh(inner))
    }

    /// ½(1 + t) + ½u(1 − t²)·k(1 + 3c·u²), with t = tanh(k(u + c·u³)).
    @inline(__always)
    static func geluTanhDerivative<S: SimileFloat>(_ u: S) -> S {
        let k = S(squareRootOfTwoOverPi), c = S(tanhCubic)
        let t = S.tanh(k * (u + c * u * u * u))
        return S(0.5) * (1 + t) + S(0.5) * u * (1 - t * t) * k * (1 + 3 * c * u * u)
    }

    static let inverseSquareRootOfTwo = 0.70710678118654752440
    static let inverseSquareRootOfTwoPi = 0.39894228040143267794
    static let squareRootOfTwoOverPi = 0.79788456080286535588
    static let tanhCubic = 0.044715
}
