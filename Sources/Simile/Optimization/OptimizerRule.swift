/// One optimization algorithm's hyperparameters and per-element update (SGD, Adam, AdamW,
/// RMSprop), as PyTorch defines them. `Optimizer` applies a rule to each parameter of each
/// group, with the group's learning rate and weight decay.
public protocol OptimizerRule: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The text form's parameters (name, defaults, ranges, docs).
    static var schema: SettingsSchema { get }
    /// Builds the rule from checked text arguments, validating cross-parameter constraints.
    init(_ arguments: Arguments) throws
    /// The base learning rate (PyTorch's `lr`), used when a step is given no scheduled rate.
    var learningRate: Double { get }
    /// The weight decay of groups that do not set their own.
    var weightDecay: Double { get }
    /// Every hyperparameter as `key=value`, in schema order (the text form's arguments).
    var textArguments: [ComponentSpec.Argument] { get }
    /// Updates one parameter in place from its gradient, advancing its state (step count and
    /// buffers, under PyTorch's state names).
    func update<S: SimileFloat>(_ parameter: inout Matrix<S>, gradient: Matrix<S>, state: inout ParameterState<S>,
                                learningRate: Double, weightDecay: Double)
}

extension OptimizerRule {
    /// The text form with every hyperparameter, which parses back to the same rule.
    public var description: String { ComponentSpec(name: Self.schema.name, arguments: textArguments).description }

    /// Parses this rule's text form, e.g. `adam(lr=0.01, betas=[0.9, 0.99])`.
    public init(text: String) throws {
        try self.init(Self.schema.resolve(ComponentSpec(text)))
    }

    /// Builds the rule with its defaults and the given `key=value` words (`["lr=0.1", "momentum=0.9"]`).
    public init(_ words: [String]) throws {
        try self.init(Self.schema.resolve(ComponentSpec(name: Self.schema.name,
                                                        arguments: ComponentSpec.arguments(fromCommandLine: words))))
    }
}

/// Element-wise helpers shared by the rules, written in PyTorch's operation order.
enum UpdateMath {
    /// torch.lerp: start + w·(end − start) for |w| < 0.5, else end − (end − start)·(1 − w).
    @inline(__always)
    static func lerp<S: SimileFloat>(_ start: S, _ end: S, _ weight: S, _ oneMinusWeight: S, small: Bool) -> S {
        small ? start + weight * (end - start) : end - (end - start) * oneMinusWeight
    }

    static func argument(_ key: String, _ value: Double) -> ComponentSpec.Argument {
        ComponentSpec.Argument(key: key, value: .word(ParameterValue.format(value)))
    }

    static func argument(_ key: String, _ value: Bool) -> ComponentSpec.Argument {
        ComponentSpec.Argument(key: key, value: .word(value ? "true" : "false"))
    }

    static func argument(_ key: String, _ values: [Double]) -> ComponentSpec.Argument {
        ComponentSpec.Argument(key: key, value: .list(values.map { .word(ParameterValue.format($0)) }))
    }

    /// Takes a buffer out of a state (so it is uniquely referenced while updated), or zeros.
    static func take<S: SimileFloat>(_ name: String, from state: inout ParameterState<S>, like parameter: Matrix<S>)
        -> Matrix<S> {
        state.buffers.removeValue(forKey: name) ?? Matrix(rows: parameter.rows, columns: parameter.columns)
    }
}
