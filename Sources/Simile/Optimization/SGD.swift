/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and (L2)
/// weight decay: PyTorch's `torch.optim.SGD`, same formulas and defaults.
///
///     d = g + λ·θ                                  (weight decay λ, when λ ≠ 0)
///     b = d  at a parameter's first update, else  b = μ·b + (1 − τ)·d      (when μ ≠ 0)
///     d = d + μ·b  (Nesterov)   or   d = b                                  (when μ ≠ 0)
///     θ = θ − η·d
///
/// The buffer `momentum_buffer` exists from a parameter's first update on (as in PyTorch, where
/// it starts as a copy of the gradient, not as zeros).
public struct SGD: OptimizerRule {
    public var learningRate: Double
    public var momentum: Double
    public var dampening: Double
    public var weightDecay: Double
    public var nesterov: Bool

    public init(learningRate: Double = 1e-3, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                nesterov: Bool = false) throws {
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        try validate()
    }

    public init(_ arguments: Arguments) throws {
        try self.init(learningRate: arguments.double("lr"), momentum: arguments.double("momentum"),
                      dampening: arguments.double("dampening"), weightDecay: arguments.double("weight-decay"),
                      nesterov: arguments.bool("nesterov"))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(learningRate: c.decode(Double.self, forKey: .learningRate),
                      momentum: c.decode(Double.self, forKey: .momentum),
                      dampening: c.decode(Double.self, forKey: .dampening),
                      weightDecay: c.decode(Double.self, forKey: .weightDecay),
                      nesterov: c.decode(Bool.self, forKey: .nesterov))
    }

    private func validate() throws {
        try OptimizerChecks.check(self, ["lr": learningRate, "momentum": momentum, "dampening": dampening,
                                         "weight-decay": weightDecay])
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw SimileError.incompatible(
                "'sgd': nesterov=true needs momentum > 0 and dampening=0 (got momentum=\(ParameterValue.format(momentum)), dampening=\(ParameterValue.format(dampening))); set momentum (e.g. 0.9) and dampening=0, or nesterov=false")
        }
    }

    public var textArguments: [ComponentSpec.Argument] {
        [UpdateMath.argument("lr", learningRate), UpdateMath.argument("momentum", momentum),
         UpdateMath.argument("dampening", dampening), UpdateMath.argument("weight-decay", weightDecay),
         UpdateMath.argument("nesterov", nesterov)]
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func update<S: SimileFloat>(_ parameter: inout Matrix<S>, gradient: Matrix<S>, state: inout ParameterState<S>,
                                       learningRate: Double, weightDecay: Double) {
        let first = state.buffers["momentum_buffer"] == nil
        state.step += 1
        let count = parameter.elements.count
        let lambda = S(weightDecay), negativeRate = S(-learningRate)
        let mu = S(momentum), keep = S(1 - dampening)
        let decays = weightDecay != 0, nesterov = self.nesterov
        guard momentum != 0 else {
            parameter.elements.withUnsafeMutableBufferPointer { p in
                gradient.elements.withUnsafeBufferPointer { g in
                    for k in 0..<count {
                        let d = decays ? g[k] + lambda * p[k] : g[k]
                        p[k] = p[k] + negativeRate * d
                    }
                }
            }
            return
        }
        var buffer = UpdateMath.take("momentum_buffer", from: &state, like: parameter)
        parameter.elements.withUnsafeMutableBufferPointer { p in
            gradient.elements.withUnsafeBufferPointer { g in
                buffer.elements.withUnsafeMutableBufferPointer { b in
                    for k in 0..<count {
                        var d = decays ? g[k] + lambda * p[k] : g[k]
                        b[k] = first ? d : b[k] * mu + keep * d
                        d = nesterov ? d + mu * b[k] : b[k]
                        p[k] = p[k] + negativeRate * d
                    }
                }
            }
        }
        state.buffers["momentum_buffer"] = buffer
    }

    public static let schema = SettingsSchema(
        name: "sgd",
        summary: "Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD).",
        parameters: [
            .double("lr", 1e-3, range: .atLeast(0), doc: "learning rate η (the base rate; a schedule and group multipliers scale it)"),
            .double("momentum", 0, range: .atLeast(0), doc: "momentum factor μ (0 = plain SGD)"),
            .double("dampening", 0, range: .closed(0, 1), doc: "dampening τ of the momentum buffer's gradient term"),
            .double("weight-decay", 0, range: .atLeast(0), doc: "L2 penalty λ, added to the gradient as λ·θ"),
            .bool("nesterov", false, doc: "Nesterov momentum (needs momentum > 0 and dampening = 0)"),
        ])
}
