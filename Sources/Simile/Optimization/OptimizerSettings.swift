/// Which optimization algorithm, with its hyperparameters: a value, or text such as
/// `adamw(lr=1e-3, weight-decay=0.05)` in a pipeline file.
///
/// Codable as its text form (`"adam(lr=0.001, betas=[0.9, 0.999], eps=1e-08, weight-decay=0, amsgrad=false)"`),
/// whose numbers read back as the same Doubles.
public enum OptimizerSettings: Sendable, Equatable, Codable, CustomStringConvertible {
    case sgd(SGD)
    case adam(Adam)
    case adamW(AdamW)
    case rmsprop(RMSprop)

    /// The text forms' parameters, one schema per algorithm.
    public static let schemas: [SettingsSchema] = [SGD.schema, Adam.schema, AdamW.schema, RMSprop.schema]

    /// Parses `sgd(...)`, `adam(...)`, `adamw(...)` or `rmsprop(...)`.
    public init(_ text: String) throws {
        try self.init(ComponentSpec(text))
    }

    public init(_ spec: ComponentSpec) throws {
        let schema = try SettingsSchema.select(spec, among: Self.schemas, what: "optimizer")
        let arguments = try schema.resolve(spec)
        switch schema.name {
        case SGD.schema.name: self = .sgd(try SGD(arguments))
        case Adam.schema.name: self = .adam(try Adam(arguments))
        case AdamW.schema.name: self = .adamW(try AdamW(arguments))
        default: self = .rmsprop(try RMSprop(arguments))
        }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The rule itself.
    public var rule: any OptimizerRule {
        switch self {
        case let .sgd(rule): rule
        case let .adam(rule): rule
        case let .adamW(rule): rule
        case let .rmsprop(rule): rule
        }
    }

    /// The base learning rate (`lr`).
    public var learningRate: Double { rule.learningRate }

    /// The weight decay of groups that do not set their own.
    public var weightDecay: Double { rule.weightDecay }

    public var description: String { rule.description }

    /// Applies the rule to one parameter (dispatching to the concrete, specialised update).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func update<S: SimileFloat>(_ parameter: inout Matrix<S>, gradient: Matrix<S>, state: inout ParameterState<S>,
                                learningRate: Double, weightDecay: Double) {
        switch self {
        case let .sgd(rule):
            rule.update(&parameter, gradient: gradient, state: &state, learningRate: learningRate, weightDecay: weightDecay)
        case let .adam(rule):
            rule.update(&parameter, gradient: gradient, state: &state, learningRate: learningRate, weightDecay: weightDecay)
        case let .adamW(rule):
            rule.update(&parameter, gradient: gradient, state: &state, learningRate: learningRate, weightDecay: weightDecay)
        case let .rmsprop(rule):
            rule.update(&parameter, gradient: gradient, state: &state, learningRate: learningRate, weightDecay: weightDecay)
        }
    }
}
