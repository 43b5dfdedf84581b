import Foundation
import Testing
@testable import Simile

struct NPairsLossTests {
    @Test func firstPairOfEachLabelSortedByLabel() {
        #expect(NPairsLoss.uniquePairs(labels: [1, 0, 1, 0, 1, 2], tuples: nil) == [IndexPair(1, 3), IndexPair(0, 2)])
        // With tuples, the first pair of each label in the tuple's order; triplets give (a, p).
        let pairs = Tuples.pairs(positive: [IndexPair(2, 4), IndexPair(3, 1), IndexPair(0, 2)], negative: [])
        #expect(NPairsLoss.uniquePairs(labels: [0, 1, 0, 1, 0], tuples: pairs) == [IndexPair(2, 4), IndexPair(3, 1)])
        let triplets = Tuples.triplets([Triplet(3, 1, 0), Triplet(4, 0, 1), Triplet(1, 3, 2)])
        #expect(NPairsLoss.uniquePairs(labels: [0, 1, 0, 1, 0], tuples: triplets) == [IndexPair(4, 0), IndexPair(3, 1)])
    }

    /// Anchors and positives on the axes: the logits are the identity matrix.
    @Test func orthogonalPairs() throws {
        let x = try Matrix<Double>([[2, 0], [0, 3], [1, 0], [0, 1]])
        let loss = try Registry.builtin.loss("n-pairs", [])
        let output: LossOutput<Double> = try loss(x, [0, 1, 0, 1])
        #expect(abs(output.value - log(1 + exp(-1))) < 1e-12)
    }

    /// One pair gives a 1×1 cross-entropy: 0, with zero gradient. Singleton labels take no part.
    @Test func onePairGivesZero() throws {
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 3)
        let loss = try Registry.builtin.loss("n-pairs", [])
        let output: LossOutput<Double> = try loss(x, [5, 5, 7, 8])
        #expect(output.value == 0)
        #expect(output.gradient.maxAbsoluteValue == 0)
    }

    @Test func rejectsReferenceEmbeddings() throws {
        let problem = Problems.withReference()
        let loss = try Registry.builtin.loss("n-pairs", [])
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(problem.embeddings, problem.labels, reference: problem.reference,
                                                 referenceLabels: problem.referenceLabels)
        }
    }
}
