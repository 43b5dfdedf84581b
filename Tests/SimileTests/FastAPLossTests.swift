import Foundation
import Testing
@testable import Simile

struct FastAPLossTests {
    /// Positives at squared distance 0 and every negative at 4: each anchor's ranking is perfect.
    @Test func perfectRanking() throws {
        let x = Matrix<Double>(rows: 4, columns: 2, elements: [1, 0, 1, 0, -1, 0, -1, 0])
        let loss = try Registry.builtin.loss("fast-ap", [])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1, 1])
        #expect(abs(output.value) < 1e-12)
        #expect(output.gradient.firstNonFinite() == nil)
    }

    /// Labels [0, 1, 0, 1] on points (1,0), (1,0), (−1,0), (−1,0): each anchor's positive is at d = 4,
    /// sharing the last bin with one negative, and one negative is at d = 0. AP = 1·1/3, L = 2/3.
    @Test func handComputedRanking() throws {
        let x = Matrix<Double>(rows: 4, columns: 2, elements: [1, 0, 1, 0, -1, 0, -1, 0])
        for bins in [1, 10, 20] {
            let loss = try Registry.builtin.loss("fast-ap", ["num-bins=\(bins)"])
            let output: LossOutput<Double> = try loss(x, [0, 1, 0, 1])
            #expect(abs(output.value - 2.0 / 3) < 1e-12, "num-bins=\(bins)")
        }
    }

    /// Tuples only weight the anchors: an empty tuple is the same as none, and the weights are
    /// each sample's count over the largest count (PML's convert_to_weights).
    @Test func tuplesWeightTheAnchors() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("fast-ap", ["reducer=sum"])
        let plain: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        let empty: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: .pairs(positive: [], negative: []))
        #expect(plain.value == empty.value && plain.gradient == empty.gradient)
        #expect(FastAPLoss.minerWeights(.triplets([Triplet(0, 1, 3), Triplet(0, 2, 3)]), count: 5) == [1, 0.5, 0.5, 1, 0])
        // Samples outside the tuple weigh 0: their anchor terms vanish, but they still rank.
        let tuples = Tuples.triplets([Triplet(0, 1, 3)])
        let weighted: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: tuples)
        #expect(weighted.value < plain.value && weighted.value > 0)
    }

    @Test func edgeCases() throws {
        let loss = try Registry.builtin.loss("fast-ap", [])
        let x = Problems.gaussian(rows: 6, columns: 3, seed: 12)
        // No positives at all: nothing to rank.
        let singletons: LossOutput<Double> = try loss(x, [0, 1, 2, 3, 4, 5])
        #expect(singletons.value == 0 && singletons.gradient.maxAbsoluteValue == 0)
        // One label: every neighbour is a positive, AP = 1 up to rounding.
        let one: LossOutput<Double> = try loss(x, [1, 1, 1, 1, 1, 1])
        #expect(abs(one.value) < 1e-12 && one.gradient.maxAbsoluteValue < 1e-12)
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(x, [0, 0, 1, 1, 2, 2], reference: x, referenceLabels: [0, 0, 1, 1, 2, 2])
        }
    }

    @Test func rejectsBadParameters() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("fast-ap", ["num-bins=0"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("fast-ap", ["distance=lp(power=2)"]) }
    }
}
