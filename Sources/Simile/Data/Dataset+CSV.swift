import Foundation

extension Dataset {
    /// Loads a CSV file (see `DatasetLoadOptions` for how columns get their roles).
    public init(contentsOf url: URL, options: DatasetLoadOptions) throws {
        try self.init(table: try CSVTable(contentsOf: url), options: options)
    }

    /// Loads CSV text.
    public init(csv text: String, source: String = "input", options: DatasetLoadOptions) throws {
        try self.init(table: try CSVTable(text: text, source: source), options: options)
    }

    /// Builds a dataset from a parsed CSV table.
    ///
    /// Errors name the line and the column: a missing label, a feature cell that is not a number
    /// or is infinite, a missing feature value under `.reject`, a malformed date in a date column.
    public init(table: CSVTable, options: DatasetLoadOptions) throws {
        let source = table.source
        let labelIndex = try table.columnIndex(options.label, role: "label column")
        var roles = [ColumnRole?](repeating: nil, count: table.header.count)
        roles[labelIndex] = .label

        func assign(_ names: [String], _ role: ColumnRole, what: String) throws {
            for name in names {
                let index = try table.columnIndex(name, role: what)
                if let existing = roles[index], existing != role {
                    throw SimileError.invalidInput(
                        "\(source): column '\(table.header[index])' cannot be both \(existing.word) and \(role.word)")
                }
                roles[index] = role
            }
        }
        try assign(options.ignored, .ignored, what: "column to ignore")
        try assign(options.metadata, .metadata, what: "metadata column")
        if let features = options.features {
            guard !features.isEmpty else {
                throw SimileError.invalidInput("\(source): the list of feature columns is empty; name at least one, or leave it out to use every numeric column")
            }
            try assign(features, .feature, what: "feature column")
        }
        if options.recognizeMetadataNames {
            for (index, name) in table.header.enumerated()
            where roles[index] == nil && DatasetLoadOptions.isRecognizedMetadata(name) {
                roles[index] = .metadata
            }
        }
        for index in table.header.indices where roles[index] == nil {
            if options.features != nil {
                roles[index] = .ignored
            } else {
                roles[index] = Self.isMostlyNumeric(table, column: index) ? .feature : .metadata
            }
        }

        let featureIndices: [Int]
        if let features = options.features {
            featureIndices = try features.map { try table.columnIndex($0, role: "feature column") }
        } else {
            featureIndices = table.header.indices.filter { roles[$0] == .feature }
        }
        guard !featureIndices.isEmpty else {
            throw SimileError.invalidInput(
                "\(source) has no numeric feature columns besides the label and metadata; name them with the feature-column option")
        }

        // Labels: dense ids in order of first appearance.
        var classIDs: [String: Int] = [:]
        var classNames: [String] = []
        var labels: [Int] = []
        labels.reserveCapacity(table.records.count)
        for (record, line) in zip(table.records, table.lines) {
            let text = record[labelIndex]
            guard !DatasetLoadOptions.missingTokens.contains(text.lowercased()) else {
                throw SimileError.invalidInput(
                    "\(source) line \(line), column \(labelIndex + 1) ('\(table.header[labelIndex])'): the label is missing; every row needs one")
            }
            if let id = classIDs[text] {
                labels.append(id)
            } else {
                classIDs[text] = classNames.count
                labels.append(classNames.count)
                classNames.append(text)
            }
        }

        // Features.
        let width = featureIndices.count
        var features = [Double](repeating: 0, count: table.records.count * width)
        for (row, (record, line)) in zip(table.records, table.lines).enumerated() {
            for (j, column) in featureIndices.enumerated() {
                let text = record[column]
                let name = table.header[column]
                if DatasetLoadOptions.missingTokens.contains(text.lowercased()) {
                    guard options.missingValues == .imputeMedian else {
                        throw SimileError.invalidInput(
                            "\(source) line \(line), column \(column + 1) ('\(name)'): the value is missing; fill it in, or load with the impute-median missing-value policy")
                    }
                    features[row * width + j] = .nan
                    continue
                }
                guard let value = Double(text) else {
                    throw SimileError.invalidInput(
                        "\(source) line \(line), column \(column + 1) ('\(name)'): '\(text)' is not a number; fix the value, or make '\(name)' a metadata or ignored column")
                }
                guard value.isFinite else {
                    throw SimileError.invalidInput(
                        "\(source) line \(line), column \(column + 1) ('\(name)'): '\(text)' is not finite; use a number or leave the cell empty")
                }
                features[row * width + j] = value
            }
        }

        // Metadata.
        var metadataNames: [String] = []
        var metadata: [String: MetadataColumn] = [:]
        for index in table.header.indices where roles[index] == .metadata {
            let name = table.header[index]
            metadataNames.append(name)
            metadata[name] = try Self.metadataColumn(table, column: index)
        }

        try self.init(source: source, labelColumn: table.header[labelIndex],
                      featureNames: featureIndices.map { table.header[$0] }, rawFeatures: features, labels: labels,
                      classNames: classNames, metadataNames: metadataNames, metadata: metadata, lines: table.lines,
                      missingValues: options.missingValues)
    }

