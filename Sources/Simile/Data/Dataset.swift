/// A table of samples: numeric features, a class label per row, and metadata columns.
///
/// Features are kept raw (as read); `Standardization` turns them into the z-scored matrix a model
/// trains on. A missing feature value is stored as NaN and only exists when the data was loaded
/// with `MissingValuePolicy.imputeMedian`; with `.reject` the loader refuses it.
public struct Dataset: Sendable {
    /// Where the data came from (a file name), for messages.
    public let source: String
    /// The label column's name.
    public let labelColumn: String
    /// The feature columns, in order.
    public let featureNames: [String]
    /// Row-major, `count × featureNames.count`; NaN marks a missing value.
    public let rawFeatures: [Double]
    /// Dense class ids, 0..<classNames.count, assigned in order of first appearance.
    public let labels: [Int]
    /// The label text of each class id (the mapping from ids back to the file's labels).
    public let classNames: [String]
    /// The metadata column names, in file order.
    public let metadataNames: [String]
    /// The metadata columns by name.
    public let metadata: [String: MetadataColumn]
    /// The 1-based line of each row in its file (nil for generated data), for messages.
    public let lines: [Int]?
    /// The policy the data was loaded with.
    public let missingValues: MissingValuePolicy

    public init(source: String, labelColumn: String, featureNames: [String], rawFeatures: [Double], labels: [Int],
                classNames: [String], metadataNames: [String] = [], metadata: [String: MetadataColumn] = [:],
                lines: [Int]? = nil, missingValues: MissingValuePolicy = .reject) throws {
        let count = labels.count
        guard count > 0 else { throw SimileError.empty("\(source) has no rows") }
        guard rawFeatures.count == count * featureNames.count else {
            throw SimileError.shapeMismatch(
                "\(source): \(rawFeatures.count) feature values do not fill \(count) rows × \(featureNames.count) features")
        }
        guard labels.allSatisfy({ $0 >= 0 && $0 < classNames.count }) else {
            throw SimileError.invalidInput("\(source): a label is not a class id in 0..<\(classNames.count)")
        }
        for name in metadataNames {
            guard let column = metadata[name], column.count == count else {
                throw SimileError.shapeMismatch("\(source): metadata column '\(name)' does not have one value per row")
            }
        }
        if let lines, lines.count != count {
            throw SimileError.shapeMismatch("\(source): \(lines.count) line numbers for \(count) rows")
        }
        self.source = source
        self.labelColumn = labelColumn
        self.featureNames = featureNames
        self.rawFeatures = rawFeatures
        self.labels = labels
        self.classNames = classNames
        self.metadataNames = metadataNames
        self.metadata = metadata
        self.lines = lines
        self.missingValues = missingValues
    }

    /// The number of rows.
    public var count: Int { labels.count }
    /// The number of feature columns.
    public var featureCount: Int { featureNames.count }
    /// The number of classes.
    public var classCount: Int { classNames.count }

    /// One raw feature value, nil when it is missing.
    public func value(row: Int, feature: Int) -> Double? {
        let value = rawFeatures[row * featureCount + feature]
        return value.isNaN ? nil : value
    }

    /// The raw features of one row (nil for a missing value).
    public func rawRow(_ row: Int) -> [Double?] {
        (0..<featureCount).map { value(row: row, feature: $0) }
    }

    /// The number of missing feature values.
    public var missingCount: Int { rawFeatures.reduce(0) { $0 + ($1.isNaN ? 1 : 0) } }

    /// What samplers read: the labels and the metadata.
    public var samplerData: SamplerData { SamplerData(labels: labels, metadata: metadata) }

    /// The rows of each class id.
    public var rowsByClass: [[Int]] {
        var rows = [[Int]](repeating: [], count: classCount)
        for (row, label) in labels.enumerated() { rows[label].append(row) }
        return rows
    }

    /// "line 12" for a row read from a file, "row 11" otherwise (0-based).
    public func location(ofRow row: Int) -> String {
        if let lines { return "line \(lines[row])" }
        return "row \(row)"
    }

    /// The label text of a row.
    public func className(ofRow row: Int) -> String { classNames[labels[row]] }

    /// A metadata column by name, matched exactly or ignoring case, `-`, `_` and spaces.
    public func metadataColumn(named name: String) -> MetadataColumn? {
        samplerData.column(named: name)?.column
    }

    /// The rows given, in that order, with their class ids and names kept (so ids still index
    /// `classNames`, and a class may have no rows in the subset).
    public func subset(_ rows: [Int]) throws -> Dataset {
        guard !rows.isEmpty else { throw SimileError.empty("\(source): the subset has no rows") }
        if let bad = rows.first(where: { $0 < 0 || $0 >= count }) {
            throw SimileError.invalidInput("\(source): row \(bad) is not in 0..<\(count)")
        }
        var features: [Double] = []
        features.reserveCapacity(rows.count * featureCount)
        for row in rows { features += rawFeatures[(row * featureCount)..<((row + 1) * featureCount)] }
        var columns: [String: MetadataColumn] = [:]
        for (name, column) in metadata { columns[name] = column.selecting(rows) }
        return try Dataset(source: source, labelColumn: labelColumn, featureNames: featureNames,
                           rawFeatures: features, labels: rows.map { labels[$0] }, classNames: classNames,
                           metadataNames: metadataNames, metadata: columns,
                           lines: lines.map { all in rows.map { all[$0] } }, missingValues: missingValues)
    }
}

extension MetadataColumn {
    /// The values at the given rows.
    public func selecting(_ rows: [Int]) -> MetadataColumn {
        switch self {
        case let .categorical(values): .categorical(rows.map { values[$0] })
        case let .numeric(values): .numeric(rows.map { values[$0] })
        case let .flags(values): .flags(rows.map { values[$0] })
        }
    }

    /// The value of a row as text ("true"/"false" for flags, the shortest decimal for numbers), nil when missing.
    public func text(at row: Int) -> String? {
        switch self {
        case let .categorical(values): values[row]
        case let .numeric(values): values[row].map(ParameterValue.format)
        case let .flags(values): values[row].map { $0 ? "true" : "false" }
        }
    }

    /// "categorical", "numeric" or "flags".
    public var typeName: String {
        switch self {
        case .categorical: "categorical"
        case .numeric: "numeric"
        case .flags: "flags"
        }
    }
}
