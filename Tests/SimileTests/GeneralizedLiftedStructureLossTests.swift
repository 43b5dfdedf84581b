import Foundation
import Testing
@testable import Simile

struct GeneralizedLiftedStructureLossTests {
    /// Each anchor's value, written out with default margins and normalised L2 distances.
    private static func naiveValues(_ x: Matrix<Double>, _ labels: [Int]) -> [Double] {
        let rows = (0..<x.rows).map { i -> [Double] in
            let r = Array(x.row(i)), norm = r.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return r.map { $0 / norm }
        }
        func d(_ i: Int, _ j: Int) -> Double { zip(rows[i], rows[j]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
        func lse(_ v: [Double]) -> Double { v.isEmpty ? 0 : log(v.reduce(0) { $0 + exp($1) }) }
        return (0..<x.rows).map { a in
            let pos = (0..<x.rows).filter { $0 != a && labels[$0] == labels[a] }.map { d(a, $0) }
            let neg = (0..<x.rows).filter { labels[$0] != labels[a] }.map { 1 - d(a, $0) }
            return max(0, lse(pos) + lse(neg))
        }
    }

    /// Deviation from PML: class weights multiply each anchor's own loss.
    @Test func classWeightsApplyPerAnchor() throws {
        let problem = Problems.standard()
        let labels = problem.labels.classes!
        let weights = [1.0, 2.0, 0.5, 1.5]
        let loss = try Registry.builtin.loss("generalized-lifted-structure", ["reducer=class-weighted(weights=[1, 2, 0.5, 1.5])"])
        let output: LossOutput<Double> = try loss(problem.embeddings, labels)
        let values = Self.naiveValues(problem.embeddings, labels)
        let expected = zip(values, labels).reduce(0) { $0 + $1.0 * weights[$1.1] } / Double(values.count)
        let pml = values.reduce(0, +) / Double(values.count) * labels.reduce(0) { $0 + weights[$1] } / Double(labels.count)
        #expect(abs(output.value - expected) < 1e-12)
        #expect(abs(expected - pml) > 1e-3)
    }

    /// Two points of one label at 90°: each anchor's only positive is √2 away and it has no negatives.
    @Test func oneLabelStillHasALoss() throws {
        let x = try Matrix<Double>([[1, 0], [0, 1]])
        let loss = try Registry.builtin.loss("generalized-lifted-structure", [])
        let output: LossOutput<Double> = try loss(x, [0, 0])
        #expect(abs(output.value - 2.0.squareRoot()) < 1e-12)
    }

    @Test func pairMinedTwiceCountsOnce() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("generalized-lifted-structure", [])
        let once = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(0, 3), IndexPair(1, 6)])
        let twice = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(0, 1)],
                                 negative: [IndexPair(0, 3), IndexPair(1, 6), IndexPair(0, 3)])
        let a: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: once)
        let b: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: twice)
        #expect(a.value > 0)
        #expect(a.value == b.value)
    }

    @Test func anchorsWithoutPairsCountAsZero() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("generalized-lifted-structure", ["reducer=sum"])
        let mean = try Registry.builtin.loss("generalized-lifted-structure", [])
        let tuples = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(0, 3)])
        let sum: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: tuples)
        let average: LossOutput<Double> = try mean(problem.embeddings, problem.labels, tuples: tuples)
        #expect(abs(average.value - sum.value / 10) < 1e-12)
    }
}
