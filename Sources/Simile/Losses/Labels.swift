/// What the rows of a batch are labelled with.
public enum Labels: Sendable, Equatable {
    /// A class (identity) per row: rows with equal labels are positives of each other.
    case classes([Int])
    /// A real vector per row (one row per sample), for losses on continuous labels such as log-ratio.
    case continuous(Matrix<Double>)

    public var count: Int {
        switch self {
        case let .classes(labels): labels.count
        case let .continuous(values): values.rows
        }
    }

    /// The class labels, or nil for continuous labels.
    public var classes: [Int]? {
        if case let .classes(labels) = self { return labels }
        return nil
    }
}

extension Labels: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Int...) {
        self = .classes(elements)
    }
}
