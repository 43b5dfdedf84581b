/// The result of `Evaluation.evaluate`: every metric asked for, and what it was computed on.
///
/// A metric that was not asked for, or that is undefined for this input (no query has a
/// same-label reference, a single class, ...), is nil and left out of the JSON; `warnings`
/// then says why. Definitions: docs/metrics.md.
public struct EvaluationReport: Codable, Sendable, Equatable {
    /// What the clustering behind NMI and AMI did.
    public struct Clustering: Codable, Sendable, Equatable {
        /// k: the number of distinct query labels.
        public var clusters: Int
        /// k-means++ starts run; the best one (lowest inertia) is reported.
        public var restarts: Int
        /// Lloyd iterations the best start ran.
        public var iterations: Int
        /// Whether the best start stopped because no assignment changed.
        public var converged: Bool
        /// Sum of squared distances from each point to its centre.
        public var inertia: Double
        public var seed: UInt64
    }

    /// "leave-one-out", "query-reference" or "reference-includes-query".
    public var mode: String
    /// "euclidean" or "cosine".
    public var distance: String
    public var queries: Int
    public var references: Int
    public var dimensions: Int
    /// Distinct query labels.
    public var queryClasses: Int
    /// The number of neighbours the PML metrics used (nil when no neighbour metric ran).
    public var k: Int?
    /// Queries without any same-label reference: left out of the neighbour metrics.
    public var queriesWithoutMatch: Int
    public var averageOfAverages: Bool

    public var precisionAt1: Double?
    public var rPrecision: Double?
    public var mapAtR: Double?
    public var map: Double?
    public var mrr: Double?
    /// recall@k for each requested k.
    public var recallAtK: [Int: Double]?

    public var nmi: Double?
    public var ami: Double?
    public var clustering: Clustering?

    /// Mean same-label pair distance over mean different-label pair distance (Euclidean).
    public var intraInterRatioL2: Double?
    public var intraInterRatioL1: Double?
    public var meanIntraDistanceL2: Double?
    public var meanInterDistanceL2: Double?
    public var meanIntraDistanceL1: Double?
    public var meanInterDistanceL1: Double?
    /// Standard deviation of all pair distances (population, over every evaluated pair).
    public var pairDistanceStdL2: Double?
    public var pairDistanceStdL1: Double?
    /// Pairs of each kind the L1 statistics were estimated from; nil when they are exact.
    public var l1SampledPairs: Int?

    /// Unbiased variance of each embedding dimension over the query embeddings.
    public var dimensionVariance: [Double]?
    public var meanDimensionVariance: Double?

    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case mode, distance, queries, references, dimensions, k, map, mrr, nmi, ami, clustering, warnings
        case queryClasses = "query_classes"
        case queriesWithoutMatch = "queries_without_match"
        case averageOfAverages = "avg_of_avgs"
        case precisionAt1 = "precision_at_1"
        case rPrecision = "r_precision"
        case mapAtR = "map_at_r"
        case recallAtK = "recall_at_k"
        case intraInterRatioL2 = "intra_inter_ratio_l2"
        case intraInterRatioL1 = "intra_inter_ratio_l1"
        case meanIntraDistanceL2 = "mean_intra_distance_l2"
        case meanInterDistanceL2 = "mean_inter_distance_l2"
        case meanIntraDistanceL1 = "mean_intra_distance_l1"
        case meanInterDistanceL1 = "mean_inter_distance_l1"
        case pairDistanceStdL2 = "pair_distance_std_l2"
        case pairDistanceStdL1 = "pair_distance_std_l1"
        case l1SampledPairs = "l1_sampled_pairs"
        case dimensionVariance = "dimension_variance"
        case meanDimensionVariance = "mean_dimension_variance"
    }

    public init(mode: String, distance: String, queries: Int, references: Int, dimensions: Int, queryClasses: Int,
                averageOfAverages: Bool) {
        self.mode = mode
        self.distance = distance
        self.queries = queries
        self.references = references
        self.dimensions = dimensions
        self.queryClasses = queryClasses
        self.queriesWithoutMatch = 0
        self.averageOfAverages = averageOfAverages
        self.warnings = []
    }
}
