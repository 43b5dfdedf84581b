/// A loss plus weighted regularizers: `L = loss + Σₖ wₖ·Rₖ`, with one `LossOutput`.
///
/// Each term applies a regularizer to the batch's embeddings or to one trainable parameter of the
/// loss (e.g. `proxies`), by name:
///
/// ```swift
/// let loss = try RegularizedLoss(loss: "margin(learn-beta=true)", regularizers: [
///     (weight: nil, regularizer: "center(num-classes=4, embedding-size=8)", target: "embeddings"),  // λ = 1e-3
///     (weight: 0.1, regularizer: "lp(power=2)", target: "beta"),
/// ])
/// let output = try loss(embeddings, labels, parameters: ["center.centers": centers])
/// ```
///
/// The output is what a trainer needs:
/// - `value` = the loss's value + Σ wₖ·Rₖ, and `subLosses` lists the loss's own sub-losses followed
///   by one entry per term (named by the term's `name`, value wₖ·Rₖ), so they still sum to `value`.
/// - `gradient` = the loss's gradient + Σ wₖ·∂Rₖ/∂X over the embedding terms (reference embeddings
///   are not regularized, as in PML); `referenceGradient` is the loss's.
/// - `parameterGradients` holds the loss's own (plus wₖ·∂Rₖ/∂θ of the terms on that parameter) and
///   each regularizer's own trainable parameters as `"<term name>.<parameter>"` (e.g. `center.centers`),
///   times wₖ. The same names are keys of `parameters`, `initialParameters()` and
///   `learningRateMultipliers`.
/// - `stats` holds the loss's stats, `<term name>.value` (the unweighted Rₖ) and each regularizer's
///   stats under `<term name>.`.
///
/// A term's name is its regularizer's name, with `-2`, `-3`, ... for repeats (`lp`, `lp-2`).
/// A weight left out is the regularizer's `defaultWeight` (1, as PML's `*_reg_weight`; 1e-3 for
/// `center`). Construction checks that each target exists: `embeddings` needs a regularizer that
/// applies to embeddings, and a parameter name needs a `Trainable` loss with that parameter.
public struct RegularizedLoss: Sendable {
    /// What a term regularizes.
    public enum Target: Sendable, Equatable, CustomStringConvertible {
        /// The batch's embeddings (N×D), with their class labels.
        case embeddings
        /// The loss's trainable parameter of this name (e.g. `proxies`, C×D, one row per class).
        case parameter(String)

        /// `"embeddings"`, or else the name of a parameter of the loss.
        public init(_ text: String) {
            self = text == "embeddings" ? .embeddings : .parameter(text)
        }

        public var description: String {
            switch self {
            case .embeddings: "embeddings"
            case let .parameter(name): name
            }
        }
    }

    /// One weighted regularizer and what it applies to.
    public struct Term: Sendable {
        public let regularizer: any Regularizer
        public let weight: Double
        public let target: Target
        /// The namespace of its own parameters and stats, and its sub-loss name (set by `RegularizedLoss`).
        public fileprivate(set) var name: String

        /// A weight of nil means the regularizer's `defaultWeight`.
        public init(_ regularizer: any Regularizer, weight: Double? = nil, target: Target = .embeddings) {
            self.regularizer = regularizer
            self.weight = weight ?? type(of: regularizer).defaultWeight
            self.target = target
            name = regularizer.name
        }
    }

    public let loss: any Loss
    public let terms: [Term]

