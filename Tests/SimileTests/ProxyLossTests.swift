import Foundation
import Testing
@testable import Simile

/// What the generic gradient and golden tests cannot see for the proxy and classification losses:
/// validation, initial parameters, learning-rate multipliers, miner weights and label smoothing.
struct ProxyLossTests {
    static let losses = ["proxy-nca", "proxy-anchor", "soft-triple", "arcface", "cosface", "sphereface",
                         "normalized-softmax", "sub-center-arcface", "nce"]

    /// (parameter name, rows per class) of each loss.
    static let layout: [String: (name: String, perClass: Int)] = [
        "proxy-nca": ("proxies", 1), "proxy-anchor": ("proxies", 1), "soft-triple": ("centers", 10),
        "arcface": ("weights", 1), "cosface": ("weights", 1), "sphereface": ("weights", 1),
        "normalized-softmax": ("weights", 1), "sub-center-arcface": ("weights", 3), "nce": ("weights", 1),
    ]

    func make(_ name: String, _ extra: [String] = [], classes: Int = 4, width: Int = 5) throws -> any Trainable {
        try #require(try Registry.builtin.loss(name, ["num-classes=\(classes)", "embedding-size=\(width)"] + extra)
            as? any Trainable)
    }

    @Test(arguments: losses)
    func parametersHaveTheDocumentedLayout(_ name: String) throws {
        let loss = try make(name, classes: 6, width: 7)
        let (parameter, perClass) = try #require(Self.layout[name])
        let initial = loss.initialParameters()
        #expect(Array(initial.keys) == [parameter])
        #expect(initial[parameter]!.rows == 6 * perClass && initial[parameter]!.columns == 7)
        let problem = Problems.standard(columns: 7)
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        let gradient = try #require(output.parameterGradients[parameter])
        #expect(gradient.rows == 6 * perClass && gradient.columns == 7)
        #expect(gradient.maxAbsoluteValue > 0)
        // The descriptor says where the layout is documented.
        #expect(type(of: loss).descriptor.discussion.contains("`\(parameter)`"))
    }

    @Test(arguments: losses)
    func badInputIsNamed(_ name: String) throws {
        let loss = try make(name)
        let problem = Problems.standard()  // labels 0...3, 5 columns
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        // A label outside 0..<num-classes names num-classes and the fix.
        var labels = Problems.labels
        labels[2] = 4
        let outOfRange = message { let _: LossOutput<Double> = try loss(problem.embeddings, .classes(labels)) }
        #expect(outOfRange.contains("num-classes=4") && outOfRange.contains("label 4"), "\(outOfRange)")
        labels[2] = -1
        #expect(message { let _: LossOutput<Double> = try loss(problem.embeddings, .classes(labels)) }.contains("label -1"))
        // Embeddings of the wrong width name embedding-size.
        let narrow = Problems.gaussian(rows: 10, columns: 3, seed: 4)
        let width = message { let _: LossOutput<Double> = try loss(narrow, problem.labels) }
        #expect(width.contains("embedding-size=5") && width.contains("3 columns"), "\(width)")
        // A parameter of the wrong shape, a non-finite one, and an unknown one.
        let (parameter, perClass) = try #require(Self.layout[name])
        let wrong = Matrix<Double>(rows: 3, columns: 5)
        let shape = message { let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels, parameters: [parameter: wrong]) }
        #expect(shape.contains("\(4 * perClass)×5"), "\(shape)")
        var bad = loss.initialParameters()[parameter]!
        bad[1, 2] = .nan
        #expect(message { let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels, parameters: [parameter: bad]) }
            .contains("NaN"))
        #expect(message { let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels, parameters: ["beta": wrong]) }
            .contains(parameter))
        // Required parameters.
        #expect(message { _ = try Registry.builtin.loss(name, ["embedding-size=5"]) }.contains("num-classes"))
        #expect(message { _ = try Registry.builtin.loss(name, ["num-classes=5"]) }.contains("embedding-size"))
    }

    /// The given parameter matrix is the one used: the gradient is that of the loss at those values.
    @Test(arguments: losses)
    func givenParametersAreUsed(_ name: String) throws {
        let loss = try make(name)
        let problem = Problems.standard()
        let parameter = try #require(Self.layout[name]).name
        let initial = loss.initialParameters()[parameter]!
        let other = Problems.gaussian(rows: initial.rows, columns: initial.columns, seed: 77)
        let a: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        let b: LossOutput<Double> = try loss(problem.embeddings, problem.labels, parameters: [parameter: initial])
        let c: LossOutput<Double> = try loss(problem.embeddings, problem.labels, parameters: [parameter: other])
        #expect(a.value == b.value && a.gradient == b.gradient)
        #expect(a.value != c.value)
    }

    @Test func initialParametersFollowPMLsSchemesAndTheSeed() throws {
        func moments(_ m: Matrix<Double>) -> (mean: Double, std: Double, max: Double) {
            let n = Double(m.elements.count)
            let mean = m.elements.reduce(0, +) / n
            let variance = m.elements.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            return (mean, variance.squareRoot(), m.maxAbsoluteValue)
        }
        // proxy-anchor: kaiming_normal_(fan_out) of C×D is N(0, 2/C).
        let anchor = try make("proxy-anchor", classes: 64, width: 96).initialParameters()["proxies"]!
        let a = moments(anchor)
        #expect(abs(a.mean) < 0.01 && abs(a.std / (2.0 / 64).squareRoot() - 1) < 0.05, "\(a)")
        // soft-triple: kaiming_uniform_(a=√5) of D×(C·K) is U(−b, b), b = 1/√(C·K).
        let triple = try make("soft-triple", ["centers-per-class=4"], classes: 16, width: 96).initialParameters()["centers"]!
        let bound = 1 / 64.0.squareRoot()
        let t = moments(triple)
        #expect(t.max <= bound && t.max > 0.99 * bound && abs(t.std / (bound / 3.0.squareRoot()) - 1) < 0.05, "\(t)")
        // The others: normal_, N(0, 1).
        for name in ["proxy-nca", "arcface", "cosface", "sphereface", "normalized-softmax", "sub-center-arcface", "nce"] {
            let parameter = Self.layout[name]!.name
            let m = moments(try make(name, classes: 64, width: 64).initialParameters()[parameter]!)
            #expect(abs(m.mean) < 0.05 && abs(m.std - 1) < 0.05, "\(name): \(m)")
        }
        // Deterministic by seed, different across seeds.
        for name in Self.losses {
            let parameter = Self.layout[name]!.name
            let first = try make(name, ["seed=5"]).initialParameters()[parameter]!
            let again = try make(name, ["seed=5"]).initialParameters()[parameter]!
            let other = try make(name, ["seed=6"]).initialParameters()[parameter]!
            #expect(first == again && first != other, "\(name)")
        }
    }

    @Test func learningRateMultipliers() throws {
        for name in Self.losses {
            let expected: Double = ["proxy-nca", "proxy-anchor", "soft-triple"].contains(name) ? 100 : 1
            #expect(try make(name).learningRateMultiplier == expected, "\(name)")
            #expect(try make(name, ["lr-multiplier=7"]).learningRateMultiplier == 7, "\(name)")
        }
    }

    @Test func minerWeightsAreOccurrencesOverTheLargestCount() {
        let third: Double = 1.0 / 3
        let pairs = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(0, 2)], negative: [IndexPair(0, 3), IndexPair(4, 1)])
        // Occurrences: 0 ×3, 1 ×2, 2, 3, 4 once, 5 never.
        let all: [Double] = [1, 2 * third, third, third, third, 0]
        #expect(ClassifierSupport.minerWeights(pairs, count: 6) == all)
        // Anchors only (proxy-nca): 0 ×3, 4 once.
        let anchors: [Double] = [1, 0, 0, 0, third, 0]
        #expect(ClassifierSupport.minerWeights(pairs, count: 6, anchorsOnly: true) == anchors)
        let triplets = Tuples.triplets([Triplet(2, 3, 0), Triplet(2, 3, 1)])
        let tripletWeights: [Double] = [0.5, 0.5, 1, 1]
        #expect(ClassifierSupport.minerWeights(triplets, count: 4) == tripletWeights)
        let tripletAnchors: [Double] = [0, 0, 1, 0]
        #expect(ClassifierSupport.minerWeights(triplets, count: 4, anchorsOnly: true) == tripletAnchors)
        let ones: [Double] = [1, 1, 1]
        #expect(ClassifierSupport.minerWeights(nil, count: 3) == ones)
        #expect(ClassifierSupport.minerWeights(.pairs(positive: [], negative: []), count: 3) == ones)
    }

    /// Empty tuples weigh every sample 1, which is the same as no tuples (PML's convert_to_weights).
    @Test(arguments: losses)
    func emptyTuplesAreNoTuples(_ name: String) throws {
        let loss = try make(name)
        let problem = Problems.standard()
        let plain: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        for empty: Tuples in [.triplets([]), .pairs(positive: [], negative: [])] {
            let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: empty)
            #expect(output.value == plain.value && output.gradient == plain.gradient)
        }
    }

    /// proxy-anchor applies the miner weights inside the exponent: a sample that never occurs in
    /// the tuples is damped by e⁻¹, not removed.
    @Test func proxyAnchorDampsUnminedSamples() throws {
        let loss = try make("proxy-anchor")
        let problem = Problems.standard()
        let tuples = Tuples.triplets([Triplet(0, 1, 3)])  // samples 0, 1, 3 weigh 1; the others 0
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: tuples)
        #expect(output.gradient.row(5).contains { $0 != 0 }, "an unmined sample still has a gradient")
        // Reference: the formula with w − 1 in the exponent.
        let proxies = loss.initialParameters()["proxies"]!
        let weights = ClassifierSupport.minerWeights(tuples, count: 10)
        var positive = 0.0, negative = 0.0
        for c in 0..<4 {
            var p = 0.0, n = 0.0
            for i in 0..<10 {
                let s = cosine(problem.embeddings.row(i), proxies.row(c))
                if Problems.labels[i] == c { p += Foundation.exp(-32 * (s - 0.1) + weights[i] - 1) }
                else { n += Foundation.exp(32 * (s + 0.1) + weights[i] - 1) }
            }
            positive += Foundation.log(1 + p)
            negative += Foundation.log(1 + n)
        }
        #expect(abs(output.value - (positive / 4 + negative / 4)) < 1e-10)
        #expect(abs(output.subLosses[0].value - positive / 4) < 1e-10)
    }

    /// proxy-nca with label smoothing, against the formula evaluated directly in Double (PML has no
    /// label smoothing; ε = 0 is checked against PML by the golden tests).
    @Test func proxyNCALabelSmoothingMatchesTheFormula() throws {
        let epsilon = 0.1, scale = 3.0
        let loss = try make("proxy-nca", ["label-smoothing=\(epsilon)", "softmax-scale=\(scale)"])
        let problem = Problems.standard()
        let proxies = loss.initialParameters()["proxies"]!
        let tuples = Problems.minedTriplets()
        let weights = ClassifierSupport.minerWeights(tuples, count: 10, anchorsOnly: true)
        var total = 0.0
        for i in 0..<10 {
            let logits = (0..<4).map { c in -scale * (2 - 2 * cosine(problem.embeddings.row(i), proxies.row(c))) }
            let top = logits.max()!
            let lse = top + Foundation.log(logits.reduce(0) { $0 + Foundation.exp($1 - top) })
            let logProbabilities = logits.map { $0 - lse }
            let loss = -(1 - epsilon) * logProbabilities[Problems.labels[i]] - epsilon / 4 * logProbabilities.reduce(0, +)
            total += weights[i] * loss
        }
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: tuples)
        #expect(abs(output.value - total / 10) < 1e-12, "\(output.value) vs \(total / 10)")
    }

    /// Label smoothing 0 is the plain cross-entropy, and ε > 0 moves every loss that has it.
    @Test(arguments: ["proxy-nca", "arcface", "cosface", "sphereface", "normalized-softmax", "sub-center-arcface"])
    func labelSmoothingChangesTheLoss(_ name: String) throws {
        let problem = Problems.standard()
        let a = try make(name), b = try make(name, ["label-smoothing=0"]), c = try make(name, ["label-smoothing=0.05"])
        let plain: LossOutput<Double> = try a(problem.embeddings, problem.labels)
        let zero: LossOutput<Double> = try b(problem.embeddings, problem.labels)
        let smoothed: LossOutput<Double> = try c(problem.embeddings, problem.labels)
        #expect(plain.value == zero.value)
        #expect(smoothed.value != plain.value)
        #expect(throws: SimileError.self) { _ = try Registry.builtin.loss(name, ["num-classes=4", "embedding-size=5", "label-smoothing=1"]) }
    }

    /// A large proxy-anchor α in Float: the column log-sum-exps are shifted, so nothing overflows.
    @Test func proxyAnchorLargeAlphaStaysFiniteInFloat() throws {
        let loss = try make("proxy-anchor", ["alpha=2000"])
        let problem = Problems.standard()
        let double: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        let float: LossOutput<Float> = try loss(problem.embeddings.converted(to: Float.self), problem.labels)
        #expect(double.value.isFinite && double.value > 100)
        #expect(abs(float.value - double.value) <= 1e-4 * double.value)
        #expect(float.parameterGradients["proxies"]!.firstNonFinite() == nil)
    }

    /// With a huge softmax-scale a sample's probability underflows to 0; PML drops such samples,
    /// Simile keeps them with their finite loss (the stable log-softmax).
    @Test func proxyNCAKeepsSamplesWhoseProbabilityUnderflows() throws {
        let loss = try make("proxy-nca", ["softmax-scale=1000"], classes: 2, width: 2)
        let proxies = try Matrix<Double>([[1, 0], [0, 1]])
        let x = try Matrix<Double>([[0, 1], [1, 0.01]])  // sample 0 sits on the other class's proxy
        let output: LossOutput<Double> = try loss(x, [0, 0], parameters: ["proxies": proxies])
        // ℓ₀ = 1000·(d²(x₀, p₀) − d²(x₀, p₁)) + log(1 + e^(−that)) = 1000·2; ℓ₁ ≈ 0.
        #expect(abs(output.value - 1000) < 1e-6, "\(output.value)")
        #expect(output.gradient.row(0).contains { $0 != 0 })
        #expect(output.stats["loss.active"] == 2)
    }

    /// proxy-anchor's terms are grouped by class: class-weighted weighs proxy c's terms by weights[c].
    @Test func proxyAnchorClassWeightsApplyToProxies() throws {
        let problem = Problems.standard()
        let plain = try make("proxy-anchor", ["reducer=mean"])
        let weighted = try make("proxy-anchor", ["reducer=class-weighted(weights=[1, 2, 0.5, 3])"])
        let a: LossOutput<Double> = try plain(problem.embeddings, problem.labels)
        let b: LossOutput<Double> = try weighted(problem.embeddings, problem.labels)
        #expect(a.subLosses.count == 2 && b.subLosses.count == 2)
        // The per-class terms, by hand.
        let proxies = plain.initialParameters()["proxies"]!
        var positive = [Double](repeating: 0, count: 4), negative = [Double](repeating: 0, count: 4)
        for c in 0..<4 {
            var p = 0.0, n = 0.0
            for i in 0..<10 {
                let s = cosine(problem.embeddings.row(i), proxies.row(c))
                if Problems.labels[i] == c { p += Foundation.exp(-32 * (s - 0.1)) } else { n += Foundation.exp(32 * (s + 0.1)) }
            }
            positive[c] = Foundation.log(1 + p)
            negative[c] = Foundation.log(1 + n)
        }
        let w = [1, 2, 0.5, 3]
        #expect(abs(a.subLosses[0].value - positive.reduce(0, +) / 4) < 1e-10)
        #expect(abs(b.subLosses[0].value - zip(w, positive).reduce(0) { $0 + $1.0 * $1.1 } / 4) < 1e-10)
        #expect(abs(b.subLosses[1].value - zip(w, negative).reduce(0) { $0 + $1.0 * $1.1 } / 4) < 1e-10)
    }

    @Test func softTripleNeedsASimilarity() {
        do {
            _ = try Registry.builtin.loss("soft-triple", ["num-classes=3", "embedding-size=4", "distance=lp"])
            Issue.record("soft-triple accepted a distance")
        } catch {
            #expect("\(error)".contains("similarity"))
        }
    }

    @Test func aliasesNameTheSameLosses() throws {
        let registry = Registry.builtin
        #expect(try registry.loss("large-margin-softmax", ["num-classes=3", "embedding-size=4"]).name == "sphereface")
        #expect(try registry.loss("a-softmax", ["num-classes=3", "embedding-size=4"]).name == "sphereface")
        #expect(try registry.loss("am-softmax", ["num-classes=3", "embedding-size=4"]).name == "cosface")
    }

    private func cosine(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let na = a.reduce(0) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return dot / (na * nb)
    }
}
