import Foundation
import Testing
@testable import Simile

struct SiameseLossTests {
    /// The head and the two sub-losses by brute force over pairs (mean reducer).
    static func naive(_ x: Matrix<Double>, _ labels: [Int], reference r: Matrix<Double>, _ referenceLabels: [Int],
                      isSelf: Bool, concat: Bool, parameters p: [String: Matrix<Double>]) -> (pos: Double, neg: Double) {
        func logit(_ a: Int, _ b: Int) -> Double {
            let xa = Array(x.row(a)), xb = Array(r.row(b))
            let phi = concat ? xa + xb : zip(xa, xb).map { abs($0 - $1) }
            if let w = p["w"], let bias = p["b"] {
                return zip(w.elements, phi).reduce(bias[0, 0]) { $0 + $1.0 * $1.1 }
            }
            let w1 = p["w1"]!, b1 = p["b1"]!, w2 = p["w2"]!, b2 = p["b2"]!
            var z = b2[0, 0]
            for u in 0..<w1.rows {
                let pre = (0..<phi.count).reduce(b1[0, u]) { $0 + w1[u, $1] * phi[$1] }
                z += w2[0, u] * max(0, pre)
            }
            return z
        }
        var pos: [Double] = [], neg: [Double] = []
        for a in 0..<x.rows {
            for b in 0..<r.rows where !(isSelf && a == b) {
                let z = logit(a, b)
                if labels[a] == referenceLabels[b] { pos.append(log(1 + exp(-z))) } else { neg.append(log(1 + exp(z))) }
            }
        }
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        return (mean(pos), mean(neg))
    }

    @Test(arguments: [["embedding-size=5"], ["embedding-size=5", "hidden=4", "seed=9"],
                      ["embedding-size=5", "hidden=3", "combine=concat"]])
    func matchesBruteForce(_ parameters: [String]) throws {
        let loss = try Registry.builtin.loss("siamese", parameters)
        let trainable = try #require(loss as? any Trainable)
        // Non-zero biases, so that they matter.
        var initial = trainable.initialParameters()
        for key in ["b", "b1", "b2"] where initial[key] != nil {
            for index in initial[key]!.elements.indices { initial[key]!.elements[index] = 0.1 * Double(index + 1) }
        }
        let concat = parameters.contains("combine=concat")
        let problem = Problems.standard()
        let labels = try #require(problem.labels.classes)
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, parameters: initial)
        let expected = Self.naive(problem.embeddings, labels, reference: problem.embeddings, labels, isSelf: true,
                                  concat: concat, parameters: initial)
        #expect(output.subLosses.map(\.name) == ["pos_loss", "neg_loss"])
        #expect(abs(output.subLosses[0].value - expected.pos) < 1e-12)
        #expect(abs(output.subLosses[1].value - expected.neg) < 1e-12)
        #expect(abs(output.value - expected.pos - expected.neg) < 1e-12)
        #expect(Set(output.parameterGradients.keys) == Set(initial.keys))

        let withReference = Problems.withReference()
        let referenceOutput: LossOutput<Double> = try loss(
            withReference.embeddings, withReference.labels, reference: withReference.reference,
            referenceLabels: withReference.referenceLabels, parameters: initial)
        let referenceExpected = Self.naive(
            withReference.embeddings, try #require(withReference.labels.classes), reference: try #require(withReference.reference),
            try #require(withReference.referenceLabels?.classes), isSelf: false, concat: concat, parameters: initial)
        #expect(abs(referenceOutput.value - referenceExpected.pos - referenceExpected.neg) < 1e-12)
    }

    @Test func initialParametersAreSeededGlorot() throws {
        let a = try #require(try Registry.builtin.loss("siamese", ["embedding-size=6", "hidden=4", "seed=1"]) as? any Trainable)
        let b = try #require(try Registry.builtin.loss("siamese", ["embedding-size=6", "hidden=4", "seed=1"]) as? any Trainable)
        let c = try #require(try Registry.builtin.loss("siamese", ["embedding-size=6", "hidden=4", "seed=2"]) as? any Trainable)
        let first = a.initialParameters()
        #expect(first == b.initialParameters())
        #expect(first["w1"] != c.initialParameters()["w1"])
        let w1 = try #require(first["w1"]), w2 = try #require(first["w2"])
        #expect(w1.rows == 4 && w1.columns == 6 && w2.rows == 1 && w2.columns == 4)
        #expect(w1.maxAbsoluteValue <= (6.0 / 10).squareRoot() && w1.maxAbsoluteValue > 0)
        #expect(w2.maxAbsoluteValue <= (6.0 / 5).squareRoot())
        #expect(first["b1"]!.maxAbsoluteValue == 0 && first["b2"]!.maxAbsoluteValue == 0)
        let concat = try #require(try Registry.builtin.loss("siamese", ["embedding-size=6", "hidden=2", "combine=concat"]) as? any Trainable)
        #expect(concat.initialParameters()["w1"]?.columns == 12)
        let linear = try #require(try Registry.builtin.loss("siamese", ["embedding-size=6"]) as? any Trainable)
        #expect(Set(linear.initialParameters().keys) == ["w", "b"])
        #expect(linear.learningRateMultiplier == 1)
    }

    @Test func concatNeedsAHiddenLayer() {
        #expect {
            try Registry.builtin.loss("siamese", ["embedding-size=4", "combine=concat"])
        } throws: { error in
            guard case let SimileError.parameterOutOfRange(_, parameter, _, range) = error else { return false }
            return parameter == "hidden" && range.contains("concat")
        }
    }

    @Test func checksTheEmbeddingSize() throws {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("siamese", []) }
        let loss = try Registry.builtin.loss("siamese", ["embedding-size=4"])
        let problem = Problems.standard()
        #expect {
            let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        } throws: { error in
            guard case let SimileError.shapeMismatch(message) = error else { return false }
            return message.contains("embedding-size=5")
        }
    }

    @Test func nothingToLearnGivesZero() throws {
        let loss = try Registry.builtin.loss("siamese", ["embedding-size=5", "hidden=2"])
        let problem = Problems.standard()
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels,
                                                  tuples: .pairs(positive: [], negative: []))
        #expect(output.value == 0)
        #expect(output.gradient.maxAbsoluteValue == 0)
        #expect(output.parameterGradients.values.allSatisfy { $0.maxAbsoluteValue == 0 })
        #expect(output.parameterGradients.count == 4)
    }

    /// Abs-diff is symmetric, so duplicated embeddings stay finite and a batch of only negatives
    /// gives pos_loss = 0.
    @Test func duplicatesAndOnlyNegatives() throws {
        let loss = try Registry.builtin.loss("siamese", ["embedding-size=3", "hidden=2"])
        var x = Problems.gaussian(rows: 4, columns: 3, seed: 5)
        for k in 0..<3 { x[1, k] = x[0, k] }
        let output: LossOutput<Float> = try loss(x.converted(to: Float.self), [0, 1, 2, 3])
        #expect(output.subLosses[0].value == 0)
        #expect(output.subLosses[1].value > 0)
        #expect(output.gradient.firstNonFinite() == nil)
    }
}
