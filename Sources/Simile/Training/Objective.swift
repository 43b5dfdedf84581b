/// What a pipeline optimises for one batch of embeddings: the active miners, the weighted losses
/// and the weighted regularizers of its stages. This is the research-code level of the training
/// API: give it your model's embeddings, get the loss and dL/dE back, and backpropagate through
/// your own model.
///
/// ```swift
/// let objective = try Objective(pipeline, numClasses: 100, embeddingSize: 32)
/// var parameters = objective.initialParameters()          // proxies, centers, ... by "stage.name"
/// let out = try objective(embeddings, labels, epoch: 1, step: 0, parameters: parameters)
/// // out.gradient is dL/dE; out.parameterGradients update `parameters` (learningRateMultipliers)
/// ```
///
/// Per batch:
/// 1. The miners active in the epoch each mine the batch; their tuples are joined (all triplets
///    stay triplets; otherwise everything becomes pairs). No active miner means every pair. A
///    lone band miner (`triplet-margin`, `semi-hard`) feeding band-capable losses is fused with
///    them instead: the losses apply its band and no triplet is listed (same result, see
///    `TripletBand`).
/// 2. Rows whose negative weight is 0 (a sampler's poor-quality rows) take part only in positive
///    relations: negative pairs and triplets that involve them are dropped.
/// 3. Each active loss stage computes on the mined tuples when it can take tuples and `mined` is
///    not false, else on every pair; regularizer stages that target `LOSS.PARAMETER` are composed
///    into that loss (`RegularizedLoss`), those on `embeddings` run on the batch.
/// 4. value = Σ wₗ·Lₗ + Σ wᵣ·Rᵣ, and the gradients add up likewise.
///
/// Trainable parameters are named `STAGE.PARAMETER` (e.g. `main.proxies`, `center.centers`).
public struct Objective: Sendable {
    struct LossTerm: Sendable {
        let stage: Stage
        let weight: Double
        let mined: Bool
        let loss: RegularizedLoss
    }

    struct RegularizerTerm: Sendable {
        let stage: Stage
        let weight: Double
        let regularizer: any Regularizer
    }

    struct MinerTerm: Sendable {
        let stage: Stage
        let miner: any Miner
    }

    let losses: [LossTerm]
    let regularizers: [RegularizerTerm]
    let miners: [MinerTerm]
    /// The mining phases in order (for the collapse policy's fallback).
    let phases: [EpochRange?]

