/// A penalty added to a loss: `loss + weight × regularizer`.
///
/// A regularizer applies either to the embeddings of a batch or to a loss's parameter matrix
/// (proxies, class weights, SoftTriple centers), as `target` declares. Like a loss, it returns its
/// value and the gradient with respect to what it regularizes, and the gradients of any trainable
/// parameters of its own (the center loss's centers).
public protocol Regularizer: Component {
    /// What the regularizer reads.
    static var target: RegularizerTarget { get }
    /// Everything it may be applied to (`target` first); `lp`, for one, reads embeddings or parameters.
    /// Defaults to `[target]`.
    static var applicableTargets: [RegularizerTarget] { get }
    /// The weight λ that `RegularizedLoss` uses when none is given (PML's `*_reg_weight` default is 1).
    static var defaultWeight: Double { get }
    func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S>
}

/// What a regularizer applies to.
public enum RegularizerTarget: String, Sendable, Codable {
    /// The batch's embeddings (N×D), with their labels.
    case embeddings
    /// A loss's parameter matrix (C×D proxies or weights, C·K×D centers).
    case parameters
}

/// A regularizer with trainable parameters of its own (e.g. the center loss's class centers).
public protocol TrainableRegularizer: Regularizer {
    /// The parameters' initial values, deterministic from the regularizer's own parameters and seed.
    func initialParameters() -> [String: Matrix<Double>]
    /// How much larger than the model's learning rate these parameters' learning rate should be.
    var learningRateMultiplier: Double { get }
}

/// The inputs of a regularizer.
public struct RegularizerInput<S: SimileFloat>: Sendable {
    /// The embeddings (N×D) or the loss's parameter matrix, as `target` says.
    public let matrix: Matrix<S>
    /// Class labels of the rows of `matrix` when it holds embeddings; nil for parameters.
    public let labels: [Int]?
    /// The regularizer's own trainable parameters by name; missing ones take their initial values.
    public let parameters: [String: Matrix<S>]

    public init(matrix: Matrix<S>, labels: [Int]? = nil, parameters: [String: Matrix<S>] = [:]) {
        self.matrix = matrix
        self.labels = labels
        self.parameters = parameters
    }
}

/// What a regularizer returns.
public struct RegularizerOutput<S: SimileFloat>: Sendable {
    public var value: Double
    /// d(value)/d(matrix), the shape of the input matrix.
    public var gradient: Matrix<S>
    /// d(value)/d(parameter) for the regularizer's own trainable parameters.
    public var parameterGradients: [String: Matrix<S>]
    public var stats: [String: Double]

    public init(value: Double, gradient: Matrix<S>, parameterGradients: [String: Matrix<S>] = [:],
                stats: [String: Double] = [:]) {
        self.value = value
        self.gradient = gradient
        self.parameterGradients = parameterGradients
        self.stats = stats
    }
}

extension Regularizer {
    /// The registered name, for messages.
    public var name: String { Self.descriptor.name }

    public static var applicableTargets: [RegularizerTarget] { [target] }
    public static var defaultWeight: Double { 1 }

    /// Whether it may be applied to embeddings (`.embeddings`) or to a parameter matrix (`.parameters`).
    public func applies(to target: RegularizerTarget) -> Bool { Self.applicableTargets.contains(target) }
}
