import RealModule

/// The base learning rate as a function of a counter t (steps or epochs), in closed form, so
/// that a resumed run needs only the counter. The values are PyTorch's schedulers':
///
/// - `constant`: η.
/// - `linear(start-factor=s, end-factor=e, steps=T)`: η·(s + (e − s)·min(t, T)/T) (`LinearLR`); a
///   warm-up when s < e.
/// - `cosine(steps=T, min-lr=η_min)`: η_min + (η − η_min)·(1 + cos(π·min(t, T)/T))/2
///   (`CosineAnnealingLR`, closed form).
/// - `step(step-size=k, gamma=γ)`: η·γ^⌊t/k⌋ (`StepLR`).
/// - `.sequence([a, b, ...], milestones: [m₁, ...])`: a until m₁, then b counted from 0 at m₁, ...
///   (`SequentialLR`).
///
/// Every text form also takes `warmup=W` (with `warmup-start-factor`): W counts of linear warm-up
/// from warmup-start-factor·η to η, then the schedule counted from 0 — PyTorch's
/// `SequentialLR([LinearLR(start_factor, total_iters=W), schedule], milestones=[W])`. So
/// `cosine(steps=9000, warmup=1000)` warms up for 1000 steps and anneals over the next 9000.
/// `unit` says whether t counts optimizer steps or epochs.
public struct LearningRateSchedule: Sendable, Equatable, Codable, CustomStringConvertible {
    /// What the counter t counts.
    public enum Unit: String, Sendable, Codable, CaseIterable {
        case step, epoch
    }

    /// The shape of the schedule.
    public indirect enum Shape: Sendable, Equatable, Codable {
        case constant
        case linear(startFactor: Double, endFactor: Double, steps: Int)
        case cosine(steps: Int, minimum: Double)
        case step(size: Int, gamma: Double)
        /// `shapes[0]` until `milestones[0]`, then `shapes[1]` with its counter restarted, ...
        case sequence([Shape], milestones: [Int])
    }

    public var shape: Shape
    public var unit: Unit

    public init(_ shape: Shape, unit: Unit = .step) throws {
        self.shape = shape
        self.unit = unit
        try Self.validate(shape)
    }

    /// The base rate unchanged.
    public static let constant = LearningRateSchedule(uncheckedShape: .constant, unit: .step)

    /// W counts of linear warm-up from `startFactor`·η to η, then `then`.
    public static func warmup(_ steps: Int, startFactor: Double = 1.0 / 3, then shape: Shape = .constant,
                              unit: Unit = .step) throws -> LearningRateSchedule {
        try LearningRateSchedule(.sequence([.linear(startFactor: startFactor, endFactor: 1, steps: steps), shape],
                                           milestones: [steps]), unit: unit)
    }

    private init(uncheckedShape: Shape, unit: Unit) {
        shape = uncheckedShape
        self.unit = unit
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(c.decode(Shape.self, forKey: .shape), unit: c.decode(Unit.self, forKey: .unit))
    }

    private enum CodingKeys: String, CodingKey { case shape, unit }

    // MARK: - Values

    /// The learning rate at count t (t ≥ 0; t < 0 reads as 0).
    public func learningRate(base: Double, at t: Int) -> Double {
        Self.value(shape, base: base, at: Swift.max(0, t))
    }

    /// The learning rate for an optimizer step, reading whichever counter `unit` names.
    public func learningRate(base: Double, step: Int, epoch: Int) -> Double {
        learningRate(base: base, at: unit == .step ? step : epoch)
    }

    static func value(_ shape: Shape, base: Double, at t: Int) -> Double {
        switch shape {
        case .constant:
            return base
        case let .linear(start, end, steps):
            return base * (start + (end - start) * Double(Swift.min(t, steps)) / Double(steps))
        case let .cosine(steps, minimum):
            let progress = Double(Swift.min(t, steps)) / Double(steps)
            return minimum + (base - minimum) * (1 + Double.cos(Double.pi * progress)) / 2
        case let .step(size, gamma):
            return base * Double.pow(gamma, Double(t / size))
        case let .sequence(shapes, milestones):
            let index = milestones.firstIndex { t < $0 } ?? milestones.count
            let start = index == 0 ? 0 : milestones[index - 1]
            return value(shapes[index], base: base, at: t - start)
        }
    }

    // MARK: - Text

    /// Parses `constant`, `linear(...)`, `cosine(...)` or `step(...)` (each with optional
    /// `warmup`, `warmup-start-factor` and `unit`).
    public init(_ text: String) throws {
        try self.init(ComponentSpec(text))
    }

    public init(_ spec: ComponentSpec) throws {
        let schema = try SettingsSchema.select(spec, among: Self.schemas, what: "learning-rate schedule")
        let arguments = try schema.resolve(spec)
        var shape: Shape
        switch schema.name {
        case "linear":
            shape = .linear(startFactor: try arguments.double("start-factor"), endFactor: try arguments.double("end-factor"),
                            steps: try arguments.int("steps"))
        case "cosine":
            shape = .cosine(steps: try arguments.int("steps"), minimum: try arguments.double("min-lr"))
        case "step":
            shape = .step(size: try arguments.int("step-size"), gamma: try arguments.double("gamma"))
        default:
            shape = .constant
        }
        let warmup = try arguments.int("warmup")
        if warmup > 0 {
            shape = .sequence([.linear(startFactor: try arguments.double("warmup-start-factor"), endFactor: 1, steps: warmup), shape],
                              milestones: [warmup])
        }
        guard let unit = Unit(rawValue: try arguments.choice("unit")) else {
            throw SimileError.invalidInput("internal error: unknown schedule unit")
        }
        try self.init(shape, unit: unit)
    }