    /// Builds every loss, regularizer and miner stage of the pipeline. Specs that declare
    /// `num-classes` or `embedding-size` and leave them out get them from the data, so a preset
    /// adapts to the data it is given.
    public init(_ pipeline: Pipeline, numClasses: Int, embeddingSize: Int, registry: Registry = .builtin) throws {
        func adapted(_ kind: ComponentKind, _ text: String) throws -> ComponentSpec {
            var spec = try ComponentSpec(text)
            let descriptor = try registry.descriptor(kind, spec.name)
            for (key, value) in [("num-classes", numClasses), ("embedding-size", embeddingSize)]
            where descriptor.parameter(named: key) != nil && !spec.arguments.contains(where: { $0.key == key }) {
                spec.arguments.append(.init(key: key, value: .word(String(value))))
            }
            return spec
        }
        func context(_ stage: Stage, _ error: Error) -> Error {
            guard let error = error as? SimileError else { return error }
            return SimileError.invalidInput("stage '\(stage.name)' (\(stage.spec)): \(error)")
        }

        var regularizerTerms: [RegularizerTerm] = []
        var attached: [String: [RegularizedLoss.Term]] = [:]
        for stage in pipeline.stages(.regularizer) {
            do {
                let regularizer = try registry.regularizer(adapted(.regularizer, stage.spec))
                let weight = stage.weight ?? type(of: regularizer).defaultWeight
                if let target = stage.target, target != "embeddings" {
                    let parts = target.split(separator: ".", maxSplits: 1).map(String.init)
                    guard parts.count == 2, pipeline.stage(named: parts[0])?.role == .loss else {
                        throw SimileError.invalidInput("target '\(target)' is not LOSS-STAGE.PARAMETER (e.g. main.proxies) or embeddings")
                    }
                    guard stage.epochs == nil else {
                        throw SimileError.invalidInput("a regularizer on a loss's parameter is active whenever its loss is; drop its epochs")
                    }
                    attached[parts[0], default: []].append(.init(regularizer, weight: weight, target: .parameter(parts[1])))
                } else {
                    guard regularizer.applies(to: .embeddings) else {
                        throw SimileError.incompatible("'\(regularizer.name)' applies to a loss's parameters; give it a target such as main.proxies")
                    }
                    regularizerTerms.append(RegularizerTerm(stage: stage, weight: weight, regularizer: regularizer))
                }
            } catch {
                throw context(stage, error)
            }
        }
        var lossTerms: [LossTerm] = []
        for stage in pipeline.stages(.loss) {
            do {
                let loss = try registry.loss(adapted(.loss, stage.spec))
                let composed = try RegularizedLoss(loss, attached[stage.name] ?? [])
                lossTerms.append(LossTerm(stage: stage, weight: stage.weight ?? 1,
                                          mined: (stage.mined ?? true) && loss is any TupleCapable, loss: composed))
            } catch {
                throw context(stage, error)
            }
        }
        var minerTerms: [MinerTerm] = []
        for stage in pipeline.stages(.miner) {
            do {
                minerTerms.append(MinerTerm(stage: stage, miner: try registry.miner(adapted(.miner, stage.spec))))
            } catch {
                throw context(stage, error)
            }
        }
        losses = lossTerms
        regularizers = regularizerTerms
        miners = minerTerms
        phases = pipeline.minerPhases
    }

    /// Every trainable parameter's initial value, named `STAGE.PARAMETER`.
    public func initialParameters<S: SimileFloat>(_ type: S.Type = S.self) -> [String: Matrix<S>] {
        var result: [String: Matrix<S>] = [:]
        for term in losses {
            for (name, value) in term.loss.initialParameters() { result["\(term.stage.name).\(name)"] = value.converted() }
        }
        for term in regularizers {
            guard let trainable = term.regularizer as? any TrainableRegularizer else { continue }
            for (name, value) in trainable.initialParameters() { result["\(term.stage.name).\(name)"] = value.converted() }
        }
        return result
    }

    /// Each trainable parameter's learning rate ÷ the model's (0: frozen), by the same names.
    public var learningRateMultipliers: [String: Double] {
        var result: [String: Double] = [:]
        for term in losses {
            for (name, value) in term.loss.learningRateMultipliers { result["\(term.stage.name).\(name)"] = value }
        }
        for term in regularizers {
            guard let trainable = term.regularizer as? any TrainableRegularizer else { continue }
            for name in trainable.initialParameters().keys {
                result["\(term.stage.name).\(name)"] = trainable.learningRateMultiplier
            }
        }
        return result
    }

    /// The saved state of every stateful miner, by stage name (for checkpoints).
    public func minerStates() throws -> [String: [UInt8]] {
        var states: [String: [UInt8]] = [:]
        for term in miners {
            if let stateful = term.miner as? any StatefulMiner { states[term.stage.name] = try stateful.state() }
        }
        return states
    }

    /// Restores the stateful miners from `minerStates()`; stages missing from `states` are reset.
    public func restoreMinerStates(_ states: [String: [UInt8]]) throws {
        for term in miners {
            guard let stateful = term.miner as? any StatefulMiner else { continue }
            if let state = states[term.stage.name] { try stateful.restore(state) } else { stateful.reset() }
        }
    }

