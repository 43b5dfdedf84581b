import Foundation
import Testing
@testable import Simile

struct SupConLossTests {
    /// Two points of label 0 at 60°, one of label 1 at 90° from the first: anchors 0 and 1 have one
    /// positive and one negative each, anchor 2 no positive.
    static let x = try! Matrix<Double>([[1, 0], [0.5, 0.75.squareRoot()], [0, 1]])

    @Test func handComputedValue() throws {
        let tau = 0.5
        let l0 = log(1 + exp((0 - 0.5) / tau)), l1 = log(1 + exp((0.75.squareRoot() - 0.5) / tau))
        let avgNonZeroLoss = try Registry.builtin.loss("supcon", ["temperature=0.5"])
        let avgNonZero: LossOutput<Double> = try avgNonZeroLoss(Self.x, [0, 0, 1])
        #expect(abs(avgNonZero.value - (l0 + l1) / 2) < 1e-12)
        let meanLoss = try Registry.builtin.loss("supcon", ["temperature=0.5", "reducer=mean"])
        let mean: LossOutput<Double> = try meanLoss(Self.x, [0, 0, 1])
        #expect(abs(mean.value - (l0 + l1) / 3) < 1e-12)
    }

    @Test func noNegativeAnywhereGivesZero() throws {
        let x = Problems.gaussian(rows: 5, columns: 3, seed: 4)
        let outputLoss = try Registry.builtin.loss("supcon", [])
        let output: LossOutput<Double> = try outputLoss(x, [1, 1, 1, 1, 1])
        #expect(output.value == 0)
        #expect(output.gradient.maxAbsoluteValue == 0)
    }

    @Test func pairMinedTwiceCountsOnce() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("supcon", [])
        let once = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(0, 2)], negative: [IndexPair(0, 3)])
        let twice = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(0, 2), IndexPair(0, 1)],
                                 negative: [IndexPair(0, 3), IndexPair(0, 3)])
        let a: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: once)
        let b: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: twice)
        #expect(a.value > 0)
        #expect(a.value == b.value)
    }

    @Test func tinyTemperatureStaysFinite() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("supcon", ["temperature=0.0001"])
        let output: LossOutput<Float> = try loss(problem.embeddings.converted(to: Float.self), problem.labels)
        #expect(output.value.isFinite && output.value > 0)
    }

    @Test func rejectsNonPositiveTemperature() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("supcon", ["temperature=0"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("supervised-contrastive", ["temperature=-1"]) }
    }
}
