/// Chooses which pairs or triplets of a batch a loss learns from.
///
/// A miner reads the batch (and an optional reference batch, such as a cross-batch memory) and
/// returns `Tuples`: pairs `(a, p)` / `(a, n)` or triplets `(a, p, n)`, with positives and negatives
/// indexing the reference batch when there is one. The result feeds `loss(..., tuples:)`.
///
/// Miners are values built from a name and typed parameters like every component. A miner that
/// keeps history across batches (variance filtering, hardness quantiles) conforms to
/// `StatefulMiner`, so that a trainer can checkpoint and reset it.
public protocol Miner: Component {
    func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples
}

/// A miner whose choices depend on the batches it has seen before.
///
/// The state lives in a reference type inside the miner, guarded for concurrent use, so that the
/// miner itself stays a `Sendable` value. `state` and `restore` round-trip it through bytes for
/// checkpoints; `reset` forgets it.
public protocol StatefulMiner: Miner {
    func state() throws -> [UInt8]
    func restore(_ state: [UInt8]) throws
    func reset()
}

/// The inputs of a miner.
public struct MinerInput<S: SimileFloat>: Sendable {
    /// N×D.
    public let embeddings: Matrix<S>
    /// N class labels.
    public let labels: [Int]
    /// M×D reference embeddings, or nil to mine within the batch (self-pairs excluded).
    public let reference: Matrix<S>?
    /// M reference labels (nil exactly when `reference` is nil).
    public let referenceLabels: [Int]?
    /// Where training is: miners that change with time (curriculum) or draw at random read it.
    public let context: MiningContext

    public init(embeddings: Matrix<S>, labels: [Int], reference: Matrix<S>? = nil, referenceLabels: [Int]? = nil,
                context: MiningContext = MiningContext()) {
        self.embeddings = embeddings
        self.labels = labels
        self.reference = reference
        self.referenceLabels = referenceLabels
        self.context = context
    }

    public var referenceEmbeddings: Matrix<S> { reference ?? embeddings }
    public var referenceLabelsOrLabels: [Int] { referenceLabels ?? labels }
    public var isSelfComparison: Bool { reference == nil }
}

/// Where training stands when a batch is mined.
public struct MiningContext: Sendable, Equatable {
    /// 1-based epoch (0 when not training).
    public var epoch: Int
    /// Global step; stochastic miners mix it into their seed so every batch draws afresh.
    public var step: UInt64
    /// Item identities of the reference rows (e.g. dataset row ids in a cross-batch memory), used
    /// to avoid pairing an item with its own stale copy; nil when every row is distinct.
    public var referenceItems: [Int]?
    /// Item identities of the batch rows, matched against `referenceItems`.
    public var batchItems: [Int]?
    /// C×D class proxies of the current loss, for proxy-guided mining; nil when the loss has none.
    public var proxies: Matrix<Double>?

    public init(epoch: Int = 0, step: UInt64 = 0, referenceItems: [Int]? = nil, batchItems: [Int]? = nil,
                proxies: Matrix<Double>? = nil) {
        self.epoch = epoch
        self.step = step
        self.referenceItems = referenceItems
        self.batchItems = batchItems
        self.proxies = proxies
    }
}
