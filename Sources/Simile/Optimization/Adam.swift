import RealModule

/// Adam (Kingma & Ba 2015) with L2 weight decay added to the gradient, and optional AMSGrad:
/// PyTorch's `torch.optim.Adam`, same formulas and defaults. (For decoupled weight decay use `AdamW`.)
///
///     t = t + 1;  d = g + λ·θ                       (weight decay λ, when λ ≠ 0)
///     m = lerp(m, d, 1 − β₁);   v = β₂·v + (1 − β₂)·d²
///     v̂ = max(v̂, v) (AMSGrad, else v̂ = v)
///     θ = θ − (η / (1 − β₁ᵗ)) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
///
/// Buffers `exp_avg` (m), `exp_avg_sq` (v) and, with AMSGrad, `max_exp_avg_sq` start at zero;
/// t is the parameter's own update count.
public struct Adam: OptimizerRule {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    public var amsgrad: Bool

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0, amsgrad: Bool = false) throws {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.amsgrad = amsgrad
        try AdamMath.validate(self, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public init(_ arguments: Arguments) throws {
        let (beta1, beta2) = try AdamMath.betas(arguments, component: Self.schema.name)
        try self.init(learningRate: arguments.double("lr"), beta1: beta1, beta2: beta2, epsilon: arguments.double("eps"),
                      weightDecay: arguments.double("weight-decay"), amsgrad: arguments.bool("amsgrad"))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(learningRate: c.decode(Double.self, forKey: .learningRate), beta1: c.decode(Double.self, forKey: .beta1),
                      beta2: c.decode(Double.self, forKey: .beta2), epsilon: c.decode(Double.self, forKey: .epsilon),
                      weightDecay: c.decode(Double.self, forKey: .weightDecay), amsgrad: c.decode(Bool.self, forKey: .amsgrad))
    }

    public var textArguments: [ComponentSpec.Argument] {
        AdamMath.textArguments(learningRate, beta1, beta2, epsilon, weightDecay, amsgrad)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func update<S: SimileFloat>(_ parameter: inout Matrix<S>, gradient: Matrix<S>, state: inout ParameterState<S>,
                                       learningRate: Double, weightDecay: Double) {
        AdamMath.update(&parameter, gradient: gradient, state: &state, learningRate: learningRate, beta1: beta1,
                        beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: false, amsgrad: amsgrad)
    }

    public static let schema = SettingsSchema(
        name: "adam",
        summary: "Adam with optional AMSGrad and L2 weight decay added to the gradient (torch.optim.Adam).",
        parameters: AdamMath.parameters(weightDecay: 0, decayDoc: "L2 penalty λ, added to the gradient as λ·θ"))
}

/// The update shared by `Adam` and `AdamW`, in PyTorch's operation order.
enum AdamMath {
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func update<S: SimileFloat>(_ parameter: inout Matrix<S>, gradient: Matrix<S>, state: inout ParameterState<S>,
                                       learningRate: Double, beta1: Double, beta2: Double, epsilon: Double,
                                       weightDecay: Double, decoupled: Bool, amsgrad: Bool) {
        state.step += 1
        let t = Double(state.step)
        var m = UpdateMath.take("exp_avg", from: &state, like: parameter)
        var v = UpdateMath.take("exp_avg_sq", from: &state, like: parameter)
        var vMax = amsgrad ? UpdateMath.take("max_exp_avg_sq", from: &state, like: parameter) : Matrix<S>(rows: 0, columns: 0)
        let count = parameter.elements.count
        let coupled = weightDecay != 0 && !decoupled
        let lambda = S(weightDecay)
        let shrink = S(1 - learningRate * weightDecay)
        let shrinks = weightDecay != 0 && decoupled
        let w1 = S(1 - beta1), oneMinusW1 = S(1 - (1 - beta1)), small = Swift.abs(1 - beta1) < 0.5
        let b2 = S(beta2), c2 = S(1 - beta2)
        let biasCorrection1 = 1 - Double.pow(beta1, t)
        let biasCorrection2 = 1 - Double.pow(beta2, t)
        let negativeStep = S(-(learningRate / biasCorrection1))
        let correction2Root = S(biasCorrection2.squareRoot())
        let eps = S(epsilon)
        parameter.elements.withUnsafeMutableBufferPointer { p in
            gradient.elements.withUnsafeBufferPointer { g in
                m.elements.withUnsafeMutableBufferPointer { mb in
                    v.elements.withUnsafeMutableBufferPointer { vb in
                        vMax.elements.withUnsafeMutableBufferPointer { xb in
                            for k in 0..<count {
                                if shrinks { p[k] = p[k] * shrink }
                                let d = coupled ? g[k] + lambda * p[k] : g[k]
                                mb[k] = UpdateMath.lerp(mb[k], d, w1, oneMinusW1, small: small)
                                vb[k] = vb[k] * b2 + c2 * d * d
                                var second = vb[k]
                                if amsgrad {
                                    xb[k] = Swift.max(xb[k], vb[k])
                                    second = xb[k]
                                }
                                let denominator = second.squareRoot() / correction2Root + eps
                                p[k] = p[k] + negativeStep * mb[k] / denominator
                            }
                        }
                    }
                }
            }
        }
        state.buffers["exp_avg"] = m
        state.buffers["exp_avg_sq"] = v
        if amsgrad { state.buffers["max_exp_avg_sq"] = vMax }
    }

    static func validate<R: OptimizerRule>(_ rule: R, beta1: Double, beta2: Double, epsilon: Double) throws {
        try OptimizerChecks.check(rule, ["lr": rule.learningRate, "eps": epsilon, "weight-decay": rule.weightDecay])
        for (index, beta) in [beta1, beta2].enumerated() where !(beta >= 0 && beta < 1) {
            throw SimileError.parameterOutOfRange(component: R.schema.name, parameter: "betas",
                                                  value: "\(beta) (β\(index + 1))", range: "in [0, 1)")
        }
    }

    static func betas(_ arguments: Arguments, component: String) throws -> (Double, Double) {
        let betas = try arguments.doubles("betas")
        guard betas.count == 2 else {
            throw SimileError.invalidParameterValue(component: component, parameter: "betas",
                                                    value: "[" + betas.map(ParameterValue.format).joined(separator: ", ") + "]",
                                                    expected: "two numbers [β₁, β₂], e.g. [0.9, 0.999]")
        }
        return (betas[0], betas[1])
    }

    static func textArguments(_ lr: Double, _ beta1: Double, _ beta2: Double, _ epsilon: Double, _ weightDecay: Double,
                              _ amsgrad: Bool) -> [ComponentSpec.Argument] {
        [UpdateMath.argument("lr", lr), UpdateMath.argument("betas", [beta1, beta2]), UpdateMath.argument("eps", epsilon),
         UpdateMath.argument("weight-decay", weightDecay), UpdateMath.argument("amsgrad", amsgrad)]
    }

    static func parameters(weightDecay: Double, decayDoc: String) -> [ParameterSpec] {
        [
            .double("lr", 1e-3, range: .atLeast(0), doc: "learning rate η (the base rate; a schedule and group multipliers scale it)"),
            ParameterSpec("betas", .doubles, default: .value(.doubles([0.9, 0.999])), range: .rightOpen(0, 1),
                          doc: "[β₁, β₂]: decay rates of the first and second moment averages"),
            .double("eps", 1e-8, range: .atLeast(0), doc: "ε added to the denominator √v̂/√(1 − β₂ᵗ)"),
            .double("weight-decay", weightDecay, range: .atLeast(0), doc: decayDoc),
            .bool("amsgrad", false, doc: "use the running maximum of v (AMSGrad, Reddi et al. 2018)"),
        ]
    }
}