    /// Checks every term's weight and target against the loss, and names the terms.
    public init(_ loss: any Loss, _ terms: [Term]) throws {
        self.loss = loss
        let lossParameters = (loss as? any Trainable)?.initialParameters() ?? [:]
        var counts: [String: Int] = [:]
        var named: [Term] = []
        for var term in terms {
            let regularizer = term.regularizer.name
            guard term.weight.isFinite, term.weight >= 0 else {
                throw SimileError.invalidInput(
                    "the weight of regularizer '\(regularizer)' is \(term.weight); give a finite weight ≥ 0")
            }
            switch term.target {
            case .embeddings:
                guard term.regularizer.applies(to: .embeddings) else {
                    throw SimileError.incompatible(
                        "regularizer '\(regularizer)' applies to a loss's parameter matrix, not to embeddings; "
                            + "name the parameter as its target" + Self.parameterHint(lossParameters))
                }
            case let .parameter(parameter):
                guard term.regularizer.applies(to: .parameters) else {
                    throw SimileError.incompatible(
                        "regularizer '\(regularizer)' applies to embeddings, not to a parameter; give it the target embeddings")
                }
                guard lossParameters[parameter] != nil else {
                    let has = lossParameters.isEmpty
                        ? "'\(loss.name)' has no trainable parameters"
                        : "'\(loss.name)' has no parameter '\(parameter)'; its parameters are "
                            + lossParameters.keys.sorted().joined(separator: ", ")
                    throw SimileError.incompatible(
                        "regularizer '\(regularizer)' targets parameter '\(parameter)', but \(has); "
                            + "use target embeddings or one of the loss's parameters")
                }
            }
            counts[regularizer, default: 0] += 1
            if let count = counts[regularizer], count > 1 { term.name = "\(regularizer)-\(count)" }
            named.append(term)
        }
        self.terms = named
    }

    /// Builds the composition from text: a loss spec and `(weight, regularizer spec, target)` triples,
    /// where the target is `embeddings` or the name of one of the loss's parameters and a nil weight
    /// is the regularizer's default.
    public init(loss: String, regularizers: [(weight: Double?, regularizer: String, target: String)],
                registry: Registry = .builtin) throws {
        let builtLoss = try registry.loss(loss)
        let terms = try regularizers.map { entry in
            Term(try registry.regularizer(entry.regularizer), weight: entry.weight, target: Target(entry.target))
        }
        try self.init(builtLoss, terms)
    }

    /// The initial values of every trainable parameter: the loss's, and each term's own as `name.parameter`.
    public func initialParameters() -> [String: Matrix<Double>] {
        var result = (loss as? any Trainable)?.initialParameters() ?? [:]
        for term in terms {
            guard let trainable = term.regularizer as? any TrainableRegularizer else { continue }
            for (name, value) in trainable.initialParameters() { result["\(term.name).\(name)"] = value }
        }
        return result
    }

    /// Each trainable parameter's learning rate ÷ the model's, under the names of `initialParameters()`.
    public var learningRateMultipliers: [String: Double] {
        var result: [String: Double] = [:]
        if let trainable = loss as? any Trainable {
            for name in trainable.initialParameters().keys { result[name] = trainable.learningRateMultiplier }
        }
        for term in terms {
            guard let trainable = term.regularizer as? any TrainableRegularizer else { continue }
            for name in trainable.initialParameters().keys {
                result["\(term.name).\(name)"] = trainable.learningRateMultiplier
            }
        }
        return result
    }

