import Foundation
import Testing
@testable import Simile

struct MarginLossTests {
    /// Points at known angles on the unit circle: a = 0°, p = 60°, n = 90°, labels [0, 0, 1].
    @Test func knownAngles() throws {
        let x = Matrix<Double>(rows: 3, columns: 2, elements: [1, 0, cos(Double.pi / 3), sin(Double.pi / 3), 0, 1])
        let loss = try Registry.builtin.loss("margin", ["margin=0.3"])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1])
        // Chord lengths: d(0°, 60°) = 1, d(0°, 90°) = √2, d(60°, 90°) = 2·sin 15°. β = 1.2.
        let d01 = 1.0, d02 = 2.0.squareRoot(), d12 = 2 * sin(Double.pi / 12)
        let terms = [d01 - 1.2 + 0.3, 1.2 - d02 + 0.3, d01 - 1.2 + 0.3, 1.2 - d12 + 0.3]
        #expect(terms.allSatisfy { $0 > 0 })
        #expect(abs(output.value - terms.reduce(0, +) / 4) < 1e-12)
        #expect(output.subLosses.map(\.name) == ["margin_loss", "beta_reg_loss"])
        #expect(output.stats["divisor"] == 4)
        // ∂L/∂β = (−1 + 1 − 1 + 1)/4 = 0 here: each triplet has one active term of each sign.
        #expect(abs(output.parameterGradients["beta"]![0, 0]) < 1e-12)
    }

    /// β is always a parameter with a gradient; learn-beta decides the regulariser and the learning rate.
    @Test func learnBetaControlsRegularizerAndLearningRate() throws {
        let problem = Problems.standard()
        let fixed = try #require(try Registry.builtin.loss("margin", ["nu=0.5"]) as? MarginLoss)
        let learned = try #require(try Registry.builtin.loss("margin", ["nu=0.5", "learn-beta=true"]) as? MarginLoss)
        #expect(fixed.learningRateMultiplier == 0)
        #expect(learned.learningRateMultiplier > 1)
        let a: LossOutput<Double> = try fixed(problem.embeddings, problem.labels)
        let b: LossOutput<Double> = try learned(problem.embeddings, problem.labels)
        #expect(a.subLosses[1].value == 0)
        #expect(abs(b.subLosses[1].value - 0.5 * 1.2) < 1e-15)
        #expect(a.subLosses[0].value == b.subLosses[0].value)
        let ga = a.parameterGradients["beta"]![0, 0], gb = b.parameterGradients["beta"]![0, 0]
        #expect(ga != 0)
        #expect(abs(gb - (ga + 0.5)) < 1e-12)
    }

    @Test func perClassBeta() throws {
        let loss = try #require(try Registry.builtin.loss("margin", ["num-classes=4", "learn-beta=true"]) as? MarginLoss)
        let initial = loss.initialParameters()["beta"]!
        #expect(initial.rows == 4 && initial.columns == 1 && initial.elements.allSatisfy { $0 == 1.2 })
        let problem = Problems.standard()
        // Labels outside 0..<num-classes are an error that names num-classes.
        do {
            let _: LossOutput<Double> = try loss(problem.embeddings, [0, 0, 0, 1, 1, 1, 2, 2, 4, 4])
            Issue.record("label 4 with num-classes=4 was accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("num-classes"))
        }
        // A 1×1 β for a per-class loss is a shape error.
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels,
                                                 parameters: ["beta": Matrix(rows: 1, columns: 1, repeating: 1)])
        }
        // With every class's β equal, the value is the shared-β value and the per-class gradients
        // add up to the shared one.
        let shared = try Registry.builtin.loss("margin", ["learn-beta=true"])
        let a: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        let b: LossOutput<Double> = try shared(problem.embeddings, problem.labels)
        #expect(abs(a.value - b.value) < 1e-12)
        let total = a.parameterGradients["beta"]!.elements.reduce(0, +)
        #expect(abs(total - b.parameterGradients["beta"]![0, 0]) < 1e-12)
    }

    @Test func edgeCases() throws {
        let loss = try Registry.builtin.loss("margin", ["learn-beta=true", "nu=0.1"])
        // One label: no triplets, value 0 (the regulariser too, as in PML), zero gradients.
        let x = Problems.gaussian(rows: 5, columns: 3, seed: 5)
        let one: LossOutput<Double> = try loss(x, [1, 1, 1, 1, 1])
        #expect(one.value == 0 && one.gradient.maxAbsoluteValue == 0)
        #expect(one.parameterGradients["beta"]!.maxAbsoluteValue == 0)
        // Empty tuples: the same.
        let problem = Problems.standard()
        let empty: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: .triplets([]))
        #expect(empty.value == 0 && empty.gradient.maxAbsoluteValue == 0)
        // Duplicates: finite, and Float agrees with Double.
        var d = Problems.gaussian(rows: 8, columns: 4, seed: 6)
        for k in 0..<4 { d[1, k] = d[0, k]; d[5, k] = d[2, k] }
        let labels = [0, 0, 1, 1, 2, 0, 1, 2]
        let double: LossOutput<Double> = try loss(d, labels)
        let float: LossOutput<Float> = try loss(d.converted(to: Float.self), labels)
        #expect(double.value.isFinite && abs(float.value - double.value) <= 1e-4 * double.value)
    }

    @Test func rejectsBadParameters() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("margin", ["num-classes=0"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("margin", ["margin=-0.1"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("margin", ["triplets-per-anchor=0"]) }
    }
}
