import Testing
@testable import Simile

/// Every registered regularizer, with every example parameter set, has analytic gradients (with
/// respect to its matrix and to its own parameters) that agree with finite differences; so does
/// a loss composed with regularizers of both kinds.
struct RegularizerGradientTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let regularizer: String
        let parameters: [String]
        var testDescription: String { "\(regularizer)(\(parameters.joined(separator: ", ")))" }
    }

    static var cases: [Case] {
        Registry.builtin.descriptors(.regularizer).flatMap { descriptor in
            (descriptor.examples.isEmpty ? [[]] : descriptor.examples).map {
                Case(regularizer: descriptor.name, parameters: $0)
            }
        }
    }

    /// Gaussian rows whose columns have standard deviations 0.3, 0.6, 0.9, ... so that hinges on a
    /// dimension's spread (batch-variance) are active for some columns and not for others.
    static func matrix(rows: Int, columns: Int, seed: UInt64) -> Matrix<Double> {
        var x = Problems.gaussian(rows: rows, columns: columns, seed: seed)
        for i in 0..<rows {
            for k in 0..<columns { x[i, k] *= 0.3 * Double(k + 1) }
        }
        return x
    }

    /// A problem that fits the regularizer: its matrix, labels where it reads embeddings, and values
    /// (not the initial ones) for its own parameters.
    static func problem(for regularizer: any Regularizer)
        -> (matrix: Matrix<Double>, labels: [Int]?, parameters: [String: Matrix<Double>]) {
        var rows = Problems.labels.count, columns = 5
        var labels: [Int]? = regularizer.applies(to: .embeddings) ? Problems.labels : nil
        if let sparse = regularizer as? SparseCentersRegularizer { rows = sparse.numClasses * sparse.centersPerClass }
        if let center = regularizer as? CenterRegularizer {
            columns = center.embeddingSize
            labels = Problems.labels.map { $0 % center.numClasses }
        }
        var parameters: [String: Matrix<Double>] = [:]
        if let trainable = regularizer as? any TrainableRegularizer {
            for (seed, (name, start)) in trainable.initialParameters().sorted(by: { $0.key < $1.key }).enumerated() {
                parameters[name] = Problems.gaussian(rows: start.rows, columns: start.columns, seed: 50 + UInt64(seed))
            }
        }
        return (matrix(rows: rows, columns: columns, seed: 7), labels, parameters)
    }

    @Test func everyRegularizerHasExamples() {
        let descriptors = Registry.builtin.descriptors(.regularizer)
        #expect(descriptors.count == 7)
        for descriptor in descriptors { #expect(!descriptor.examples.isEmpty, "\(descriptor.name) has no examples") }
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ testCase: Case) throws {
        let regularizer = try Registry.builtin.regularizer(Registry.builtin.spec(testCase.regularizer, testCase.parameters))
        let problem = Self.problem(for: regularizer)
        let output = try regularizer(problem.matrix, labels: problem.labels, parameters: problem.parameters)
        #expect(output.value.isFinite)
        #expect(output.gradient.maxAbsoluteValue > 0, "the problem exercises no gradient")
        #expect(Set(output.parameterGradients.keys) == Set(problem.parameters.keys))
        let problems = try GradientCheck.mismatches(regularizer, problem.matrix, labels: problem.labels,
                                                    parameters: problem.parameters)
        #expect(problems.isEmpty, "\(problems.prefix(8).joined(separator: "\n"))")
    }

    /// The Float path agrees with the Double path (the same code, specialised for production).
    @Test(arguments: cases)
    func floatAgreesWithDouble(_ testCase: Case) throws {
        let regularizer = try Registry.builtin.regularizer(Registry.builtin.spec(testCase.regularizer, testCase.parameters))
        let problem = Self.problem(for: regularizer)
        let exact = try regularizer(problem.matrix, labels: problem.labels, parameters: problem.parameters)
        let single = try regularizer(problem.matrix.converted(to: Float.self), labels: problem.labels,
                                     parameters: problem.parameters.mapValues { $0.converted(to: Float.self) })
        #expect(abs(single.value - exact.value) <= 1e-5 * (1 + abs(exact.value)))
        #expect(maxDifference(single.gradient, exact.gradient.nestedRows) <= 1e-4 * (1 + exact.gradient.maxAbsoluteValue))
    }

    // MARK: Composition

    /// A Trainable loss with a C×D parameter `proxies`, for composing parameter regularizers:
    /// L = (1/N) Σᵢ xᵢ·p_{yᵢ} + ¼ Σ p², which has a gradient for every proxy entry.
    struct ProxyFake: Loss, Trainable {
        static let descriptor = ComponentDescriptor(kind: .loss, name: "proxy-fake", summary: "A test loss with proxies.")
        let rows: Int
        let columns: Int
        init(_ arguments: Arguments) throws {
            rows = 6
            columns = 5
        }
        init(rows: Int, columns: Int) {
            self.rows = rows
            self.columns = columns
        }
        func initialParameters() -> [String: Matrix<Double>] {
            ["proxies": Problems.gaussian(rows: rows, columns: columns, seed: 77)]
        }
        var learningRateMultiplier: Double { 100 }
        func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
            let labels = try input.classLabels(name)
            let x = input.embeddings, p = input.parameters["proxies"]!
            let n = Double(x.rows)
            var value = 0.0
            var gx = Matrix<S>(rows: x.rows, columns: x.columns)
            var gp = Matrix<S>(rows: p.rows, columns: p.columns)
            for c in 0..<p.rows {
                for k in 0..<p.columns {
                    value += Double(p[c, k] * p[c, k]) / 4
                    gp[c, k] = p[c, k] / 2
                }
            }
            for i in 0..<x.rows {
                for k in 0..<x.columns {
                    value += Double(x[i, k] * p[labels[i], k]) / n
                    gx[i, k] = p[labels[i], k] / S(n)
                    gp[labels[i], k] += x[i, k] / S(n)
                }
            }
            return LossOutput(value: value, gradient: gx, parameterGradients: ["proxies": gp],
                              subLosses: [SubLoss(name: "loss", value: value)])
        }
    }

    @Test func compositionWithALearnedBetaMatchesFiniteDifferences() throws {
        let composition = try RegularizedLoss(loss: "margin(learn-beta=true, nu=0.1, num-classes=4)", regularizers: [
            (weight: 0.5, regularizer: "center(num-classes=4, embedding-size=5)", target: "embeddings"),
            (weight: 0.7, regularizer: "batch-variance", target: "embeddings"),
            (weight: 0.2, regularizer: "zero-mean", target: "embeddings"),
            (weight: 0.3, regularizer: "lp(power=2)", target: "beta"),
            (weight: 0.4, regularizer: "lp", target: "beta"),
        ])
        let problem = Problems.standard()
        let parameters = ["beta": Matrix<Double>(rows: 4, columns: 1, elements: [1.1, 1.3, 0.9, 1.2]),
                          "center.centers": Problems.gaussian(rows: 4, columns: 5, seed: 31)]
        let embeddings = Self.matrix(rows: problem.embeddings.rows, columns: 5, seed: 1)
        let output = try composition(embeddings, Problems.labels, parameters: parameters)
        #expect(Set(output.parameterGradients.keys) == ["beta", "center.centers"])
        let problems = try GradientCheck.mismatches(composition, embeddings, Problems.labels, parameters: parameters)
        #expect(problems.isEmpty, "\(problems.prefix(8).joined(separator: "\n"))")
    }

    @Test(arguments: [
        ("regular-face", "proxies", 6),
        ("center-invariant", "proxies", 6),
        ("sparse-centers(num-classes=3, centers-per-class=2)", "proxies", 6),
        ("lp(p=3, power=2)", "proxies", 6),
    ])
    func compositionWithProxiesMatchesFiniteDifferences(_ regularizer: String, _ target: String, _ rows: Int) throws {
        let fake = ProxyFake(rows: rows, columns: 5)
        let composition = try RegularizedLoss(fake, [
            RegularizedLoss.Term(try Registry.builtin.regularizer(regularizer), weight: 0.8, target: .init(target)),
            RegularizedLoss.Term(try Registry.builtin.regularizer("center(num-classes=4, embedding-size=5)"), weight: 0.6),
        ])
        let embeddings = Self.matrix(rows: Problems.labels.count, columns: 5, seed: 3)
        let parameters = ["proxies": Problems.gaussian(rows: rows, columns: 5, seed: 5),
                          "center.centers": Problems.gaussian(rows: 4, columns: 5, seed: 6)]
        let problems = try GradientCheck.mismatches(composition, embeddings, Problems.labels, parameters: parameters)
        #expect(problems.isEmpty, "\(problems.prefix(8).joined(separator: "\n"))")
        // Parameters left out start at their initial values, and the gradients still match.
        let initial = try GradientCheck.mismatches(composition, embeddings, Problems.labels,
                                                   parameters: composition.initialParameters())
        #expect(initial.isEmpty, "\(initial.prefix(8).joined(separator: "\n"))")
    }
}
