import Foundation

/// Augmented views of feature rows, for self-supervised and contrastive training (NT-Xent /
/// InfoNCE, SupCon).
///
/// Each view of a row x (D features, normally z-scored) is, element by element,
///
///     x̃_j = m_j · (s · x_j · (1 + jitter · ε_j) + noise · η_j)
///
/// with ε_j, η_j ~ N(0, 1), one amplitude factor per row and view s ~ N(1, scaling²), and the
/// dropout mask m_j = 0 with probability `dropout` (else 1): jitter is relative to the value,
/// white noise is absolute, amplitude scaling multiplies the whole row, and feature dropout sets
/// a feature to 0, the training mean of a z-scored feature (no 1/(1 − p) rescaling, unlike
/// dropout in a network). With `original` the first view is the row itself.
///
/// `views(of:labels:step:)` returns V·N rows, view-major: rows v·N ..< (v+1)·N are view v of
/// the N input rows, which is the layout NT-Xent expects (PML's SimCLR example concatenates the
/// two views the same way). Labels: with `labels = .classes` every view keeps its row's label, so
/// a supervised loss (SupCon) sees the other views and the other rows of the class as positives;
/// with `.rows` the label is the row's position in the batch (0..<N), so each row's only positives
/// are its own other views: the self-supervised case.
///
/// The draws come from `SeededGenerator(seed:stream: step)`, so a step's views are reproducible.
public struct Augmentation: Sendable, Equatable, Codable {
    /// What the views' labels are.
    public enum ViewLabels: String, Sendable, Codable, CaseIterable {
        /// Each view keeps its row's class label (supervised contrastive).
        case classes
        /// Each view is labelled with its row's position in the batch (self-supervised).
        case rows
    }

    public var jitter: Double
    public var scaling: Double
    public var noise: Double
    public var dropout: Double
    public var views: Int
    public var labels: ViewLabels
    public var original: Bool
    public var seed: Int

    /// The parameters, as `Augmentation(_:)` reads them (documented like a component's).
    public static let parameters: [ParameterSpec] = [
        .double("jitter", 0.1, range: .atLeast(0), doc: "relative noise: x·(1 + jitter·ε), ε ~ N(0, 1) per feature"),
        .double("scaling", 0.1, range: .atLeast(0), doc: "amplitude scaling: the row times s ~ N(1, scaling²), one s per row and view"),
        .double("noise", 0.1, range: .atLeast(0), doc: "white noise: + noise·η, η ~ N(0, 1) per feature (in feature units, z-scores after standardisation)"),
        .double("dropout", 0.1, range: .rightOpen(0, 1), doc: "feature dropout: the probability that a feature is set to 0"),
        .int("views", 2, range: .closed(1, 64), doc: "views per row; the output has views × N rows, view-major"),
        ParameterSpec("labels", .choice(ViewLabels.allCases.map(\.rawValue)), default: .value(.choice("rows")),
                      doc: "rows: a view's label is its row's position (self-supervised); classes: its row's label (SupCon)"),
        .bool("original", false, doc: "the first view is the row itself, unaugmented"),
        .int("seed", 0, range: .atLeast(0), doc: "random seed; the views depend on the seed and the step"),
    ]

    public init(jitter: Double = 0.1, scaling: Double = 0.1, noise: Double = 0.1, dropout: Double = 0.1, views: Int = 2,
                labels: ViewLabels = .rows, original: Bool = false, seed: Int = 0) throws {
        let values: [(String, ParameterValue)] = [
            ("jitter", .double(jitter)), ("scaling", .double(scaling)), ("noise", .double(noise)),
            ("dropout", .double(dropout)), ("views", .int(views)), ("seed", .int(seed)),
        ]
        for (name, value) in values {
            let spec = Self.parameters.first { $0.name == name }!
            if let problem = ArgumentResolver.check(value, against: spec) {
                throw SimileError.parameterOutOfRange(component: "augmentation", parameter: name,
                                                      value: value.description, range: problem)
            }
        }
        self.jitter = jitter
        self.scaling = scaling
        self.noise = noise
        self.dropout = dropout
        self.views = views
        self.labels = labels
        self.original = original
        self.seed = seed
    }

