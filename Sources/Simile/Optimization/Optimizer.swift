/// Updates named parameters from their gradients: an algorithm (`OptimizerSettings`: SGD,
/// Adam, AdamW, RMSprop, with PyTorch's formulas and defaults), parameter groups with their own
/// learning-rate multiplier and weight decay, optional gradient clipping, and the state
/// (moments, step counts) that makes the next step depend on the previous ones.
///
/// ```swift
/// var optimizer = try Optimizer<Float>(
///     OptimizerSettings("adamw(lr=1e-3, weight-decay=0.05)"),
///     groups: [ParameterGroup(name: "model", parameters: model.parameterNames),
///              ParameterGroup(name: "proxies", parameters: ["loss.proxies"], learningRateMultiplier: 100, weightDecay: 0)],
///     clipping: GradientClipping(maxNorm: 1, groups: ["model"]))
/// let schedule = try LearningRateSchedule("cosine(steps=10000, warmup=500, min-lr=1e-6)")
/// ...
/// if let bad = NonFiniteGradient.first(in: gradients) { skip the step }
/// try optimizer.step(&parameters, gradients: gradients,
///                    learningRate: schedule.learningRate(base: optimizer.settings.learningRate, at: optimizer.state.steps))
/// ```
///
/// A step is all or nothing: every check (names, shapes, finite gradients) runs before the
/// first parameter changes. Groups are updated in order, and each group's parameters in the
/// order it lists them, so results are deterministic. The whole optimizer, state included, is
/// Codable, bit-exactly.
public struct Optimizer<S: SimileFloat>: Sendable, Equatable, Codable {
    public let settings: OptimizerSettings
    public let groups: [ParameterGroup]
    public let clipping: GradientClipping?
    public private(set) var state: OptimizerState<S>

    /// - Throws: when a group name repeats, a parameter is in two groups, a multiplier or weight
    ///   decay is negative or not finite, or clipping names a group that does not exist.
    public init(_ settings: OptimizerSettings, groups: [ParameterGroup], clipping: GradientClipping? = nil) throws {
        self.settings = settings
        self.groups = groups
        self.clipping = clipping
        state = OptimizerState()
        try validate()
    }

    /// An optimizer from text (`adam(lr=0.01)`), with the same groups and clipping.
    public init(_ text: String, groups: [ParameterGroup], clipping: GradientClipping? = nil) throws {
        try self.init(OptimizerSettings(text), groups: groups, clipping: clipping)
    }

