/// How rows are divided into training and test rows.
public enum SplitStrategy: String, Sendable, Codable, CaseIterable {
    /// Unseen-subject retrieval (the default): a fraction of the classes (patients) goes to the
    /// test split with all their rows, so the test asks whether the model recognises people it
    /// has never seen.
    case bySubject = "by-subject"
    /// Enrolment: every class with at least two rows keeps some rows for training and holds a
    /// fraction of its rows out for test, so the test asks whether the model recognises new exams
    /// of known people. Classes with one row stay in training.
    case byExam = "by-exam"
}

/// A seeded, deterministic split of rows into training and test rows.
public struct DataSplit: Sendable, Codable, Equatable {
    public let strategy: SplitStrategy
    /// Row indices, ascending.
    public let train: [Int]
    /// Row indices, ascending.
    public let test: [Int]

    /// Splits the rows (all of them, or only `rows`) by their labels.
    ///
    /// - by-subject: round(testFraction × C) of the C classes, at least 1 and at most C − 1, chosen
    ///   at random, go to test.
    /// - by-exam: in each class with n ≥ 2 rows, round(testFraction × n) rows, at least 1 and at
    ///   most n − 1, chosen at random, go to test.
    ///
    /// The same labels, fraction and seed give the same split. Indices refer to the full data even
    /// when `rows` selects a subset (so a validation split can be cut from the training rows).
    public init(labels: [Int], rows: [Int]? = nil, strategy: SplitStrategy = .bySubject, testFraction: Double = 0.2,
                seed: UInt64 = 0) throws {
        guard testFraction > 0, testFraction < 1 else {
            throw SimileError.parameterOutOfRange(component: "split", parameter: "test-fraction",
                                                  value: ParameterValue.format(testFraction), range: "0 < x < 1")
        }
        let rows = rows ?? Array(labels.indices)
        if let bad = rows.first(where: { $0 < 0 || $0 >= labels.count }) {
            throw SimileError.invalidInput("split: row \(bad) is not in 0..<\(labels.count)")
        }
        var classOrder: [Int] = []
        var rowsOf: [Int: [Int]] = [:]
        for row in rows {
            let label = labels[row]
            if rowsOf[label] == nil { classOrder.append(label) }
            rowsOf[label, default: []].append(row)
        }
        var random = SeededGenerator(seed: seed, stream: 0x5B17)
        var test: [Int] = []
        switch strategy {
        case .bySubject:
            guard classOrder.count >= 2 else {
                throw SimileError.invalidInput(
                    "a by-subject split needs at least 2 classes (labels), but the data has \(classOrder.count); use a by-exam split")
            }
            let count = min(classOrder.count - 1, max(1, Int((testFraction * Double(classOrder.count)).rounded())))
            for label in random.sample(classOrder, count: count) { test += rowsOf[label]! }
        case .byExam:
            var anyHeldOut = false
            for label in classOrder {
                let members = rowsOf[label]!
                guard members.count >= 2 else { continue }
                let count = min(members.count - 1, max(1, Int((testFraction * Double(members.count)).rounded())))
                test += random.sample(members, count: count)
                anyHeldOut = true
            }
            guard anyHeldOut else {
                throw SimileError.invalidInput(
                    "a by-exam split needs a class with at least 2 rows, but every class has 1; use a by-subject split")
            }
        }
        let testSet = Set(test)
        self.strategy = strategy
        self.test = test.sorted()
        train = rows.filter { !testSet.contains($0) }.sorted()
    }
}