    /// Computes the loss and every term after checking the inputs (as `Loss.callAsFunction` does).
    /// `parameters` holds the loss's parameters by their own names and the terms' as `name.parameter`;
    /// missing ones take their initial values.
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: Labels, tuples: Tuples? = nil,
        reference: Matrix<S>? = nil, referenceLabels: Labels? = nil,
        parameters: [String: Matrix<S>] = [:], step: UInt64 = 0
    ) throws -> LossOutput<S> {
        try Self.run(self, embeddings, labels, tuples, reference, referenceLabels, parameters, step)
    }

    /// The same with plain integer class labels.
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: [Int], tuples: Tuples? = nil,
        reference: Matrix<S>? = nil, referenceLabels: [Int]? = nil,
        parameters: [String: Matrix<S>] = [:], step: UInt64 = 0
    ) throws -> LossOutput<S> {
        try self(embeddings, .classes(labels), tuples: tuples, reference: reference,
                 referenceLabels: referenceLabels.map { .classes($0) }, parameters: parameters, step: step)
    }

    /// The same on the triplets of a band miner, without listing them (`Loss.callAsFunction(_:_:tripletsIn:)`).
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: [Int], tripletsIn band: TripletBand,
        reference: Matrix<S>? = nil, referenceLabels: [Int]? = nil,
        parameters: [String: Matrix<S>] = [:], step: UInt64 = 0
    ) throws -> LossOutput<S> {
        try Self.run(self, embeddings, .classes(labels), nil, reference, referenceLabels.map { .classes($0) }, parameters,
                     step, band: band)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func run<S: SimileFloat>(
        _ composition: RegularizedLoss, _ embeddings: Matrix<S>, _ labels: Labels, _ tuples: Tuples?,
        _ reference: Matrix<S>?, _ referenceLabels: Labels?, _ parameters: [String: Matrix<S>], _ step: UInt64,
        band: TripletBand? = nil
    ) throws -> LossOutput<S> {
        let terms = composition.terms
        // Split the parameters: `term.parameter` goes to that term, anything else to the loss.
        var lossParameters: [String: Matrix<S>] = [:]
        var own = [[String: Matrix<S>]](repeating: [:], count: terms.count)
        for (key, value) in parameters {
            if let dot = key.firstIndex(of: "."), let k = terms.firstIndex(where: { $0.name == key[..<dot] }) {
                own[k][String(key[key.index(after: dot)...])] = value
            } else if key.contains(".") {
                throw SimileError.invalidInput(
                    "parameter '\(key)' names no regularizer of this loss; the regularizers are "
                        + (terms.isEmpty ? "none" : terms.map(\.name).joined(separator: ", ")))
            } else {
                lossParameters[key] = value
            }
        }
        var output = try LossInputValidator.run(composition.loss, embeddings, labels, tuples, reference, referenceLabels,
                                                lossParameters, step, band: band)
        let initial = terms.contains { if case .parameter = $0.target { true } else { false } }
            ? (composition.loss as? any Trainable)?.initialParameters() ?? [:] : [:]
        for (k, term) in terms.enumerated() {
            let weight = S(term.weight)
            let result: RegularizerOutput<S>
            switch term.target {
            case .embeddings:
                result = try RegularizerInputValidator.run(term.regularizer, embeddings, labels.classes, own[k],
                                                           what: "embeddings")
                output.gradient.add(result.gradient, scaledBy: weight)
            case let .parameter(name):
                guard let matrix = lossParameters[name] ?? initial[name]?.converted(to: S.self) else {
                    throw SimileError.invalidInput("internal error: '\(composition.loss.name)' lost its parameter '\(name)'")
                }
                result = try RegularizerInputValidator.run(term.regularizer, matrix, nil, own[k],
                                                           what: "parameter '\(name)'")
                var gradient = output.parameterGradients[name] ?? Matrix(rows: matrix.rows, columns: matrix.columns)
                gradient.add(result.gradient, scaledBy: weight)
                output.parameterGradients[name] = gradient
            }
            for (name, gradient) in result.parameterGradients {
                var scaled = gradient
                scaled.elements.withUnsafeMutableBufferPointer { buffer in
                    for index in buffer.indices { buffer[index] *= weight }
                }
                output.parameterGradients["\(term.name).\(name)"] = scaled
            }
            output.value += term.weight * result.value
            output.subLosses.append(SubLoss(name: term.name, value: term.weight * result.value))
            output.stats["\(term.name).value"] = result.value
            for (name, value) in result.stats { output.stats["\(term.name).\(name)"] = value }
        }
        return output
    }

    private static func parameterHint(_ parameters: [String: Matrix<Double>]) -> String {
        parameters.isEmpty ? " (this loss has none; use a loss with proxies or class weights)"
            : " (this loss has " + parameters.keys.sorted().joined(separator: ", ") + ")"
    }
}