    /// The miner stages used in an epoch. With `suspendHardMining`, the phase before the epoch's
    /// phase is used instead (the collapse policy's fallback); the first phase has none before it.
    public func activeMiners(epoch: Int, suspendHardMining: Bool = false) -> [Stage] {
        let current = miners.filter { $0.stage.epochs?.contains(epoch) ?? true }.map(\.stage)
        guard suspendHardMining, let phase = current.first?.epochs,
              let index = phases.firstIndex(of: phase), index > 0 else { return current }
        let previous = phases[index - 1]
        return miners.filter { $0.stage.epochs == previous }.map(\.stage)
    }

    /// Computes the objective on one batch.
    ///
    /// - Parameters:
    ///   - negativeWeights: per row, 0 keeps the row out of negative relations (nil: none excluded).
    ///   - context: passed to the miners (item ids, proxies); its epoch and step are set from
    ///     `epoch` and `step`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: [Int], epoch: Int, step: UInt64, parameters: [String: Matrix<S>],
        negativeWeights: [Double]? = nil, suspendHardMining: Bool = false, context: MiningContext = MiningContext()
    ) throws -> ObjectiveOutput<S> {
        if let negativeWeights, negativeWeights.count != labels.count {
            throw SimileError.shapeMismatch("\(negativeWeights.count) negative weights for a batch of \(labels.count)")
        }
        var context = context
        context.epoch = epoch
        context.step = step
        let active = Set(activeMiners(epoch: epoch, suspendHardMining: suspendHardMining).map(\.name))
        let activeLosses = losses.filter { $0.stage.epochs?.contains(epoch) ?? true }
        let excluded = negativeWeights.map { weights in Set(weights.indices.filter { weights[$0] <= 0 }) } ?? []
        let band = Self.fusableBand(miners.filter { active.contains($0.stage.name) }, activeLosses,
                                    excluded: excluded, context: context)
        var mined: [Tuples] = []
        if band == nil {
            for term in miners where active.contains(term.stage.name) {
                mined.append(try term.miner.mine(MinerInput(embeddings: embeddings, labels: labels, context: context)))
            }
        }
        let tuples = Self.join(mined, excluding: excluded, labels: labels)

        var output = ObjectiveOutput<S>(gradient: Matrix(rows: embeddings.rows, columns: embeddings.columns))
        output.miners = active.isEmpty ? [] : Array(active).sorted()
        output.tuples = tuples.map(Self.count) ?? 0
        for term in activeLosses {
            var own: [String: Matrix<S>] = [:]
            let prefix = term.stage.name + "."
            for (key, value) in parameters where key.hasPrefix(prefix) { own[String(key.dropFirst(prefix.count))] = value }
            var useTuples = term.mined ? tuples : nil
            if useTuples == nil, !excluded.isEmpty, term.loss.loss is any TupleCapable {
                useTuples = Self.allPairs(labels, excluding: excluded)
            }
            let result: LossOutput<S>
            if let band, term.mined {
                result = try term.loss(embeddings, labels, tripletsIn: band, parameters: own, step: step)
                output.tuples = Int(result.stats["triplets"] ?? 0)
            } else {
                result = try term.loss(embeddings, labels, tuples: useTuples, parameters: own, step: step)
            }
            output.add(result.value, weight: term.weight, name: term.stage.name)
            output.gradient.addScaled(result.gradient, term.weight)
            for (name, gradient) in result.parameterGradients {
                output.parameterGradients[prefix + name] = gradient.scaled(term.weight)
            }
        }
        for term in regularizers where term.stage.epochs?.contains(epoch) ?? true {
            var own: [String: Matrix<S>] = [:]
            let prefix = term.stage.name + "."
            for (key, value) in parameters where key.hasPrefix(prefix) { own[String(key.dropFirst(prefix.count))] = value }
            let result = try term.regularizer(embeddings, labels: labels, parameters: own)
            output.add(result.value, weight: term.weight, name: term.stage.name)
            output.gradient.addScaled(result.gradient, term.weight)
            for (name, gradient) in result.parameterGradients {
                output.parameterGradients[prefix + name] = gradient.scaled(term.weight)
            }
        }
        return output
    }

    /// The band of the one active miner when every loss that learns from mined tuples can apply
    /// it while streaming triplets (`TripletBandCapable`): those losses then take the band and
    /// the triplets are never listed, with the same result. Nil when the tuples must be listed:
    /// several miners, a miner that is not a band, excluded rows or item ids, or a loss stage that
    /// needs the list.
    static func fusableBand(_ miners: [MinerTerm], _ losses: [LossTerm], excluded: Set<Int>,
                            context: MiningContext) -> TripletBand? {
        guard miners.count == 1, excluded.isEmpty, context.referenceItems == nil,
              let miner = miners[0].miner as? any TripletBandMiner else { return nil }
        let mined = losses.filter(\.mined)
        guard !mined.isEmpty, mined.allSatisfy({ $0.loss.loss is any TripletBandCapable }) else { return nil }
        return miner.tripletBand
    }

    /// Joins the miners' tuples; drops negative relations that involve an excluded row.
    static func join(_ mined: [Tuples], excluding excluded: Set<Int>, labels: [Int]) -> Tuples? {
        guard !mined.isEmpty else {
            return nil
        }
        let allTriplets = mined.allSatisfy { if case .triplets = $0 { true } else { false } }
        if allTriplets {
            var triplets: [Triplet] = []
            for case let .triplets(list) in mined { triplets += list }
            if !excluded.isEmpty {
                triplets.removeAll { excluded.contains($0.anchor) || excluded.contains($0.negative) }
            }
            return .triplets(triplets)
        }
        var positive: [IndexPair] = [], negative: [IndexPair] = []
        for tuples in mined {
            let pairs = tuples.asPairs
            positive += pairs.positive
            negative += pairs.negative
        }
        if !excluded.isEmpty {
            negative.removeAll { excluded.contains($0.anchor) || excluded.contains($0.other) }
        }
        return .pairs(positive: positive, negative: negative)
    }

    /// Every pair of the batch, without negative pairs that involve an excluded row.
    static func allPairs(_ labels: [Int], excluding excluded: Set<Int>) -> Tuples {
        var positive: [IndexPair] = [], negative: [IndexPair] = []
        for a in labels.indices {
            for b in labels.indices where a != b {
                if labels[a] == labels[b] {
                    positive.append(IndexPair(a, b))
                } else if !excluded.contains(a) && !excluded.contains(b) {
                    negative.append(IndexPair(a, b))
                }
            }
        }
        return .pairs(positive: positive, negative: negative)
    }

    static func count(_ tuples: Tuples) -> Int {
        switch tuples {
        case let .pairs(positive, negative): positive.count + negative.count
        case let .triplets(triplets): triplets.count
        }
    }
}

