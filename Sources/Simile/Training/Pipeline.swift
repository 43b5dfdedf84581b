/// A training pipeline: named stages composed in order, like SwiftNIO's channel handlers.
///
/// A batch flows sampler → model → miners → weighted losses and regularizers → optimizer step.
/// Each stage names one component in Simile's spec syntax (`multi-similarity(alpha=2)`), so a
/// pipeline is plain data: Codable as JSON for research code, and (in the shell) a script.
///
/// **Phases.** A stage with `epochs` is active only in those epochs, which is how the mining
/// schedule and margin schedules are written: `batch-all` in 1-5, `distance-weighted` and
/// `semi-hard` in 6-20, then a harder rule. Miners active in the same epoch are combined: their
/// tuples are joined. A loss stage uses the active miners' tuples when it can take tuples and
/// `mined` is not false; otherwise it sees every pair.
public struct Pipeline: Codable, Sendable, Equatable {
    public var name: String
    public var stages: [Stage]
    public var settings: TrainingSettings

    public init(name: String, stages: [Stage], settings: TrainingSettings = TrainingSettings()) {
        self.name = name
        self.stages = stages
        self.settings = settings
    }

    /// The stages of a role, in order.
    public func stages(_ role: Stage.Role) -> [Stage] { stages.filter { $0.role == role } }

    /// The stages of a role active in an epoch, in order.
    public func stages(_ role: Stage.Role, epoch: Int) -> [Stage] {
        stages.filter { $0.role == role && ($0.epochs?.contains(epoch) ?? true) }
    }

    /// The one stage of a role (sampler, model, optimizer): nil when absent.
    public func single(_ role: Stage.Role) -> Stage? { stages.first { $0.role == role } }

    /// The stage with a name.
    public func stage(named name: String) -> Stage? { stages.first { $0.name == name } }

    /// The miner phases in order of their first epoch: what the collapse policy falls back along.
    public var minerPhases: [EpochRange?] {
        var seen: [EpochRange?] = []
        for stage in stages(.miner) where !seen.contains(stage.epochs) { seen.append(stage.epochs) }
        return seen.sorted { ($0?.first ?? 0) < ($1?.first ?? 0) }
    }

    /// Problems with the pipeline's shape (not yet with its components' parameters), all of them.
    public func shapeProblems() -> [String] {
        var problems: [String] = []
        var names = Set<String>()
        for stage in stages {
            if !names.insert(stage.name).inserted { problems.append("two stages are named '\(stage.name)'; stage names must be unique") }
            if (stage.role == .loss || stage.role == .regularizer), let weight = stage.weight, !(weight.isFinite && weight >= 0) {
                problems.append("stage '\(stage.name)' has weight \(weight); use a finite weight ≥ 0")
            }
            if stage.role != .loss && stage.role != .regularizer && stage.weight != nil {
                problems.append("stage '\(stage.name)' is a \(stage.role.rawValue) and cannot have a weight")
            }
            if stage.role == .regularizer, let target = stage.target, target != "embeddings" {
                let parts = target.split(separator: ".", maxSplits: 1).map(String.init)
                if parts.count != 2 || self.stage(named: parts[0])?.role != .loss {
                    problems.append("regularizer '\(stage.name)' targets '\(target)'; write 'embeddings' or LOSS-STAGE.PARAMETER (e.g. main.proxies)")
                }
            }
        }
        for role in [Stage.Role.sampler, .model, .optimizer] {
            let count = stages(role).count
            if count == 0 { problems.append("the pipeline has no \(role.rawValue) stage") }
            if count > 1 && role != .optimizer { problems.append("the pipeline has \(count) \(role.rawValue) stages; it takes one") }
        }
        if stages(.schedule).count > 1 { problems.append("the pipeline has \(stages(.schedule).count) schedules; it takes one") }
        if stages(.loss).isEmpty { problems.append("the pipeline has no loss stage") }
        if settings.epochs < 1 { problems.append("epochs is \(settings.epochs); train for at least 1") }
        return problems
    }
}

/// One named stage of a pipeline.
public struct Stage: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable, CaseIterable {
        case sampler, model, miner, loss, regularizer, optimizer, schedule
    }

    /// Unique within the pipeline, e.g. `main` or `angular`.
    public var name: String
    public var role: Role
    /// The component in spec syntax, e.g. `multi-similarity(alpha=2, beta=50)`.
    public var spec: String
    /// Losses and regularizers: the term's weight (default 1).
    public var weight: Double?
    /// When the stage is active; nil means every epoch.
    public var epochs: EpochRange?
    /// Regularizers: `embeddings` (default) or `LOSS-STAGE.PARAMETER`, e.g. `main.proxies`.
    public var target: String?
    /// Losses: whether to use the active miners' tuples (default true).
    public var mined: Bool?

    public init(_ name: String, _ role: Role, _ spec: String, weight: Double? = nil, epochs: String? = nil,
                target: String? = nil, mined: Bool? = nil) throws {
        self.name = name
        self.role = role
        self.spec = spec
        self.weight = weight
        self.epochs = try epochs.map(EpochRange.init)
        self.target = target
        self.mined = mined
    }
}

/// Settings of a training run that are not components.
public struct TrainingSettings: Codable, Sendable, Equatable {
    public var epochs: Int = 20
    public var seed: UInt64 = 0
    /// Clip the global gradient norm of the model's parameters to this; nil for no clipping.
    public var clipNorm: Double?
    /// How the data is split: `subject` (unseen patients, the default) or `exam` (enrolment).
    public var split: String = "subject"
    /// Fraction of subjects (or exams) held out for evaluation.
    public var testFraction: Double = 0.25
    /// Validate every this many epochs (1: every epoch).
    public var validateEvery: Int = 1
    /// The collapse policy: when the mean per-dimension variance of the validation embeddings
    /// falls below this, hard mining is suspended; nil turns the policy off.
    public var collapseVarianceFloor: Double? = nil
    /// A run stops after this many non-finite steps in a row.
    public var maxBadSteps: Int = 3

    public init() {}
}