    /// Reads `jitter=0.05, noise=0.2, views=2` (or `augment(jitter=0.05, ...)`); unset parameters
    /// take their defaults.
    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let spec = try ComponentSpec(trimmed.hasSuffix(")") ? trimmed : "augment(\(trimmed))")
        guard spec.name == "augment" || spec.name == "augmentation" else {
            throw SimileError.invalidInput("'\(spec.name)' is not an augmentation; write augment(jitter=0.05, ...)")
        }
        try self.init(arguments: spec.arguments)
    }

    /// Reads command-line words such as `["jitter=0.05", "views=2"]`.
    public init(commandLine words: [String]) throws {
        try self.init(arguments: try ComponentSpec.arguments(fromCommandLine: words))
    }

    init(arguments given: [ComponentSpec.Argument]) throws {
        let names = Self.parameters.map(\.name)
        var values: [String: ParameterValue] = [:]
        for argument in given {
            guard let spec = Self.parameters.first(where: { $0.name == argument.key }) else {
                throw SimileError.unknownParameter(component: "augmentation", parameter: argument.key,
                                                   suggestion: Suggestions.closest(to: argument.key, among: names),
                                                   valid: names)
            }
            guard values[spec.name] == nil else {
                throw SimileError.invalidInput("'augmentation': parameter '\(spec.name)' is given twice")
            }
            values[spec.name] = try ArgumentResolver.typed(argument.value, for: spec, component: "augmentation")
        }
        func double(_ name: String, _ fallback: Double) -> Double {
            if case let .double(value)? = values[name] { return value }
            return fallback
        }
        func int(_ name: String, _ fallback: Int) -> Int {
            if case let .int(value)? = values[name] { return value }
            return fallback
        }
        var labels = ViewLabels.rows
        if case let .choice(word)? = values["labels"] { labels = ViewLabels(rawValue: word)! }
        var original = false
        if case let .bool(flag)? = values["original"] { original = flag }
        try self.init(jitter: double("jitter", 0.1), scaling: double("scaling", 0.1), noise: double("noise", 0.1),
                      dropout: double("dropout", 0.1), views: int("views", 2), labels: labels, original: original,
                      seed: int("seed", 0))
    }

    /// The views of a batch: `views × N` rows, view-major, with their labels, source rows and view
    /// numbers.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func views<S: SimileFloat>(of rows: Matrix<S>, labels rowLabels: [Int], step: UInt64 = 0) throws
        -> AugmentedBatch<S> {
        guard rows.rows > 0, rows.columns > 0 else {
            throw SimileError.empty("augmentation: the batch is empty (\(rows.rows)×\(rows.columns))")
        }
        guard rowLabels.count == rows.rows else {
            throw SimileError.shapeMismatch("augmentation: the batch has \(rows.rows) rows but there are \(rowLabels.count) labels")
        }
        try rows.requireFinite("augmentation input")
        let n = rows.rows, d = rows.columns
        var random = SeededGenerator(seed: UInt64(seed), stream: step)
        var out = Matrix<S>(rows: views * n, columns: d)
        for view in 0..<views {
            for row in 0..<n {
                let target = view * n + row
                if original && view == 0 {
                    for j in 0..<d { out[target, j] = rows[row, j] }
                    continue
                }
                let amplitude = scaling > 0 ? random.normal(1, scaling) : 1
                for j in 0..<d {
                    var value = Double(rows[row, j])
                    if jitter > 0 { value *= 1 + jitter * random.gaussian() }
                    value *= amplitude
                    if noise > 0 { value += noise * random.gaussian() }
                    if dropout > 0, random.chance(dropout) { value = 0 }
                    out[target, j] = S(value)
                }
            }
        }
        let labelsOut: [Int]
        switch labels {
        case .classes: labelsOut = (0..<views).flatMap { _ in rowLabels }
        case .rows: labelsOut = (0..<views).flatMap { _ in Array(0..<n) }
        }
        return AugmentedBatch(features: out, labels: labelsOut,
                              sourceRows: (0..<views).flatMap { _ in Array(0..<n) },
                              views: (0..<views).flatMap { Array(repeating: $0, count: n) })
    }
}

/// The result of `Augmentation.views`: V·N rows, view-major.
public struct AugmentedBatch<S: SimileFloat>: Sendable {
    /// (V·N) × D.
    public let features: Matrix<S>
    /// One label per output row (the row's class, or its position, as the augmentation says).
    public let labels: [Int]
    /// The input row each output row comes from.
    public let sourceRows: [Int]
    /// The view number (0-based) of each output row.
    public let views: [Int]
}
