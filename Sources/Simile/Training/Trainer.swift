import Foundation

/// Trains an MLP embedding on tabular data with a pipeline: the full-trainer level of the
/// training API.
///
/// Per batch: sampler rows → standardised features → MLP forward → `Objective` (miners, weighted
/// losses and regularizers) → NaN guard → MLP backward → optimizer step over the model's and the
/// losses' parameters (each loss parameter in its own group, at its learning-rate multiplier;
/// gradient clipping over the model). After each epoch: validation on the held-out rows, the
/// collapse monitor, and an atomic checkpoint. Everything random is keyed by the seed, the epoch
/// and the step, so a run resumed from a checkpoint is bit-identical to one that never stopped.
public final class Trainer {
    public let pipeline: Pipeline
    public let data: PreparedData
    let objective: Objective
    let sampler: any BatchSampler
    let schedule: LearningRateSchedule
    public private(set) var state: TrainingState

    /// What the trainer reports while it runs.
    public enum Event {
        /// After each batch: epoch, batch (1-based), batches in the epoch, running mean loss.
        case batch(epoch: Int, batch: Int, of: Int, loss: Double)
        /// After each epoch, with its record.
        case epoch(EpochRecord)
        /// A line worth logging (policy switches, skipped steps).
        case note(String)
    }

    /// Builds every stage. The model's input size is the data's feature count, and losses that
    /// need `num-classes` get the number of training classes.
    public init(pipeline: Pipeline, data: PreparedData, registry: Registry = .builtin) throws {
        let problems = pipeline.shapeProblems()
        guard problems.isEmpty else {
            throw SimileError.invalidInput("pipeline '\(pipeline.name)': " + problems.joined(separator: "; "))
        }
        self.pipeline = pipeline
        self.data = data
        let settings = pipeline.settings
        let modelSpec = try MLPSpec(pipeline.single(.model)!.spec, inputSize: data.train.featureCount)
        objective = try Objective(pipeline, numClasses: data.train.classCount, embeddingSize: modelSpec.outputSize,
                                  registry: registry)
        sampler = try registry.sampler(ComponentSpec(pipeline.single(.sampler)!.spec))
        schedule = try pipeline.single(.schedule).map { try LearningRateSchedule($0.spec) } ?? .constant

        let model = MLP<Float>(modelSpec, seed: settings.seed)
        let lossParameters = objective.initialParameters(Float.self)
        if let clash = lossParameters.keys.first(where: { model.parameters[$0] != nil }) {
            throw SimileError.invalidInput("loss parameter '\(clash)' has the name of a model parameter; rename its stage")
        }
        var groups = [ParameterGroup(name: "model", parameters: model.parameterNames)]
        for (name, multiplier) in objective.learningRateMultipliers.sorted(by: { $0.key < $1.key }) {
            groups.append(ParameterGroup(name: name, parameters: [name], learningRateMultiplier: multiplier, weightDecay: 0))
        }
        let clipping = try settings.clipNorm.map { try GradientClipping(maxNorm: $0, groups: ["model"]) }
        let optimizer = try Optimizer<Float>(pipeline.single(.optimizer)!.spec, groups: groups, clipping: clipping)
        state = TrainingState(pipeline: pipeline, model: model, optimizer: optimizer, lossParameters: lossParameters,
                              monitor: CollapseMonitor(varianceFloor: settings.collapseVarianceFloor),
                              nanGuard: NaNGuard(limit: settings.maxBadSteps),
                              standardization: data.standardization, split: data.split)
    }

    /// Continues from a saved state (the same pipeline and data; only the number of epochs may
    /// differ, so a finished run can be extended).
    public func restore(_ saved: TrainingState) throws {
        var comparable = saved.pipeline
        comparable.settings.epochs = pipeline.settings.epochs
        guard comparable == pipeline else {
            throw SimileError.invalidInput("the checkpoint was written by another pipeline ('\(saved.pipeline.name)'); resume with the same pipeline, or start afresh without --resume")
        }
        guard saved.standardization == data.standardization, saved.split == data.split else {
            throw SimileError.invalidInput("the checkpoint was written for other data (its standardisation or split differs); resume with the same --data, --test and --seed")
        }
        try objective.restoreMinerStates(saved.minerStates)
        state = saved
        state.pipeline = pipeline
    }

    /// Trains until `pipeline.settings.epochs`, writing a checkpoint after each epoch when
    /// `checkpoint` is given.
    public func run(checkpoint: URL? = nil, events: (Event) -> Void = { _ in }) throws {
        let settings = pipeline.settings
        while state.epoch < settings.epochs {
            let epoch = state.epoch + 1
            let record = try trainEpoch(epoch, events: events)
            state.epoch = epoch
            state.history.append(record)
            state.minerStates = try objective.minerStates()
            if let checkpoint { try AtomicFile.writeJSON(state, to: checkpoint) }
            events(.epoch(record))
        }
    }

