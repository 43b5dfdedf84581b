/// Groups the rows of a data set into the batches of one epoch.
///
/// A sampler is a pure function of its parameters (including `seed`), the data and the epoch
/// number, so that a run resumed from a checkpoint draws exactly the batches it would have drawn.
/// Each sampler documents its epoch semantics; the default is that every row is visited once per
/// epoch.
public protocol BatchSampler: Component {
    /// The batches of `epoch` (1-based), as row indices into `data`.
    func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch]
}

/// One batch: rows of the data set, and how far each row may serve as a negative.
public struct SampledBatch: Sendable, Equatable, Codable {
    /// Row indices into the data set, in batch order.
    public var rows: [Int]
    /// Per row (aligned with `rows`), 1 if it may be a negative and 0 if it must not (a sample
    /// flagged as poor quality); nil means every row may. A trainer drops the pairs and triplets
    /// whose negative has weight 0.
    public var negativeWeights: [Double]?

    public init(rows: [Int], negativeWeights: [Double]? = nil) {
        self.rows = rows
        self.negativeWeights = negativeWeights
    }
}

/// What a sampler may read about the rows of a data set.
public struct SamplerData: Sendable {
    /// One class label per row (the identity, e.g. the patient).
    public let labels: [Int]
    /// Metadata columns by name: categorical text (sex, a QT bucket), numbers (an exam date in
    /// days), or flags (InRange).
    public let metadata: [String: MetadataColumn]

    public init(labels: [Int], metadata: [String: MetadataColumn] = [:]) {
        self.labels = labels
        self.metadata = metadata
    }

    public var count: Int { labels.count }
}

/// One metadata column, with one value per row; nil marks a missing value.
public enum MetadataColumn: Sendable, Equatable {
    case categorical([String?])
    case numeric([Double?])
    case flags([Bool?])

    public var count: Int {
        switch self {
        case let .categorical(values): values.count
        case let .numeric(values): values.count
        case let .flags(values): values.count
        }
    }
}
