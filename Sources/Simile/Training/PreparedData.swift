/// A data set made ready for training: split into training and evaluation rows, standardised with
/// statistics fitted on the training rows only.
///
/// With a separate test set (`simile train --test FILE`), every row of `data` trains and the test
/// set's own rows are evaluated. Otherwise `data` is split by subject (unseen patients, the
/// default) or by exam (enrolment), seeded.
public struct PreparedData: Sendable {
    public let train: Dataset
    public let test: Dataset
    /// The split of `data` (nil when a separate test set was given).
    public let split: DataSplit?
    public let standardization: Standardization
    /// Standardised features, Float32 (what the model reads).
    public let trainFeatures: Matrix<Float>
    public let testFeatures: Matrix<Float>

    public init(_ data: Dataset, test: Dataset? = nil, strategy: SplitStrategy = .bySubject, testFraction: Double = 0.25,
                seed: UInt64 = 0) throws {
        let trainRows: [Int]
        if let test {
            split = nil
            trainRows = Array(0..<data.count)
            self.test = test
        } else {
            let split = try DataSplit(labels: data.labels, strategy: strategy, testFraction: testFraction, seed: seed)
            self.split = split
            trainRows = split.train
            self.test = try data.subset(split.test)
        }
        train = try data.subset(trainRows)
        standardization = try Standardization(fitting: train)
        trainFeatures = try standardization.apply(train).converted(to: Float.self)
        testFeatures = try standardization.apply(self.test).converted(to: Float.self)
    }

    /// Rows of the training features, in order.
    public func trainRows(_ rows: [Int]) -> Matrix<Float> {
        Self.gather(trainFeatures, rows)
    }

    static func gather(_ matrix: Matrix<Float>, _ rows: [Int]) -> Matrix<Float> {
        let columns = matrix.columns
        var out = [Float](repeating: 0, count: rows.count * columns)
        for (i, row) in rows.enumerated() {
            for j in 0..<columns { out[i * columns + j] = matrix.elements[row * columns + j] }
        }
        return Matrix(rows: rows.count, columns: columns, elements: out)
    }
}