    /// Continues from a saved state (which must name only parameters of these groups).
    public init(_ settings: OptimizerSettings, groups: [ParameterGroup], clipping: GradientClipping?,
                state: OptimizerState<S>) throws {
        try self.init(settings, groups: groups, clipping: clipping)
        guard state.steps >= 0 else { throw SimileError.invalidInput("the optimizer state has a negative step count (\(state.steps))") }
        let known = Set(groups.flatMap(\.parameters))
        if let stray = state.parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw SimileError.invalidInput(
                "the optimizer state has an entry for '\(stray)', which no parameter group lists; add it to a group or drop it from the state")
        }
        self.state = state
    }

    private enum CodingKeys: String, CodingKey { case settings, groups, clipping, state }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(c.decode(OptimizerSettings.self, forKey: .settings), groups: c.decode([ParameterGroup].self, forKey: .groups),
                      clipping: c.decodeIfPresent(GradientClipping.self, forKey: .clipping),
                      state: c.decode(OptimizerState<S>.self, forKey: .state))
    }

    /// The group a parameter belongs to.
    public func group(of parameter: String) -> ParameterGroup? {
        groups.first { $0.parameters.contains(parameter) }
    }

    /// Forgets all state (moments, step counts), as a fresh optimizer.
    public mutating func reset() {
        state = OptimizerState()
    }

    /// One update of every parameter that has a gradient and is in a non-frozen group.
    ///
    /// - Parameters:
    ///   - parameters: the values, updated in place. Parameters without a gradient are left
    ///     alone and their state does not advance (as PyTorch skips a parameter whose grad is None).
    ///   - gradients: dL/d(parameter) by name; every name must be in a group and in `parameters`,
    ///     with the parameter's shape, and finite (check first with `NonFiniteGradient.first(in:)`
    ///     to skip a bad step instead of catching the error).
    ///   - learningRate: the base rate of this step (from a schedule); nil uses the settings' `lr`.
    /// - Returns: the learning rates used, the gradient norm and the clipping factor.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    @discardableResult
    public mutating func step(_ parameters: inout [String: Matrix<S>], gradients: [String: Matrix<S>],
                              learningRate: Double? = nil) throws -> StepReport {
        let base = learningRate ?? settings.learningRate
        guard base.isFinite, base >= 0 else {
            throw SimileError.invalidInput("the learning rate of a step must be finite and ≥ 0, not \(base)")
        }
        // Every check before the first change.
        var groupOf: [String: Int] = [:]
        for (index, group) in groups.enumerated() {
            for name in group.parameters { groupOf[name] = index }
        }
        for name in gradients.keys.sorted() {
            guard let index = groupOf[name] else {
                throw SimileError.invalidInput(
                    "there is a gradient for '\(name)' but no parameter group lists it; add '\(name)' to a group (with learning-rate multiplier 0 to freeze it)")
            }
            let gradient = gradients[name]!
            guard let value = parameters[name] else {
                throw SimileError.invalidInput("there is a gradient for '\(name)' but no parameter of that name was passed to step")
            }
            guard value.rows == gradient.rows, value.columns == gradient.columns else {
                throw SimileError.shapeMismatch(
                    "the gradient of '\(name)' is \(gradient.rows)×\(gradient.columns) but the parameter is \(value.rows)×\(value.columns)")
            }
            if groups[index].isFrozen { continue }
            if let bad = gradient.firstNonFinite() {
                throw SimileError.nonFinite(input: "the gradient of '\(name)'", row: bad.row, column: bad.column,
                                            value: Double(bad.value))
            }
        }

        // The global norm, and clipping.
        let clipped: Set<String> = {
            guard let clipping else { return [] }
            return Set(clipping.groups.isEmpty ? groups.filter { !$0.isFrozen }.map(\.name) : clipping.groups)
        }()
        var sumOfSquares = 0.0
        for group in groups where !group.isFrozen && (clipping == nil || clipped.contains(group.name)) {
            for name in group.parameters {
                guard let gradient = gradients[name] else { continue }
                sumOfSquares += Self.sumOfSquares(gradient)
            }
        }
        let norm = sumOfSquares.squareRoot()
        var coefficient = 1.0
        if let clipping {
            coefficient = Swift.min(1, clipping.maxNorm / (norm + GradientClipping.epsilon))
        }

        // The updates.
        var rates: [String: Double] = [:]
        var updated = 0
        for group in groups {
            let rate = base * group.learningRateMultiplier
            rates[group.name] = rate
            if group.isFrozen { continue }
            let decay = group.weightDecay ?? settings.weightDecay
            let scale = clipped.contains(group.name) && coefficient < 1 ? coefficient : nil
            for name in group.parameters {
                guard var gradient = gradients[name], var value = parameters.removeValue(forKey: name) else { continue }
                if let scale { gradient = Self.scaled(gradient, by: S(scale)) }
                var parameterState = state.parameters.removeValue(forKey: name) ?? ParameterState()
                settings.update(&value, gradient: gradient, state: &parameterState, learningRate: rate, weightDecay: decay)
                state.parameters[name] = parameterState
                parameters[name] = value
                updated += 1
            }
        }
        state.steps += 1
        return StepReport(learningRate: base, groupLearningRates: rates, gradientNorm: norm,
                          clipCoefficient: coefficient, updatedParameters: updated)
    }

    /// The global L2 norm of the given gradients over the named groups (every group when nil),
    /// without changing anything.
    public func gradientNorm(_ gradients: [String: Matrix<S>], groups names: [String]? = nil) -> Double {
        var sum = 0.0
        for group in groups where names?.contains(group.name) ?? true {
            for name in group.parameters {
                if let gradient = gradients[name] { sum += Self.sumOfSquares(gradient) }
            }
        }
        return sum.squareRoot()
    }

    private static func sumOfSquares(_ matrix: Matrix<S>) -> Double {
        matrix.elements.withUnsafeBufferPointer { buffer in
            var sum = 0.0
            for value in buffer {
                let x = Double(value)
                sum += x * x
            }
            return sum
        }
    }

    private static func scaled(_ matrix: Matrix<S>, by factor: S) -> Matrix<S> {
        var result = matrix
        result.elements.withUnsafeMutableBufferPointer { buffer in
            for k in buffer.indices { buffer[k] *= factor }
        }
        return result
    }

    private func validate() throws {
        var names = Set<String>()
        var owner: [String: String] = [:]
        for group in groups {
            guard !group.name.isEmpty else { throw SimileError.invalidInput("a parameter group needs a name") }
            guard names.insert(group.name).inserted else {
                throw SimileError.invalidInput("two parameter groups are named '\(group.name)'; give each group its own name")
            }
            guard group.learningRateMultiplier.isFinite, group.learningRateMultiplier >= 0 else {
                throw SimileError.parameterOutOfRange(component: "parameter group '\(group.name)'", parameter: "learning-rate multiplier",
                                                      value: "\(group.learningRateMultiplier)", range: "≥ 0 (0 freezes the group)")
            }
            if let decay = group.weightDecay, !(decay.isFinite && decay >= 0) {
                throw SimileError.parameterOutOfRange(component: "parameter group '\(group.name)'", parameter: "weight decay",
                                                      value: "\(decay)", range: "≥ 0")
            }
            var seen = Set<String>()
            for parameter in group.parameters {
                guard seen.insert(parameter).inserted else {
                    throw SimileError.invalidInput("parameter group '\(group.name)' lists '\(parameter)' twice")
                }
                if let other = owner[parameter] {
                    throw SimileError.invalidInput(
                        "parameter '\(parameter)' is in both group '\(other)' and group '\(group.name)'; each parameter belongs to one group")
                }
                owner[parameter] = group.name
            }
        }
        if let clipping {
            for name in clipping.groups where !names.contains(name) {
                let suggestion = Suggestions.closest(to: name, among: Array(names)).map { "; did you mean '\($0)'?" } ?? ""
                throw SimileError.invalidInput(
                    "gradient clipping names group '\(name)', which does not exist\(suggestion) (groups: \(groups.map(\.name).joined(separator: ", ")))")
            }
        }
    }
}
