/// What happens to an empty feature cell (empty, `NA`, `N/A`, `NaN`, `null` or `?`).
public enum MissingValuePolicy: String, Sendable, Codable, CaseIterable {
    /// Loading fails with an error that names the line and the column.
    case reject
    /// The cell takes the median of its column over the training split (see `Standardization`).
    case imputeMedian = "impute-median"
}
