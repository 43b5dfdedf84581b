import Foundation
import Testing
@testable import Simile

struct IntraPairVarianceLossTests {
    /// Positive cosines 1 (pair 0–1) and 0 (pairs 0–2, 1–2), each in both orders: μ₊ = 1/3, and the
    /// four 0 entries fall 0.99·μ₊ below it. No negatives: neg_loss is 0.
    @Test func handComputedValue() throws {
        let x = try Matrix<Double>([[1, 0], [2, 0], [0, 1]])
        let outputLoss = try Registry.builtin.loss("intra-pair-variance", [])
        let output: LossOutput<Double> = try outputLoss(x, [0, 0, 0])
        let h = 0.99 / 3.0
        #expect(abs(output.value - 4 * h * h / 6) < 1e-12)
        #expect(output.subLosses.map(\.name) == ["pos_loss", "neg_loss"])
        #expect(output.subLosses[1].value == 0)
    }

    @Test func equalSimilaritiesGiveZero() throws {
        let x = try Matrix<Double>([[1, 0], [1, 0], [3, 0], [0, 2], [0, 1]])
        let outputLoss = try Registry.builtin.loss("intra-pair-variance", [])
        let output: LossOutput<Double> = try outputLoss(x, [0, 0, 0, 1, 1])
        #expect(output.value == 0)
        #expect(output.gradient.maxAbsoluteValue == 0)
    }

    @Test func rejectsEpsilonOutsideZeroOne() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("intra-pair-variance", ["pos-eps=1.5"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("intra-pair-variance", ["neg-eps=-0.1"]) }
    }
}
