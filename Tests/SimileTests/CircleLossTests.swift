import Foundation
import Testing
@testable import Simile

/// Circle loss: its gradient holds αₚ and αₙ fixed (as the paper and PML do), so instead of the
/// generic finite-difference test it is checked against finite differences of a naive
/// reference in which α is frozen at the unperturbed point.
struct CircleLossTests {
    /// A direct, loop-by-loop circle loss in Double.
    struct Naive {
        var m = 0.4
        var gamma = 80.0
        var averageNonZero = true
        /// Weights by class label (class-weighted reducer), or nil.
        var classWeights: [Double]? = nil

        static func cosines(_ x: [[Double]], _ y: [[Double]]) -> [[Double]] {
            func unit(_ v: [Double]) -> [Double] {
                let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                return v.map { $0 / norm }
            }
            let xs = x.map(unit), ys = y.map(unit)
            return xs.map { a in ys.map { b in zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } } }
        }

        /// α at the given similarities: αₚ = [1 + m − s]₊ for positives, αₙ = [s + m]₊ for negatives.
        func alphas(_ s: [[Double]], positive: [[Bool]]) -> [[Double]] {
            s.indices.map { a in
                s[a].indices.map { j in positive[a][j] ? max(0, 1 + m - s[a][j]) : max(0, s[a][j] + m) }
            }
        }

        func perAnchor(_ s: [[Double]], positive: [[Bool]], negative: [[Bool]], alpha: [[Double]]) -> [Double] {
            s.indices.map { a in
                var pos: [Double] = [], neg: [Double] = []
                for j in s[a].indices {
                    if positive[a][j] { pos.append(-gamma * alpha[a][j] * (s[a][j] - (1 - m))) }
                    if negative[a][j] { neg.append(gamma * alpha[a][j] * (s[a][j] - m)) }
                }
                guard !pos.isEmpty, !neg.isEmpty else { return 0 }
                func lse(_ v: [Double]) -> Double {
                    let top = v.max()!
                    return top + log(v.reduce(0) { $0 + exp($1 - top) })
                }
                let x = lse(pos) + lse(neg)
                return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
            }
        }

