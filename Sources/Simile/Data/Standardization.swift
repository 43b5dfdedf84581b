/// Z-score standardisation of features, fitted on the training rows only and stored, so that the
/// same transform applies later to new rows (`simile embed`).
///
/// Fitting, per feature column over the training rows: the median of the observed values (the
/// imputation value under `impute-median`), then, after imputation, the mean μ and the population
/// standard deviation σ. Applying: a missing value becomes the training median (or is an error
/// under `reject`), then z = (x − μ) / σ. A column that is constant over the training rows has
/// σ = 0 and is only centred (σ is stored as 1), so it never produces NaN.
public struct Standardization: Sendable, Codable, Equatable {
    /// The feature columns, in the order of the output.
    public let featureNames: [String]
    public let means: [Double]
    /// σ per feature (1 for a constant column).
    public let scales: [Double]
    /// The training median of each feature: what a missing value becomes under `impute-median`.
    public let medians: [Double]
    public let missingValues: MissingValuePolicy
    /// How many rows it was fitted on.
    public let trainingRows: Int

    public init(featureNames: [String], means: [Double], scales: [Double], medians: [Double],
                missingValues: MissingValuePolicy, trainingRows: Int) throws {
        let count = featureNames.count
        guard means.count == count, scales.count == count, medians.count == count else {
            throw SimileError.shapeMismatch(
                "a standardisation needs one mean, scale and median per feature (\(count) features)")
        }
        guard means.allSatisfy(\.isFinite), medians.allSatisfy(\.isFinite),
              scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw SimileError.invalidInput("a standardisation needs finite means and medians and positive scales")
        }
        self.featureNames = featureNames
        self.means = means
        self.scales = scales
        self.medians = medians
        self.missingValues = missingValues
        self.trainingRows = trainingRows
    }

    /// Fits on `rows` of the data (all rows when nil), with the data's missing-value policy unless
    /// another is given.
    public init(fitting data: Dataset, rows: [Int]? = nil, missingValues: MissingValuePolicy? = nil) throws {
        let policy = missingValues ?? data.missingValues
        let rows = rows ?? Array(0..<data.count)
        guard !rows.isEmpty else { throw SimileError.empty("cannot fit a standardisation on no rows") }
        if let bad = rows.first(where: { $0 < 0 || $0 >= data.count }) {
            throw SimileError.invalidInput("\(data.source): training row \(bad) is not in 0..<\(data.count)")
        }
        var means: [Double] = [], scales: [Double] = [], medians: [Double] = []
        for feature in 0..<data.featureCount {
            var observed: [Double] = []
            observed.reserveCapacity(rows.count)
            for row in rows {
                if let value = data.value(row: row, feature: feature) {
                    observed.append(value)
                } else if policy == .reject {
                    throw SimileError.invalidInput(
                        "\(data.source) \(data.location(ofRow: row)), column '\(data.featureNames[feature])': the value is missing; fill it in, or use the impute-median missing-value policy")
                }
            }
            guard !observed.isEmpty else {
                throw SimileError.invalidInput(
                    "\(data.source): feature column '\(data.featureNames[feature])' has no values in the \(rows.count) training rows, so it has no median; drop the column or fill it in")
            }
            let median = Self.median(observed)
            let missing = rows.count - observed.count
            let sum = observed.reduce(0, +) + Double(missing) * median
            let mean = sum / Double(rows.count)
            var squares = observed.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            squares += Double(missing) * (median - mean) * (median - mean)
            let deviation = (squares / Double(rows.count)).squareRoot()
            means.append(mean)
            medians.append(median)
            scales.append(deviation > 1e-12 * max(1, abs(mean)) ? deviation : 1)
        }
        try self.init(featureNames: data.featureNames, means: means, scales: scales, medians: medians,
                      missingValues: policy, trainingRows: rows.count)
    }

    /// The standardised features of `rows` (all rows when nil), in `featureNames` order. The data's
    /// feature columns are matched by name, so a file with its columns in another order, or with
    /// extra columns, works; a missing column is an error.
    public func apply(_ data: Dataset, rows: [Int]? = nil) throws -> Matrix<Double> {
        let rows = rows ?? Array(0..<data.count)
        var columnOf: [Int] = []
        for name in featureNames {
            guard let index = data.featureNames.firstIndex(of: name) else {
                var message = "\(data.source) has no feature column '\(name)', which the standardisation was fitted on"
                if let suggestion = Suggestions.closest(to: name, among: data.featureNames) {
                    message += "; did you mean '\(suggestion)'?"
                }
                throw SimileError.invalidInput(message)
            }
            columnOf.append(index)
        }
        var out = Matrix<Double>(rows: rows.count, columns: featureNames.count)
        for (i, row) in rows.enumerated() {
            guard row >= 0 && row < data.count else {
                throw SimileError.invalidInput("\(data.source): row \(row) is not in 0..<\(data.count)")
            }
            for (j, column) in columnOf.enumerated() {
                var value: Double
                if let observed = data.value(row: row, feature: column) {
                    value = observed
                } else {
                    guard missingValues == .imputeMedian else {
                        throw SimileError.invalidInput(
                            "\(data.source) \(data.location(ofRow: row)), column '\(featureNames[j])': the value is missing; fill it in, or use the impute-median missing-value policy")
                    }
                    value = medians[j]
                }
                out[i, j] = (value - means[j]) / scales[j]
            }
        }
        return out
    }

    /// One row of raw values in `featureNames` order (nil for missing), standardised.
    public func apply(row values: [Double?]) throws -> [Double] {
        guard values.count == featureNames.count else {
            throw SimileError.shapeMismatch("the row has \(values.count) values but the standardisation has \(featureNames.count) features")
        }
        return try values.enumerated().map { j, value in
            guard let value else {
                guard missingValues == .imputeMedian else {
                    throw SimileError.invalidInput("feature '\(featureNames[j])' is missing; fill it in, or use the impute-median missing-value policy")
                }
                return (medians[j] - means[j]) / scales[j]
            }
            guard value.isFinite else {
                throw SimileError.invalidInput("feature '\(featureNames[j])' is \(value); use a finite number")
            }
            return (value - means[j]) / scales[j]
        }
    }

    /// The median (the mean of the two middle values for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
