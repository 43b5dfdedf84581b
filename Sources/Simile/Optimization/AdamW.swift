/// Adam with decoupled weight decay (Loshchilov & Hutter 2019): PyTorch's `torch.optim.AdamW`,
/// same formulas and defaults (note the default weight decay 0.01).
///
///     θ = θ·(1 − η·λ)                                (decoupled: the gradient is not changed)
///     then the Adam update of `Adam` with d = g
///
/// Here η is the group's learning rate for this step, so the decay follows the schedule, as in PyTorch.
public struct AdamW: OptimizerRule {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    public var amsgrad: Bool

    public init(learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 1e-2, amsgrad: Bool = false) throws {
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
                        beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupled: true, amsgrad: amsgrad)
    }

    public static let schema = SettingsSchema(
        name: "adamw",
        summary: "Adam with decoupled weight decay θ ← θ·(1 − η·λ) (torch.optim.AdamW).",
        parameters: AdamMath.parameters(weightDecay: 1e-2, decayDoc: "decoupled weight decay λ: θ is multiplied by 1 − η·λ each step"))
}