/// One batch's objective: value, dL/dE, parameter gradients and what each term contributed.
public struct ObjectiveOutput<S: SimileFloat>: Sendable {
    public var value: Double = 0
    public var gradient: Matrix<S>
    /// By `STAGE.PARAMETER`.
    public var parameterGradients: [String: Matrix<S>] = [:]
    /// Each stage's weighted contribution, in pipeline order.
    public var terms: [SubLoss] = []
    /// The miner stages that mined this batch (empty: every pair was used).
    public var miners: [String] = []
    /// How many tuples the miners produced after filtering.
    public var tuples: Int = 0

    init(gradient: Matrix<S>) {
        self.gradient = gradient
    }

    mutating func add(_ value: Double, weight: Double, name: String) {
        self.value += weight * value
        terms.append(SubLoss(name: name, value: weight * value))
    }
}

extension Matrix {
    /// self += weight · other (same shape).
    mutating func addScaled(_ other: Matrix, _ weight: Double) {
        let w = Scalar(weight)
        elements.withUnsafeMutableBufferPointer { a in
            other.elements.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += w * b[i] }
            }
        }
    }

    /// weight · self.
    func scaled(_ weight: Double) -> Matrix {
        var copy = self
        let w = Scalar(weight)
        copy.elements.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] *= w }
        }
        return copy
    }
}
