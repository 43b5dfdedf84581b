/// RMSprop (Hinton's lecture 6e), optionally centered and with momentum: PyTorch's
/// `torch.optim.RMSprop`, same formulas and defaults (note the default learning rate 0.01).
///
///     d = g + λ·θ                                  (weight decay λ, when λ ≠ 0)
///     s = α·s + (1 − α)·d²
///     centered: a = lerp(a, d, 1 − α);  r = √(s − a²) + ε      else  r = √s + ε
///     momentum μ > 0: b = μ·b + d / r;  θ = θ − η·b          else  θ = θ − η·d / r
///
/// Buffers `square_avg` (s), `grad_avg` (a, centered) and `momentum_buffer` (b, μ > 0) start at zero.
public struct RMSprop: OptimizerRule {
    public var learningRate: Double
    public var alpha: Double
    public var epsilon: Double
    public var weightDecay: Double
    public var momentum: Double
    public var centered: Bool

    public init(learningRate: Double = 1e-2, alpha: Double = 0.99, epsilon: Double = 1e-8, weightDecay: Double = 0,
                momentum: Double = 0, centered: Bool = false) throws {
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        try OptimizerChecks.check(self, ["lr": learningRate, "alpha": alpha, "eps": epsilon, "weight-decay": weightDecay,
                                         "momentum": momentum])
    }

    public init(_ arguments: Arguments) throws {
        try self.init(learningRate: arguments.double("lr"), alpha: arguments.double("alpha"), epsilon: arguments.double("eps"),
                      weightDecay: arguments.double("weight-decay"), momentum: arguments.double("momentum"),
                      centered: arguments.bool("centered"))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(learningRate: c.decode(Double.self, forKey: .learningRate), alpha: c.decode(Double.self, forKey: .alpha),
                      epsilon: c.decode(Double.self, forKey: .epsilon), weightDecay: c.decode(Double.self, forKey: .weightDecay),
                      momentum: c.decode(Double.self, forKey: .momentum), centered: c.decode(Bool.self, forKey: .centered))
    }

    public var textArguments: [ComponentSpec.Argument] {
        [UpdateMath.argument("lr", learningRate), UpdateMath.argument("alpha", alpha), UpdateMath.argument("eps", epsilon),
         UpdateMath.argument("weight-decay", weightDecay), UpdateMath.argument("momentum", momentum),
         UpdateMath.argument("centered", centered)]
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func update<S: SimileFloat>(_ parameter: inout Matrix<S>, gradient: Matrix<S>, state: inout ParameterState<S>,
                                       learningRate: Double, weightDecay: Double) {
        state.step += 1
        let empty = Matrix<S>(rows: 0, columns: 0)
        var square = UpdateMath.take("square_avg", from: &state, like: parameter)
        var average = centered ? UpdateMath.take("grad_avg", from: &state, like: parameter) : empty
        var buffer = momentum > 0 ? UpdateMath.take("momentum_buffer", from: &state, like: parameter) : empty
        let count = parameter.elements.count
        let decays = weightDecay != 0, lambda = S(weightDecay)
        let a = S(alpha), c = S(1 - alpha)
        let w = S(1 - alpha), oneMinusW = S(1 - (1 - alpha)), small = Swift.abs(1 - alpha) < 0.5
        let eps = S(epsilon), mu = S(momentum), negativeRate = S(-learningRate)
        let centered = self.centered, hasMomentum = momentum > 0
        parameter.elements.withUnsafeMutableBufferPointer { p in
            gradient.elements.withUnsafeBufferPointer { g in
                square.elements.withUnsafeMutableBufferPointer { s in
                    average.elements.withUnsafeMutableBufferPointer { ga in
                        buffer.elements.withUnsafeMutableBufferPointer { b in
                            for k in 0..<count {
                                let d = decays ? g[k] + lambda * p[k] : g[k]
                                s[k] = s[k] * a + c * d * d
                                var root: S
                                if centered {
                                    ga[k] = UpdateMath.lerp(ga[k], d, w, oneMinusW, small: small)
                                    root = (s[k] + (-1) * ga[k] * ga[k]).squareRoot()
                                } else {
                                    root = s[k].squareRoot()
                                }
                                root = root + eps
                                if hasMomentum {
                                    b[k] = b[k] * mu + d / root
                                    p[k] = p[k] + negativeRate * b[k]
                                } else {
                                    p[k] = p[k] + negativeRate * d / root
                                }
                            }
                        }
                    }
                }
            }
        }
        state.buffers["square_avg"] = square
        if centered { state.buffers["grad_avg"] = average }
        if hasMomentum { state.buffers["momentum_buffer"] = buffer }
    }

    public static let schema = SettingsSchema(
        name: "rmsprop",
        summary: "RMSprop, optionally centered and with momentum, with L2 weight decay added to the gradient (torch.optim.RMSprop).",
        parameters: [
            .double("lr", 1e-2, range: .atLeast(0), doc: "learning rate η (the base rate; a schedule and group multipliers scale it)"),
            .double("alpha", 0.99, range: .closed(0, 1), doc: "smoothing constant α of the squared-gradient average"),
            .double("eps", 1e-8, range: .atLeast(0), doc: "ε added to the root of the average"),
            .double("weight-decay", 0, range: .atLeast(0), doc: "L2 penalty λ, added to the gradient as λ·θ"),
            .double("momentum", 0, range: .atLeast(0), doc: "momentum factor μ (0 = none)"),
            .bool("centered", false, doc: "normalise by an estimate of the gradient's variance, √(s − a²), instead of √s"),
        ])
}
