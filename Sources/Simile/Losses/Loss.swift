/// A metric-learning loss: a function of a batch of embeddings and their labels that returns its
/// value and its gradient.
///
/// Implementations write `compute`, which receives checked inputs (`LossInput`). Callers use
/// `callAsFunction` (`try loss(embeddings, labels)`), which checks shapes, finiteness and the
/// loss's capabilities first, and checks that the result is finite.
///
/// Optional abilities are protocols, not flags: a loss that accepts reference embeddings conforms
/// to `ReferenceCapable`, one that accepts mined tuples to `TupleCapable` (and one that applies a
/// margin miner's rule while it streams triplets to `TripletBandCapable`), one with trainable
/// parameters to `Trainable`, one on continuous labels to `ContinuousLabelLoss`.
public protocol Loss: Component {
    func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S>
}

/// Accepts reference embeddings: anchors come from the batch, positives and negatives from the reference.
public protocol ReferenceCapable: Loss {}

/// Accepts mined tuples (pairs or triplets) instead of using every pair or triplet.
public protocol TupleCapable: Loss {}

/// Applies a margin miner's `TripletBand` while it streams every triplet, instead of receiving
/// the mined triplets as a list (`loss(embeddings, labels, tripletsIn: band)`); the result is bit
/// for bit that of the list.
public protocol TripletBandCapable: TupleCapable {}

/// Takes continuous label vectors instead of class labels.
public protocol ContinuousLabelLoss: Loss {}

/// Has trainable parameters, returned with their gradients in `LossOutput.parameterGradients`.
public protocol Trainable: Loss {
    /// The parameters' initial values, deterministic (from the loss's own parameters and seed).
    func initialParameters() -> [String: Matrix<Double>]
    /// How much larger than the model's learning rate these parameters' learning rate should be.
    var learningRateMultiplier: Double { get }
}

/// Checked inputs of a loss.
public struct LossInput<S: SimileFloat>: Sendable {
    /// N×D.
    public let embeddings: Matrix<S>
    /// N labels.
    public let labels: Labels
    /// M×D reference embeddings, or nil to compare the batch with itself (self-pairs excluded).
    public let reference: Matrix<S>?
    /// M reference labels (nil exactly when `reference` is nil).
    public let referenceLabels: Labels?
    /// Mined tuples, or nil for all pairs / triplets.
    public let tuples: Tuples?
    /// The triplets of a band miner, as a rule (`TripletBandCapable` losses only; `tuples` is
    /// then nil).
    public let band: TripletBand?
    /// Trainable parameters by name (`Trainable` losses); missing ones take their initial values.
    public let parameters: [String: Matrix<S>]
    /// Distinguishes training steps for losses that sample at random (seeded by the loss's `seed`).
    public let step: UInt64
    /// For triplet tuples already grouped by anchor (anchors nondecreasing, as every miner emits
    /// them): where each anchor's triplets start, N + 1 entries. Set only by the input checks,
    /// which find it in the same pass; nil otherwise (the triplets are then bucketed by anchor).
    let tripletOffsets: [Int]?

    /// The batch that positives and negatives come from.
    public var referenceEmbeddings: Matrix<S> { reference ?? embeddings }
    /// Labels of `referenceEmbeddings`.
    public var referenceLabelsOrLabels: Labels { referenceLabels ?? labels }
    public var isSelfComparison: Bool { reference == nil }

    init(embeddings: Matrix<S>, labels: Labels, reference: Matrix<S>?, referenceLabels: Labels?, tuples: Tuples?,
         parameters: [String: Matrix<S>], step: UInt64, tripletOffsets: [Int]? = nil, band: TripletBand? = nil) {
        self.embeddings = embeddings
        self.labels = labels
        self.reference = reference
        self.referenceLabels = referenceLabels
        self.tuples = tuples
        self.band = band
        self.parameters = parameters
        self.step = step
        self.tripletOffsets = tripletOffsets
    }

    /// Class labels of the batch; throws for continuous labels.
    public func classLabels(_ loss: String) throws -> [Int] {
        guard let labels = labels.classes else {
            throw SimileError.unsupported(component: loss, message: "needs class labels (integers), not continuous labels")
        }
        return labels
    }

    /// Class labels of the reference batch.
    public func referenceClassLabels(_ loss: String) throws -> [Int] {
        guard let labels = referenceLabelsOrLabels.classes else {
            throw SimileError.unsupported(component: loss, message: "needs class labels (integers), not continuous labels")
        }
        return labels
    }
}

/// What a loss returns.
public struct LossOutput<S: SimileFloat>: Sendable {
    /// The loss value (accumulated in Double).
    public var value: Double
    /// dL/d(embeddings), N×D.
    public var gradient: Matrix<S>
    /// dL/d(reference embeddings), M×D, when there was a reference batch.
    public var referenceGradient: Matrix<S>?
    /// dL/d(parameter) for each trainable parameter.
    public var parameterGradients: [String: Matrix<S>]
    /// Each sub-loss's reduced value, in order; `value` is their sum.
    public var subLosses: [SubLoss]
    /// Counts and diagnostics, e.g. `pos_loss.active` (elements that passed the reducer's gate).
    public var stats: [String: Double]

    public init(value: Double, gradient: Matrix<S>, referenceGradient: Matrix<S>? = nil,
                parameterGradients: [String: Matrix<S>] = [:], subLosses: [SubLoss] = [], stats: [String: Double] = [:]) {
        self.value = value
        self.gradient = gradient
        self.referenceGradient = referenceGradient
        self.parameterGradients = parameterGradients
        self.subLosses = subLosses
        self.stats = stats
    }

    /// Value 0 and zero gradients: what a batch with nothing to learn from gives.
    public static func zero(for input: LossInput<S>, subLosses names: [String]) -> LossOutput {
        LossOutput(value: 0,
                   gradient: Matrix(rows: input.embeddings.rows, columns: input.embeddings.columns),
                   referenceGradient: input.reference.map { Matrix(rows: $0.rows, columns: $0.columns) },
                   parameterGradients: input.parameters.mapValues { Matrix(rows: $0.rows, columns: $0.columns) },
                   subLosses: names.map { SubLoss(name: $0, value: 0) })
    }
}

/// A named part of a loss (PML's sub-losses, e.g. `pos_loss` and `neg_loss`).
public struct SubLoss: Sendable, Equatable {
    public var name: String
    public var value: Double
    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

extension Loss {
    /// The registered name, for messages.
    public var name: String { Self.descriptor.name }
}