    /// The text form, where there is one (a hand-built `.sequence` other than warm-up-then-shape
    /// prints as `sequence(...)`, which is not parseable).
    public var description: String {
        var warmup: [String] = []
        var main = shape
        if case let .sequence(shapes, milestones) = shape, shapes.count == 2, milestones.count == 1,
           case let .linear(start, 1, steps) = shapes[0], steps == milestones[0] {
            if case .sequence = shapes[1] {} else {
                warmup = ["warmup=\(steps)", "warmup-start-factor=\(ParameterValue.format(start))"]
                main = shapes[1]
            }
        }
        let f = ParameterValue.format
        var name: String
        var arguments: [String]
        switch main {
        case .constant: (name, arguments) = ("constant", [])
        case let .linear(s, e, n): (name, arguments) = ("linear", ["start-factor=\(f(s))", "end-factor=\(f(e))", "steps=\(n)"])
        case let .cosine(n, m): (name, arguments) = ("cosine", ["steps=\(n)", "min-lr=\(f(m))"])
        case let .step(k, g): (name, arguments) = ("step", ["step-size=\(k)", "gamma=\(f(g))"])
        case .sequence: (name, arguments) = ("sequence", ["\(main)"])
        }
        arguments += warmup + ["unit=\(unit.rawValue)"]
        return "\(name)(\(arguments.joined(separator: ", ")))"
    }

    private static func validate(_ shape: Shape) throws {
        func fail(_ name: String, _ parameter: String, _ value: String, _ range: String) -> SimileError {
            .parameterOutOfRange(component: name, parameter: parameter, value: value, range: range)
        }
        switch shape {
        case .constant:
            break
        case let .linear(start, end, steps):
            guard start.isFinite, start >= 0 else { throw fail("linear", "start-factor", "\(start)", "≥ 0") }
            guard end.isFinite, end >= 0 else { throw fail("linear", "end-factor", "\(end)", "≥ 0") }
            guard steps >= 1 else { throw fail("linear", "steps", "\(steps)", "≥ 1") }
        case let .cosine(steps, minimum):
            guard steps >= 1 else { throw fail("cosine", "steps", "\(steps)", "≥ 1") }
            guard minimum.isFinite, minimum >= 0 else { throw fail("cosine", "min-lr", "\(minimum)", "≥ 0") }
        case let .step(size, gamma):
            guard size >= 1 else { throw fail("step", "step-size", "\(size)", "≥ 1") }
            guard gamma.isFinite, gamma >= 0 else { throw fail("step", "gamma", "\(gamma)", "≥ 0") }
        case let .sequence(shapes, milestones):
            guard !shapes.isEmpty, milestones.count == shapes.count - 1 else {
                throw SimileError.invalidInput(
                    "a schedule sequence of \(shapes.count) schedules needs \(Swift.max(0, shapes.count - 1)) milestones, not \(milestones.count)")
            }
            guard zip(milestones, milestones.dropFirst()).allSatisfy({ $0 < $1 }), milestones.allSatisfy({ $0 >= 1 }) else {
                throw SimileError.invalidInput("schedule milestones must be increasing and ≥ 1, not \(milestones)")
            }
            for child in shapes { try validate(child) }
        }
    }

    // MARK: - Schemas

    private static let common: [ParameterSpec] = [
        .int("warmup", 0, range: .atLeast(0), doc: "counts of linear warm-up before the schedule (0 = none)"),
        .double("warmup-start-factor", 1.0 / 3, range: .leftOpen(0, 1),
                doc: "the warm-up starts at this fraction of the base rate (PyTorch LinearLR's default 1/3)"),
        ParameterSpec("unit", .choice(Unit.allCases.map(\.rawValue)), default: .value(.choice("step")),
                      doc: "what the counter counts: optimizer steps or epochs"),
    ]

    /// The text forms' parameters.
    public static let schemas: [SettingsSchema] = [
        SettingsSchema(name: "constant", summary: "The base learning rate throughout (after an optional warm-up).",
                       parameters: common),
        SettingsSchema(
            name: "linear", summary: "Linear change of the rate's factor from start-factor to end-factor over steps counts, then constant (torch LinearLR).",
            parameters: [
                .double("start-factor", 1.0 / 3, range: .atLeast(0), doc: "factor of the base rate at count 0"),
                .double("end-factor", 1, range: .atLeast(0), doc: "factor of the base rate from count `steps` on"),
                .int("steps", 5, range: .atLeast(1), doc: "counts over which the factor changes (PyTorch's total_iters)"),
            ] + common),
        SettingsSchema(
            name: "cosine", summary: "Cosine annealing from the base rate to min-lr over steps counts, then min-lr (torch CosineAnnealingLR).",
            parameters: [
                .int("steps", nil, range: .atLeast(1), doc: "length of the annealing, in counts (PyTorch's T_max)"),
                .double("min-lr", 0, range: .atLeast(0), doc: "the floor (PyTorch's eta_min), scaled with each group's multiplier"),
            ] + common),
        SettingsSchema(
            name: "step", summary: "Multiply the rate by gamma every step-size counts (torch StepLR).",
            parameters: [
                .int("step-size", nil, range: .atLeast(1), doc: "counts between decays"),
                .double("gamma", 0.1, range: .atLeast(0), doc: "factor applied at each decay"),
            ] + common),
    ]
}
