import Foundation
import Testing
@testable import Simile

struct InstanceLossTests {
    @Test func targetsAreRanksAmongTheDistinctLabels() {
        #expect(InstanceLoss.targets([10, 3, 7, 3]) == [2, 0, 1, 0])
        #expect(InstanceLoss.targets([2, 0, 1]) == [2, 0, 1])
    }

    /// Cross-entropy of γ·cosine rows, computed directly.
    @Test func matchesNaiveCrossEntropy() throws {
        let x = Problems.gaussian(rows: 5, columns: 3, seed: 11)
        let labels = [40, 10, 30, 20, 10]  // targets 3, 0, 2, 1, 0
        let targets = [3, 0, 2, 1, 0]
        let gamma = 4.0
        let loss = try Registry.builtin.loss("instance", ["gamma=\(gamma)"])
        let output: LossOutput<Double> = try loss(x, .classes(labels))
        func unit(_ i: Int) -> [Double] {
            let row = Array(x.row(i))
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
        var total = 0.0
        for i in 0..<5 {
            let logits = (0..<5).map { j in gamma * zip(unit(i), unit(j)).reduce(0) { $0 + $1.0 * $1.1 } }
            total += log(logits.map { exp($0) }.reduce(0, +)) - logits[targets[i]]
        }
        #expect(abs(output.value - total / 5) < 1e-12)
    }

    @Test func largeGammaAndDuplicatesStayFinite() throws {
        let loss = try Registry.builtin.loss("instance", ["gamma=10000"])
        var x = Problems.gaussian(rows: 4, columns: 3, seed: 2)
        for k in 0..<3 { x[2, k] = x[1, k] }
        let output: LossOutput<Float> = try loss(x.converted(to: Float.self), [0, 1, 2, 3])
        #expect(output.value.isFinite)
        #expect(output.gradient.firstNonFinite() == nil)
    }

    @Test func rejectsTuplesAndReference() throws {
        let loss = try Registry.builtin.loss("instance", [])
        let problem = Problems.standard()
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: Problems.minedPairs())
        }
        let withReference = Problems.withReference()
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(withReference.embeddings, withReference.labels,
                                                 reference: withReference.reference,
                                                 referenceLabels: withReference.referenceLabels)
        }
    }

    @Test func rejectsNonPositiveGamma() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("instance", ["gamma=0"]) }
    }
}
