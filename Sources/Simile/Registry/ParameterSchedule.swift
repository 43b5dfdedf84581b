/// A numeric parameter of a component that changes by epoch through phases: from epoch
/// `epochs[k]` on (until the next phase starts) the parameter is `values[k]`.
///
/// It works on component specs, so it applies to any component of any kind: a trainer keeps the
/// spec as written and, when `startsPhase(atEpoch:)` says so, rebuilds the component from
/// `applied(to:epoch:)`. `curriculum` does the same for a miner.
///
/// ```swift
/// let beta = try ParameterSchedule(parameter: "beta", values: [1.0, 1.2, 1.4], epochs: [1, 11, 21])
/// try beta.validate(.loss, spec, registry: .builtin)          // every phase builds
/// let loss = try Registry.builtin.loss(beta.applied(to: spec, epoch: epoch))
/// ```
///
/// Before the first phase's epoch (and at epoch 0, outside training) the first value applies.
public struct ParameterSchedule: Sendable, Equatable, Codable {
    /// One phase: from `epoch` on, the parameter is `value`.
    public struct Phase: Sendable, Equatable, Codable {
        public var epoch: Int
        public var value: Double
        public init(epoch: Int, value: Double) {
            self.epoch = epoch
            self.value = value
        }
    }

    /// The parameter's name (kebab-case, as in the component's descriptor).
    public let parameter: String
    /// The phases, in increasing epoch order.
    public let phases: [Phase]

    /// - Throws: when the lists are empty or differ in length, the epochs are not strictly
    ///   increasing whole numbers ≥ 0, or a value is not finite.
    public init(parameter: String, values: [Double], epochs: [Int]) throws {
        guard !values.isEmpty else {
            throw SimileError.invalidInput("schedule of '\(parameter)': give at least one value (values=[...]) and the epoch it starts at (epochs=[...])")
        }
        guard values.count == epochs.count else {
            throw SimileError.incompatible(
                "schedule of '\(parameter)': \(values.count) values but \(epochs.count) epochs; give one starting epoch per value")
        }
        if let bad = values.first(where: { !$0.isFinite }) {
            throw SimileError.invalidInput("schedule of '\(parameter)': value \(bad) is not finite")
        }
        if let first = epochs.first, first < 0 {
            throw SimileError.invalidInput("schedule of '\(parameter)': epoch \(first) is negative; epochs count from 1")
        }
        for k in 1..<max(epochs.count, 1) where epochs[k] <= epochs[k - 1] {
            throw SimileError.invalidInput(
                "schedule of '\(parameter)': epochs must increase strictly, but epoch \(epochs[k]) follows \(epochs[k - 1])")
        }
        self.parameter = parameter
        phases = zip(epochs, values).map { Phase(epoch: $0, value: $1) }
    }

    /// The same from a list of epochs written as numbers (a `doubles` parameter); each must be a
    /// whole number.
    public init(parameter: String, values: [Double], epochs: [Double]) throws {
        var whole: [Int] = []
        for epoch in epochs {
            guard epoch.isFinite, epoch == epoch.rounded(), abs(epoch) < 1e9 else {
                throw SimileError.invalidInput("schedule of '\(parameter)': epoch \(epoch) is not a whole number; write epochs=[1, 6, 11]")
            }
            whole.append(Int(epoch))
        }
        try self.init(parameter: parameter, values: values, epochs: whole)
    }

    /// The phase in force at an epoch: the last one that has started, or the first one before any has.
    public func phase(atEpoch epoch: Int) -> Int {
        var current = 0
        for (k, phase) in phases.enumerated() where phase.epoch <= epoch { current = k }
        return current
    }

    /// The parameter's value at an epoch.
    public func value(atEpoch epoch: Int) -> Double { phases[phase(atEpoch: epoch)].value }

    /// Whether a new phase starts at this epoch (after the first), i.e. the component must be rebuilt.
    public func startsPhase(atEpoch epoch: Int) -> Bool {
        phases.dropFirst().contains { $0.epoch == epoch }
    }

    /// The spec with the parameter set to phase k's value (replacing the value written there, if any).
    public func applied(to spec: ComponentSpec, phase k: Int) -> ComponentSpec {
        var result = spec
        let value = ComponentSpec.RawValue.word(ParameterValue.format(phases[k].value))
        if let index = result.arguments.firstIndex(where: { $0.key == parameter }) {
            result.arguments[index].value = value
        } else {
            result.arguments.append(ComponentSpec.Argument(key: parameter, value: value))
        }
        return result
    }

    /// The spec with the parameter set to its value at an epoch.
    public func applied(to spec: ComponentSpec, epoch: Int) -> ComponentSpec {
        applied(to: spec, phase: phase(atEpoch: epoch))
    }

    /// Several schedules (of different parameters) applied to one spec.
    public static func applied(_ schedules: [ParameterSchedule], to spec: ComponentSpec, epoch: Int) -> ComponentSpec {
        schedules.reduce(spec) { $1.applied(to: $0, epoch: epoch) }
    }

    /// Checks that the component has this numeric parameter and that every phase builds (the
    /// value's type and range, and the component's own checks across parameters), so that a bad
    /// schedule fails before training, not at epoch 11.
    public func validate(_ kind: ComponentKind, _ spec: ComponentSpec, registry: Registry) throws {
        let descriptor = try registry.descriptor(kind, spec.name)
        guard let declared = descriptor.parameter(named: parameter) else {
            let names = descriptor.parameters.map(\.name)
            throw SimileError.unknownParameter(component: descriptor.name, parameter: parameter,
                                               suggestion: Suggestions.closest(to: parameter, among: names), valid: names)
        }
        switch declared.type {
        case .int, .double, .intOrChoice: break
        default:
            throw SimileError.invalidInput(
                "schedule of '\(parameter)': '\(descriptor.name)' parameter '\(parameter)' is a \(declared.type), not a number; only numeric parameters can be scheduled")
        }
        for k in phases.indices {
            let phase = applied(to: spec, phase: k)
            switch kind {
            case .loss: _ = try registry.loss(phase)
            case .miner: _ = try registry.miner(phase)
            case .sampler: _ = try registry.sampler(phase)
            case .regularizer: _ = try registry.regularizer(phase)
            case .distance: _ = try registry.distance(phase)
            case .reducer: _ = try registry.reducer(phase)
            }
        }
    }
}