    enum ColumnRole: Equatable {
        case label, feature, metadata, ignored
        var word: String {
            switch self {
            case .label: "the label"
            case .feature: "a feature"
            case .metadata: "metadata"
            case .ignored: "ignored"
            }
        }
    }

    /// More than half of the non-missing cells are numbers (or every cell is missing).
    static func isMostlyNumeric(_ table: CSVTable, column: Int) -> Bool {
        var numbers = 0, present = 0
        for record in table.records {
            let text = record[column]
            if DatasetLoadOptions.missingTokens.contains(text.lowercased()) { continue }
            present += 1
            if Double(text) != nil { numbers += 1 }
        }
        return present == 0 || 2 * numbers > present
    }

    /// A metadata column, typed by its values: every value a flag word → flags; more than half
    /// ISO dates → numeric days (a malformed date is an error); every value a number → numeric;
    /// otherwise categorical text.
    static func metadataColumn(_ table: CSVTable, column: Int) throws -> MetadataColumn {
        let values: [String?] = table.records.map { record in
            let text = record[column]
            return DatasetLoadOptions.missingTokens.contains(text.lowercased()) ? nil : text
        }
        let present = values.compactMap { $0 }
        guard !present.isEmpty else { return .categorical(values) }
        let flagWords: [String: Bool] = ["true": true, "false": false, "yes": true, "no": false, "1": true, "0": false,
                                         "1.0": true, "0.0": false]
        if present.allSatisfy({ flagWords[$0.lowercased()] != nil }) {
            return .flags(values.map { $0.flatMap { flagWords[$0.lowercased()] } })
        }
        let dates = present.reduce(0) { $0 + (ISODate.days($1) == nil ? 0 : 1) }
        if 2 * dates > present.count {
            var days: [Double?] = []
            for (row, value) in values.enumerated() {
                guard let value else {
                    days.append(nil)
                    continue
                }
                guard let day = ISODate.days(value) else {
                    throw SimileError.invalidInput(
                        "\(table.source) line \(table.lines[row]), column \(column + 1) ('\(table.header[column])'): '\(value)' is not a date of the form YYYY-MM-DD")
                }
                days.append(Double(day))
            }
            return .numeric(days)
        }
        let numbers = values.map { $0.flatMap { Double($0) } }
        if zip(values, numbers).allSatisfy({ $0 == nil || ($1?.isFinite ?? false) }) {
            return .numeric(numbers)
        }
        return .categorical(values)
    }

    /// The data as CSV text: the label column, the metadata columns, then the features (missing
    /// values as empty cells; numeric metadata named like a date written as YYYY-MM-DD when
    /// `dateColumns` lists it).
    public func csvText(dateColumns: Set<String> = []) -> String {
        let header = [labelColumn] + metadataNames + featureNames
        var rows: [[String]] = []
        rows.reserveCapacity(count)
        for row in 0..<count {
            var fields = [className(ofRow: row)]
            for name in metadataNames {
                let column = metadata[name]!
                if dateColumns.contains(name), case let .numeric(values) = column, let day = values[row] {
                    fields.append(ISODate.text(days: Int(day)))
                } else {
                    fields.append(column.text(at: row) ?? "")
                }
            }
            for feature in 0..<featureCount {
                fields.append(value(row: row, feature: feature).map { "\($0)" } ?? "")
            }
            rows.append(fields)
        }
        return CSVTable.render(header: header, rows: rows)
    }
}
