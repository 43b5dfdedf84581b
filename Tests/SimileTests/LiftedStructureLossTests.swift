import Foundation
import Testing
@testable import Simile

/// Normalised Euclidean distance between two rows, computed directly.
private func normalizedDistance(_ x: [Double], _ y: [Double]) -> Double {
    let nx = x.reduce(0) { $0 + $1 * $1 }.squareRoot(), ny = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return zip(x, y).reduce(0) { $0 + ($1.0 / nx - $1.1 / ny) * ($1.0 / nx - $1.1 / ny) }.squareRoot()
}

private func logSumExp(_ values: [Double]) -> Double {
    guard let m = values.max() else { return 0 }
    return m + log(values.reduce(0) { $0 + exp($1 - m) })
}

/// The lifted structure loss with default margins, written out pair by pair. `otherEnd` lists the
/// exponents of the positive end's negatives.
private func naiveLifted(_ x: Matrix<Double>, _ labels: [Int], _ y: Matrix<Double>, _ yLabels: [Int], isSelf: Bool,
                         otherEnd: (Int, [[Double]]) -> [Double]) -> Double {
    let d = (0..<x.rows).map { i in (0..<y.rows).map { j in normalizedDistance(Array(x.row(i)), Array(y.row(j))) } }
    var losses: [Double] = []
    for a in 0..<x.rows {
        for p in 0..<y.rows where labels[a] == yLabels[p] && !(isSelf && a == p) {
            var exponents = (0..<y.rows).filter { yLabels[$0] != labels[a] }.map { 1 - d[a][$0] }
            exponents += otherEnd(p, d)
            let j = logSumExp(exponents) + d[a][p]
            losses.append(max(0, j) * max(0, j) / 2)
        }
    }
    return losses.reduce(0, +) / Double(losses.count)
}

struct LiftedStructureLossTests {
    /// Deviation from PML: with a reference batch, the positive end p's negatives are the queries of
    /// another label compared with p (column p), not query row number p.
    @Test func referenceUsesTheColumnOfThePositive() throws {
        let problem = Problems.withReference()
        let labels = problem.labels.classes!, yLabels = problem.referenceLabels!.classes!
        let y = problem.reference!
        let loss = try Registry.builtin.loss("lifted-structure", [])
        let output: LossOutput<Double> = try loss(problem.embeddings, labels, reference: y, referenceLabels: yLabels)
        let column = naiveLifted(problem.embeddings, labels, y, yLabels, isSelf: false) { p, d in
            (0..<labels.count).filter { labels[$0] != yLabels[p] }.map { 1 - d[$0][p] }
        }
        let pmlRow = naiveLifted(problem.embeddings, labels, y, yLabels, isSelf: false) { p, d in
            p < labels.count ? (0..<yLabels.count).filter { yLabels[$0] != labels[p] }.map { 1 - d[p][$0] } : []
        }
        #expect(abs(output.value - column) < 1e-12)
        #expect(abs(column - pmlRow) > 1e-3)  // the test can tell the two apart
    }

    /// A positive pair none of whose ends has a negative keeps J = d (PML's empty log-sum-exp is 0).
    @Test func pairWithoutNegativesKeepsItsDistance() throws {
        let x = try Matrix<Double>([[1, 0], [0, 1], [-1, 0]])
        let loss = try Registry.builtin.loss("lifted-structure", [])
        let tuples = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(2, 0)])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1], tuples: tuples)
        #expect(abs(output.value - 1) < 1e-12)  // (√2)² / 2
    }

    @Test func oneLabelGivesZero() throws {
        let x = Problems.gaussian(rows: 5, columns: 3, seed: 4)
        let loss = try Registry.builtin.loss("lifted-structure", [])
        let output: LossOutput<Double> = try loss(x, [2, 2, 2, 2, 2])
        #expect(output.value == 0)
        #expect(output.gradient.maxAbsoluteValue == 0)
    }

    @Test func pairMinedTwiceCountsTwice() throws {
        let problem = Problems.standard()
        let loss = try Registry.builtin.loss("lifted-structure", ["reducer=sum"])
        let once = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(0, 3)])
        let twice = Tuples.pairs(positive: [IndexPair(0, 1), IndexPair(0, 1)], negative: [IndexPair(0, 3)])
        let a: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: once)
        let b: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: twice)
        #expect(a.value > 0)
        #expect(abs(b.value - 2 * a.value) < 1e-12)
    }

    @Test func duplicatesAreFinite() throws {
        var x = Problems.gaussian(rows: 6, columns: 4, seed: 8)
        for k in 0..<4 { x[1, k] = x[0, k]; x[4, k] = x[2, k] }
        let loss = try Registry.builtin.loss("lifted-structure", [])
        let output: LossOutput<Float> = try loss(x.converted(to: Float.self), [0, 0, 1, 1, 2, 2])
        #expect(output.value.isFinite && output.value > 0)
    }
}