        func reduce(_ values: [Double], labels: [Int]) -> Double {
            if let classWeights {
                return zip(values, labels).reduce(0) { $0 + classWeights[$1.1] * $1.0 } / Double(values.count)
            }
            if averageNonZero {
                let active = values.filter { $0 > 0 }
                return active.isEmpty ? 0 : active.reduce(0, +) / Double(active.count)
            }
            return values.reduce(0, +) / Double(values.count)
        }
    }

    /// Positive and negative masks of a problem (mined pairs act as masks, as in PML).
    static func masks(_ problem: GradientCheck.Problem) -> (positive: [[Bool]], negative: [[Bool]]) {
        let labels = problem.labels.classes!
        let reference = problem.referenceLabels?.classes ?? labels
        let isSelf = problem.reference == nil
        var positive = labels.indices.map { _ in [Bool](repeating: false, count: reference.count) }
        var negative = positive
        if let tuples = problem.tuples {
            let (pos, neg) = tuples.asPairs
            for pair in pos { positive[pair.anchor][pair.other] = true }
            for pair in neg { negative[pair.anchor][pair.other] = true }
        } else {
            for a in labels.indices {
                for j in reference.indices {
                    if isSelf && a == j { continue }
                    if labels[a] == reference[j] { positive[a][j] = true } else { negative[a][j] = true }
                }
            }
        }
        return (positive, negative)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let parameters: [String]
        let form: String
        var testDescription: String { "circle(\(parameters.joined(separator: ", "))) on \(form)" }
    }

    static let cases: [Case] = [
        Case(parameters: [], form: "all"), Case(parameters: [], form: "reference"),
        Case(parameters: [], form: "pairs"), Case(parameters: [], form: "triplets"),
        Case(parameters: ["m=0.25", "gamma=256"], form: "all"), Case(parameters: ["reducer=mean"], form: "all"),
        Case(parameters: ["m=-0.1", "gamma=16"], form: "reference"),
        Case(parameters: ["reducer=class-weighted(weights=[1, 2, 0.5, 1.5])"], form: "all"),
    ]

    static func naive(for parameters: [String]) -> Naive {
        var naive = Naive()
        for parameter in parameters {
            let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            switch parts[0] {
            case "m": naive.m = Double(parts[1])!
            case "gamma": naive.gamma = Double(parts[1])!
            case "reducer" where parts[1] == "mean": naive.averageNonZero = false
            case "reducer": naive.classWeights = [1, 2, 0.5, 1.5]
            default: break
            }
        }
        return naive
    }

    /// Simile's value equals the naive one, and Simile's gradient equals the finite differences of
    /// the naive loss with α frozen at the unperturbed point.
    @Test(arguments: cases)
    func gradientIsTheDerivativeWithAlphaFrozen(_ testCase: Case) throws {
        let loss = try Registry.builtin.loss("circle", testCase.parameters)
        var problem = testCase.form == "reference" ? Problems.withReference() : Problems.standard()
        if testCase.form == "pairs" { problem.tuples = Problems.minedPairs() }
        if testCase.form == "triplets" { problem.tuples = Problems.minedTriplets() }
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: problem.tuples,
                                                  reference: problem.reference,
                                                  referenceLabels: problem.referenceLabels)
        let naive = Self.naive(for: testCase.parameters)
        let (positive, negative) = Self.masks(problem)
        let labels = problem.labels.classes!

        func value(_ x: Matrix<Double>, _ y: Matrix<Double>?, alpha: [[Double]]?) -> Double {
            let s = Naive.cosines(x.nestedRows, (y ?? x).nestedRows)
            let frozen = alpha ?? naive.alphas(s, positive: positive)
            return naive.reduce(naive.perAnchor(s, positive: positive, negative: negative, alpha: frozen), labels: labels)
        }
        let expected = value(problem.embeddings, problem.reference, alpha: nil)
        #expect(abs(output.value - expected) <= 1e-10 * (1 + abs(expected)), "value \(output.value), naive \(expected)")

        let s0 = Naive.cosines(problem.embeddings.nestedRows, (problem.reference ?? problem.embeddings).nestedRows)
        let alpha = naive.alphas(s0, positive: positive)
        let h = GradientCheck.step
        func check(_ name: String, _ gradient: Matrix<Double>, _ perturbed: (Int, Double) -> (Matrix<Double>, Matrix<Double>?)) {
            let scale = gradient.maxAbsoluteValue
            #expect(scale > 0, "\(name): the gradient is zero")
            for index in gradient.elements.indices {
                let (xp, yp) = perturbed(index, h), (xm, ym) = perturbed(index, -h)
                let numeric = (value(xp, yp, alpha: alpha) - value(xm, ym, alpha: alpha)) / (2 * h)
                let exact = gradient.elements[index]
                #expect(abs(numeric - exact) <= 1e-6 * (1 + scale) + 1e-4 * abs(exact),
                        "\(name)[\(index)]: analytic \(exact), numeric (α frozen) \(numeric)")
            }
        }
        check("embeddings", output.gradient) { index, step in
            var x = problem.embeddings
            x.elements[index] += step
            return (x, problem.reference)
        }
        if let reference = problem.reference {
            let referenceGradient = try #require(output.referenceGradient)
            check("reference", referenceGradient) { index, step in
                var y = reference
                y.elements[index] += step
                return (problem.embeddings, y)
            }
        }
    }

    /// The gradient is not the derivative of the value: finite differences through α disagree.
    @Test func gradientDetachesAlpha() throws {
        let loss = try Registry.builtin.loss("circle", [])
        let problem = Problems.standard()
        #expect(!(try GradientCheck.mismatches(loss, problem)).isEmpty)
    }

    /// Points at known angles: a = 0°, p = 60°, n = 90°, with labels [0, 0, 1].
    @Test func knownAngles() throws {
        let x = Matrix<Double>(rows: 3, columns: 2, elements: [1, 0, cos(Double.pi / 3), sin(Double.pi / 3), 0, 1])
        let loss = try Registry.builtin.loss("circle", [])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1])
        let (m, gamma) = (0.4, 80.0)
        func softplus(_ v: Double) -> Double { v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)) }
        // Anchor 0: s_p = 0.5, s_n = 0. Anchor 1: s_p = 0.5, s_n = cos 30°. Anchor 2 has no positive.
        let positiveLogit = -gamma * (1 + m - 0.5) * (0.5 - (1 - m))
        let sn1 = cos(Double.pi / 6)
        let anchor0 = softplus(positiveLogit + gamma * (0 + m) * (0 - m))
        let anchor1 = softplus(positiveLogit + gamma * (sn1 + m) * (sn1 - m))
        #expect(abs(output.value - (anchor0 + anchor1) / 2) < 1e-12)
    }

    /// Deviation: PML's class-weighted reducer returns mean(ℓ)·mean(w) for circle; Simile mean(w·ℓ).
    @Test func classWeightsMultiplyEachAnchor() throws {
        let problem = Problems.standard()
        let weights = [1.0, 2.0, 0.5, 1.5]
        let weighted = try Registry.builtin.loss("circle", ["reducer=class-weighted(weights=[1, 2, 0.5, 1.5])"])
        let output: LossOutput<Double> = try weighted(problem.embeddings, problem.labels)
        let value = output.value
        let labels = problem.labels.classes!
        let naive = Naive()
        let s = Naive.cosines(problem.embeddings.nestedRows, problem.embeddings.nestedRows)
        let (positive, negative) = Self.masks(problem)
        let perAnchor = naive.perAnchor(s, positive: positive, negative: negative, alpha: naive.alphas(s, positive: positive))
        let correct = zip(perAnchor, labels).reduce(0) { $0 + weights[$1.1] * $1.0 } / Double(labels.count)
        let pmlStyle = perAnchor.reduce(0, +) / Double(labels.count) * labels.reduce(0) { $0 + weights[$1] } / Double(labels.count)
        #expect(abs(value - correct) < 1e-10 * correct)
        #expect(abs(value - pmlStyle) > 1e-3 * correct)
    }

    /// Deviation: PML returns 0 for a batch with one positive and one negative pair; Simile does not.
    @Test func onePositiveAndOneNegativePairStillCount() throws {
        let problem = Problems.standard()
        let tuples = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(0, 3)])
        let loss = try Registry.builtin.loss("circle", [])
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: tuples)
        let s = Naive.cosines(problem.embeddings.nestedRows, problem.embeddings.nestedRows)
        let (m, gamma) = (0.4, 80.0)
        let x = -gamma * max(0, 1 + m - s[0][1]) * (s[0][1] - (1 - m)) + gamma * max(0, s[0][3] + m) * (s[0][3] - m)
        let expected = x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
        #expect(output.value > 0)
        #expect(abs(output.value - expected) < 1e-10 * (1 + expected))
    }

    @Test func edgeCasesAreFinite() throws {
        let loss = try Registry.builtin.loss("circle", [])
        // One label: no negatives, so every anchor gives 0.
        let x = Problems.gaussian(rows: 6, columns: 4, seed: 3)
        let one: LossOutput<Double> = try loss(x, [2, 2, 2, 2, 2, 2])
        #expect(one.value == 0 && one.gradient.maxAbsoluteValue == 0)
        // Duplicates within and across classes, in Float and Double.
        var d = Problems.gaussian(rows: 8, columns: 4, seed: 4)
        for k in 0..<4 { d[1, k] = d[0, k]; d[5, k] = d[2, k] }
        let labels = [0, 0, 1, 1, 2, 0, 1, 2]
        let double: LossOutput<Double> = try loss(d, labels)
        let float: LossOutput<Float> = try loss(d.converted(to: Float.self), labels)
        #expect(double.value.isFinite && double.value > 0)
        #expect(abs(float.value - double.value) <= 1e-4 * double.value)
        // Empty tuples: nothing to learn from.
        let empty: LossOutput<Double> = try loss(d, labels, tuples: .pairs(positive: [], negative: []))
        #expect(empty.value == 0 && empty.gradient.maxAbsoluteValue == 0)
    }

    /// The standalone example for `simile compute loss circle` (circle-input.json) gives PML's result.
    @Test func standaloneExampleMatchesPML() throws {
        struct Expected: Decodable {
            let loss: Double
            let gradient: [[Double]]
        }
        let request = try LossRequest.decode(
            try Data(contentsOf: Fixtures.directory.appendingPathComponent("circle-input.json")))
        let expected = try JSONDecoder().decode(
            Expected.self, from: try Data(contentsOf: Fixtures.directory.appendingPathComponent("circle-expected.json")))
        let output: LossOutput<Double> = try request.evaluate(try Registry.builtin.loss("circle", []))
        #expect(abs(output.value - expected.loss) <= 1e-9 * expected.loss)
        #expect(maxDifference(output.gradient, expected.gradient) <= 1e-9 + 1e-6 * maxAbsolute(expected.gradient))
    }

    @Test func rejectsBadParameters() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("circle", ["gamma=0"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("circle", ["m=1"]) }
        // Cosine only: there is no distance parameter.
        #expect(throws: SimileError.self) { try Registry.builtin.loss("circle", ["distance=lp"]) }
    }
}
