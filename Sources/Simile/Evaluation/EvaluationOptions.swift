/// What `Evaluation.evaluate` computes, and how. The defaults are PML's `AccuracyCalculator`
/// defaults wherever PML has the same setting (see docs/metrics.md).
public struct EvaluationOptions: Sendable, Equatable {
    /// The metrics that can be asked for.
    public enum Metric: String, CaseIterable, Sendable, Comparable {
        case precisionAt1 = "precision_at_1"
        case rPrecision = "r_precision"
        case mapAtR = "map_at_r"
        case map
        case mrr
        case recallAtK = "recall_at_k"
        case nmi
        case ami
        /// Intra/inter distance ratios, means and standard deviations of the pair distances (L1 and L2).
        case pairDistances = "pair_distances"
        /// The variance of each embedding dimension, and their mean.
        case dimensionVariance = "dimension_variance"

        /// The metrics that need the ranked neighbours of each query.
        public static let neighbourMetrics: Set<Metric> = [.precisionAt1, .rPrecision, .mapAtR, .map, .mrr, .recallAtK]
        /// The metrics that need a k-means clustering.
        public static let clusteringMetrics: Set<Metric> = [.nmi, .ami]

        public static func < (lhs: Metric, rhs: Metric) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// How many neighbours the PML metrics look at (PML's `k`).
    public enum Depth: Sendable, Equatable, CustomStringConvertible {
        /// Every reference (PML's `k=None`, its default): MAP is the full average precision.
        case all
        /// The largest number of references sharing a query's label (PML's `"max_bin_count"`):
        /// enough for R-precision and MAP@R, and much cheaper than `all` on large sets.
        case maxBinCount
        /// A fixed number of neighbours (PML's integer `k`); MAP then is a truncated sum still
        /// divided by R, and R-precision and MAP@R are only correct when it is at least R.
        case count(Int)

        /// Reads `all`, `max-bin-count` (or `max_bin_count`) or a positive integer.
        public init?(_ text: String) {
            switch text.lowercased() {
            case "all", "none": self = .all
            case "max-bin-count", "max_bin_count": self = .maxBinCount
            default:
                guard let value = Int(text), value > 0 else { return nil }
                self = .count(value)
            }
        }

        public var description: String {
            switch self {
            case .all: "all"
            case .maxBinCount: "max-bin-count"
            case let .count(value): "\(value)"
            }
        }
    }

    /// The geometry of the neighbour search (and of the clustering and statistics).
    public enum Geometry: String, CaseIterable, Sendable {
        /// Euclidean distance on the embeddings as given (PML's default, faiss `IndexFlatL2`).
        case euclidean
        /// Cosine similarity: every statistic is computed on the L2-normalised embeddings.
        case cosine
    }

    /// Seeded k-means++ for NMI and AMI.
    public struct Clustering: Sendable, Equatable {
        /// Independent k-means++ starts; the one with the lowest inertia wins (scikit-learn's
        /// `n_init="auto"` is 1 run for k-means++, faiss's `nredo` is 1).
        public var restarts: Int
        /// The most Lloyd iterations per start (PML asks faiss for 20); a start stops earlier
        /// when no assignment changes.
        public var iterations: Int

        public init(restarts: Int = 1, iterations: Int = 20) {
            self.restarts = restarts
            self.iterations = iterations
        }
    }

    /// The metrics to compute (default: all of them).
    public var metrics: Set<Metric>
    /// PML's `k`: how many neighbours the PML metrics use (default `.all`, as PML's `k=None`).
    public var k: Depth
    /// The cut-offs of recall@k (not a PML metric): the fraction of queries with at least one
    /// same-label reference among their k nearest.
    public var recallAt: [Int]
    /// Euclidean (default) or cosine neighbours.
    public var geometry: Geometry
    /// Average each metric per query class first, then over classes (PML's `avg_of_avgs`).
    public var averageOfAverages: Bool
    /// The reference set starts with the query rows, in order (PML's `ref_includes_query`):
    /// query i is reference i, and that match is removed as in leave-one-out.
    public var referenceIncludesQuery: Bool
    /// The k-means settings.
    public var clustering: Clustering
    /// The seed of the k-means starts and of the sampled L1 pair distances.
    public var seed: UInt64
    /// L1 pair statistics are exact up to this many (query, reference) pairs and estimated from
    /// a sample above it (L2 ones are always exact).
    public var exactL1PairLimit: Int
    /// Pairs sampled of each kind (same label, different label) when L1 statistics are sampled.
    public var l1SamplePairs: Int
    /// Query rows per block of the streaming neighbour search (query/reference evaluation and
    /// top-k selection); nil chooses it so a block of distances stays within 16 MiB (or 128 rows,
    /// up to 256 MiB, for very large reference sets). Leave-one-out ranking by counting (k = all)
    /// uses fixed tiles of half the distance matrix instead.
    public var blockRows: Int?

    /// How each query's ranking is found (internal: the tests run both ways and compare).
    enum Ranking: Sendable, Equatable {
        /// Counting for k = all or deep searches, selection otherwise.
        case automatic
        /// The ranks of every relevant reference, by counting (`RelevantRanks`).
        case counting
        /// The nearest k entries, by selection (`NearestSelection`).
        case selection
    }

    var ranking = Ranking.automatic
    /// Leave-one-out without top-k selection uses `SymmetricScan` (internal: the tests compare it
    /// with the streaming scan).
    var symmetricPass = true
    /// Rows per tile of `SymmetricScan` (internal: the tests use small tiles; nil is 2048).
    var tileRows: Int?

    public init(metrics: Set<Metric> = Set(Metric.allCases), k: Depth = .all, recallAt: [Int] = [1, 2, 4, 8],
                geometry: Geometry = .euclidean, averageOfAverages: Bool = false,
                referenceIncludesQuery: Bool = false, clustering: Clustering = Clustering(), seed: UInt64 = 0,
                exactL1PairLimit: Int = 1 << 20, l1SamplePairs: Int = 1 << 16, blockRows: Int? = nil) {
        self.metrics = metrics
        self.k = k
        self.recallAt = recallAt
        self.geometry = geometry
        self.averageOfAverages = averageOfAverages
        self.referenceIncludesQuery = referenceIncludesQuery
        self.clustering = clustering
        self.seed = seed
        self.exactL1PairLimit = exactL1PairLimit
        self.l1SamplePairs = l1SamplePairs
        self.blockRows = blockRows
    }

    /// Throws for settings that cannot work, naming the setting and the fix.
    func validate() throws {
        if case let .count(value) = k, value < 1 {
            throw SimileError.invalidInput("k=\(value) is not allowed; give a positive number of neighbours, 'all' or 'max-bin-count'")
        }
        if let bad = recallAt.first(where: { $0 < 1 }) {
            throw SimileError.invalidInput("recall@k needs k ≥ 1, got \(bad)")
        }
        if clustering.restarts < 1 {
            throw SimileError.invalidInput("clustering restarts=\(clustering.restarts) is not allowed; use at least 1")
        }
        if clustering.iterations < 0 {
            throw SimileError.invalidInput("clustering iterations=\(clustering.iterations) is not allowed; use 0 or more")
        }
        if exactL1PairLimit < 0 || l1SamplePairs < 1 {
            throw SimileError.invalidInput("the L1 pair limit must be ≥ 0 and the sample size ≥ 1")
        }
        if let rows = blockRows, rows < 1 {
            throw SimileError.invalidInput("blockRows=\(rows) is not allowed; use at least 1 (or nil for automatic)")
        }
    }
}