    func trainEpoch(_ epoch: Int, events: (Event) -> Void) throws -> EpochRecord {
        let started = DispatchTime.now().uptimeNanoseconds
        let batches = try sampler.batches(data.train.samplerData, epoch: epoch)
        var sum = 0.0, used = 0, skipped = 0, tuples = 0
        var miners = Set<String>()
        var learningRate = 0.0
        for (index, batch) in batches.enumerated() {
            let labels = batch.rows.map { data.train.labels[$0] }
            guard labels.count >= 2, Set(labels).count >= 1 else { continue }
            let x = data.trainRows(batch.rows)
            let pass = try state.model.forward(x, step: state.step)
            let output = try objective(pass.output, labels, epoch: epoch, step: state.step,
                                       parameters: state.lossParameters, negativeWeights: batch.negativeWeights,
                                       suspendHardMining: state.monitor.suspended)
            var gradients = output.parameterGradients
            var finite = output.value.isFinite && output.gradient.firstNonFinite() == nil
            if finite {
                let modelGradients = try state.model.backward(pass, outputGradient: output.gradient, inputGradient: false)
                for (name, gradient) in modelGradients.parameters { gradients[name] = gradient }
                finite = NonFiniteGradient.first(in: gradients) == nil
            }
            let admitted = try state.nanGuard.admit(finite: finite, epoch: epoch, batch: index + 1, what: "loss or gradient")
            if admitted {
                var parameters = state.model.parameters
                for (name, value) in state.lossParameters { parameters[name] = value }
                learningRate = schedule.learningRate(base: state.optimizer.settings.learningRate,
                                                     step: Int(state.step), epoch: epoch - 1)
                try state.optimizer.step(&parameters, gradients: gradients, learningRate: learningRate)
                for name in state.lossParameters.keys { state.lossParameters[name] = parameters[name] }
                for name in state.model.parameterNames { state.model.parameters[name] = parameters[name] }
                sum += output.value
                used += 1
                tuples += output.tuples
                miners.formUnion(output.miners)
            } else {
                skipped += 1
                events(.note("epoch \(epoch), batch \(index + 1): non-finite loss or gradient; step skipped"))
            }
            state.step += 1
            events(.batch(epoch: epoch, batch: index + 1, of: batches.count, loss: used > 0 ? sum / Double(used) : .nan))
        }
        var record = EpochRecord(epoch: epoch, loss: used > 0 ? sum / Double(used) : .nan, batches: used,
                                 skippedSteps: skipped, tuples: tuples, miners: miners.sorted(),
                                 learningRate: learningRate, suspended: state.monitor.suspended)
        if epoch % max(1, pipeline.settings.validateEvery) == 0 || epoch == pipeline.settings.epochs {
            let report = try validate()
            record.validation = report
            let reading = CollapseMonitor.Reading(epoch: epoch, variance: report.meanDimensionVariance ?? 0,
                                                  intraInterRatio: report.intraInterRatioL2 ?? 1,
                                                  rank1: report.precisionAt1 ?? 0)
            if let event = state.monitor.observe(reading) { events(.note(event)) }
        }
        record.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return record
    }

    /// The per-epoch metrics on the held-out rows: the retrieval metrics and the collapse signals.
    public func validate(full: Bool = false) throws -> EvaluationReport {
        let embeddings = try state.model.embed(data.testFeatures)
        var options = EvaluationOptions(seed: pipeline.settings.seed)
        if !full {
            options.metrics = [.precisionAt1, .rPrecision, .mapAtR, .pairDistances, .dimensionVariance]
        }
        return try Evaluation.evaluate(query: embeddings, queryLabels: data.test.labels, options: options)
    }

    /// The same metrics on the standardised raw features: the baseline a trained model must beat.
    public func baseline() throws -> EvaluationReport {
        try Evaluation.evaluate(query: data.testFeatures, queryLabels: data.test.labels,
                                options: EvaluationOptions(seed: pipeline.settings.seed))
    }
}

/// Everything a checkpoint holds: enough to continue bit-identically.
public struct TrainingState: Codable, Sendable {
    public var format = 1
    public var pipeline: Pipeline
    /// Epochs completed.
    public var epoch = 0
    /// Optimizer steps taken (dropout masks and stochastic miners are keyed by it).
    public var step: UInt64 = 0
    public var model: MLP<Float>
    public var optimizer: Optimizer<Float>
    /// The losses' and regularizers' parameters, by `STAGE.PARAMETER`.
    public var lossParameters: [String: Matrix<Float>]
    public var minerStates: [String: [UInt8]] = [:]
    public var monitor: CollapseMonitor
    public var nanGuard: NaNGuard
    public var history: [EpochRecord] = []
    public var standardization: Standardization
    public var split: DataSplit?

    init(pipeline: Pipeline, model: MLP<Float>, optimizer: Optimizer<Float>, lossParameters: [String: Matrix<Float>],
         monitor: CollapseMonitor, nanGuard: NaNGuard, standardization: Standardization, split: DataSplit?) {
        self.pipeline = pipeline
        self.model = model
        self.optimizer = optimizer
        self.lossParameters = lossParameters
        self.monitor = monitor
        self.nanGuard = nanGuard
        self.standardization = standardization
        self.split = split
    }
}

/// One epoch of a run.
public struct EpochRecord: Codable, Sendable {
    public var epoch: Int
    /// Mean objective over the applied steps.
    public var loss: Double
    public var batches: Int
    public var skippedSteps: Int
    public var tuples: Int
    public var miners: [String]
    public var learningRate: Double
    /// Whether hard mining was suspended by the collapse policy during this epoch.
    public var suspended: Bool
    public var validation: EvaluationReport?
    /// Wall-clock seconds (the only field that differs between identical runs).
    public var seconds: Double = 0
}
