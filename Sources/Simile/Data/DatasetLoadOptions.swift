/// How a CSV file becomes a `Dataset`: which column is the label, which are features and which are
/// metadata.
///
/// Column roles are decided in this order:
/// 1. `label` is the class label (the identity, e.g. the patient).
/// 2. `ignored` columns are dropped.
/// 3. `metadata` columns, and (unless `recognizeMetadataNames` is false) every column whose name is
///    one of `recognizedMetadataNames`, are metadata.
/// 4. `features` columns are the features when given (every other column is then unused);
///    otherwise every remaining column that is mostly numbers is a feature, and every remaining
///    column that is mostly text becomes categorical metadata.
///
/// Names are matched exactly first, then ignoring case, `-`, `_` and spaces (`qt-bucket` finds
/// `qt_bucket`).
public struct DatasetLoadOptions: Sendable, Equatable {
    /// The label column.
    public var label: String
    /// The feature columns, in this order; nil picks every numeric column that has no other role.
    public var features: [String]?
    /// Metadata columns besides the recognised names.
    public var metadata: [String]
    /// Columns to drop.
    public var ignored: [String]
    /// Whether the names in `recognizedMetadataNames` are metadata without being named.
    public var recognizeMetadataNames: Bool
    /// What an empty feature cell does.
    public var missingValues: MissingValuePolicy

    public init(label: String, features: [String]? = nil, metadata: [String] = [], ignored: [String] = [],
                recognizeMetadataNames: Bool = true, missingValues: MissingValuePolicy = .reject) {
        self.label = label
        self.features = features
        self.metadata = metadata
        self.ignored = ignored
        self.recognizeMetadataNames = recognizeMetadataNames
        self.missingValues = missingValues
    }

    /// Column names that are metadata by default (compared ignoring case, `-`, `_` and spaces):
    /// sex and QT-range strata, quality flags, activity or state labels, exam dates and day
    /// numbers, and exam or window ids. They cover the synthetic ECG cohort (`sex`, `qt_bucket`,
    /// `state`, `InRange`, `exam_date`), pbcseq (`exam_day`) and GUDB (`activity`, `window`).
    public static let recognizedMetadataNames: [String] = [
        "sex", "gender", "qt_bucket", "qt_range", "qt_class", "InRange", "in_range", "quality", "state",
        "activity", "exam_date", "date", "exam_day", "day", "days", "exam_id", "window",
    ]

    /// Column names a date parameter falls back to, in order of preference.
    public static let recognizedDateNames: [String] = ["exam_date", "date", "exam_day", "day", "days"]

    /// Whether a column name is one of the recognised metadata names.
    public static func isRecognizedMetadata(_ name: String) -> Bool {
        let folded = Suggestions.fold(name)
        return recognizedMetadataNames.contains { Suggestions.fold($0) == folded }
    }

    /// The tokens that mark an empty cell (compared ignoring case).
    public static let missingTokens: Set<String> = ["", "na", "n/a", "nan", "null", "?"]
}
