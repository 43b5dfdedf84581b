import Foundation
import Testing
@testable import Simile

struct NTXentLossTests {
    /// Two points of label 0 at 60°, one of label 1 at 90° from the first.
    static let x = try! Matrix<Double>([[1, 0], [0.5, 0.75.squareRoot()], [0, 1]])

    @Test func handComputedValue() throws {
        let tau = 0.5
        let l01 = log(1 + exp((0 - 0.5) / tau)), l10 = log(1 + exp((0.75.squareRoot() - 0.5) / tau))
        let outputLoss = try Registry.builtin.loss("infonce", ["temperature=0.5"])
        let output: LossOutput<Double> = try outputLoss(Self.x, [0, 0, 1])
        #expect(abs(output.value - (l01 + l10) / 2) < 1e-12)
    }

    /// A positive pair whose anchor has no negative contributes 0 and still counts in the mean.
    @Test func pairWithoutNegativesCountsAsZero() throws {
        let tuples = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(1, 0)], negative: [IndexPair(0, 2)])
        let outputLoss = try Registry.builtin.loss("nt-xent", ["temperature=0.5"])
        let output: LossOutput<Double> = try outputLoss(Self.x, [0, 0, 1], tuples: tuples)
        #expect(abs(output.value - log(1 + exp(-1)) / 2) < 1e-12)
    }

    @Test func pairMinedTwiceCountsTwice() throws {
        let loss = try Registry.builtin.loss("nt-xent", ["reducer=sum"])
        let once = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(0, 2)])
        let twice = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(0, 1)], negative: [IndexPair(0, 2), IndexPair(0, 2)])
        let a: LossOutput<Double> = try loss(Self.x, [0, 0, 1], tuples: once)
        let b: LossOutput<Double> = try loss(Self.x, [0, 0, 1], tuples: twice)
        // Twice the pair, and the negative twice inside each term: log(1 + 2e^{(s_an − s_ap)/τ}) each.
        #expect(abs(a.value - log(1 + exp(-0.5 / 0.07))) < 1e-12)
        #expect(abs(b.value - 2 * log(1 + 2 * exp(-0.5 / 0.07))) < 1e-12)
    }

    /// At a tiny temperature q underflows; the loss saturates at −log(tiny) instead of becoming infinite.
    @Test func tinyTemperatureStaysFinite() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("nt-xent", ["temperature=0.0001"])
        let output: LossOutput<Float> = try loss(problem.embeddings.converted(to: Float.self), problem.labels)
        let exact: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        #expect(exact.value.isFinite && exact.value > 0)
        #expect(output.value.isFinite && output.value > 0)
        #expect(output.value <= -log(Double(Float.leastNormalMagnitude)) + 1e-3)
    }

    @Test func oneLabelGivesZero() throws {
        let x = Problems.gaussian(rows: 5, columns: 3, seed: 4)
        let outputLoss = try Registry.builtin.loss("nt-xent", [])
        let output: LossOutput<Double> = try outputLoss(x, [1, 1, 1, 1, 1])
        #expect(output.value == 0)
        #expect(output.gradient.maxAbsoluteValue == 0)
    }

    @Test func rejectsNonPositiveTemperature() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("nt-xent", ["temperature=0"]) }
    }

    /// The size the issue asks for: N = 4096 in one call (PML runs out of memory near N = 1024).
    @Test func batchOf4096() throws {
        let n = 4096
        let x = Problems.gaussian(rows: n, columns: 16, seed: 5).converted(to: Float.self)
        let labels = (0..<n).map { $0 / 2 }
        let outputLoss = try Registry.builtin.loss("nt-xent", [])
        let output: LossOutput<Float> = try outputLoss(x, labels)
        #expect(output.value.isFinite && output.value > 0)
        #expect(output.gradient.firstNonFinite() == nil)
    }
}
