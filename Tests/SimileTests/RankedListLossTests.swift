import Foundation
import Testing
@testable import Simile

struct RankedListLossTests {
    /// PML's formula written out directly on a distance matrix.
    static func naive(_ d: Matrix<Double>, _ labels: [Int], margin: Double, tn: Double, tp: Double,
                      imbalance: Double, alpha: Double) -> Double {
        let n = d.rows
        var total = 0.0
        for i in 0..<n {
            var pNum = 0.0, pDen = 1e-5 * Double(n), nNum = 0.0, nDen = 1e-5 * Double(n)
            for j in 0..<n {
                let v = i == j ? 0 : d[i, j]
                if labels[j] == labels[i] && j != i && v > alpha - margin && v > 0 {
                    let w = exp(tp * (v - (alpha - margin)))
                    pNum += w * (v - (alpha - margin))
                    pDen += w
                }
                if labels[j] != labels[i] && v < alpha && v > 0 {
                    let w = exp(tn * (alpha - v))
                    nNum += w * (alpha - v)
                    nDen += w
                }
            }
            total += (1 - imbalance) * pNum / pDen + imbalance * nNum / nDen
        }
        return total / Double(n)
    }

    @Test func matchesNaiveFormula() throws {
        let problem = Problems.standard(seed: 4)
        let labels = try #require(problem.labels.classes)
        let loss = try Registry.builtin.loss("ranked-list", ["margin=0.5", "tn=3", "tp=1", "imbalance=0.4"])
        let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        let d = try LpDistance(p: 2, power: 1, normalize: true).forward(problem.embeddings, nil).values
        // alpha unset: 1 + margin/2.
        let expected = Self.naive(d, labels, margin: 0.5, tn: 3, tp: 1, imbalance: 0.4, alpha: 1.25)
        #expect(abs(output.value - expected) < 1e-12)
    }

    @Test func requiresMarginAndTn() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("ranked-list", ["tn=1"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("ranked-list", ["margin=0.4"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("ranked-list", ["margin=0", "tn=1"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("ranked-list", ["margin=0.4", "tn=1", "imbalance=1.5"]) }
    }

    /// PML (and so Simile) ignores a negative at distance exactly 0.
    @Test func ignoresANegativeAtDistanceZero() throws {
        let loss = try Registry.builtin.loss("ranked-list", ["margin=0.4", "tn=10"])
        var x = Problems.gaussian(rows: 4, columns: 3, seed: 8)
        let labels: Labels = [0, 0, 1, 1]
        for k in 0..<3 { x[3, k] = x[0, k] }  // sample 3 (label 1) becomes a copy of sample 0 (label 0)
        let after: LossOutput<Double> = try loss(x, labels)
        let d = try LpDistance(p: 2, power: 1, normalize: true).forward(x, nil).values
        #expect(d[0, 3] == 0)
        #expect(abs(after.value - Self.naive(d, [0, 0, 1, 1], margin: 0.4, tn: 10, tp: 0, imbalance: 0.5, alpha: 1.2)) < 1e-12)
        #expect(after.gradient.firstNonFinite() == nil)
    }

    /// PML warns above Tn = 5 because exp(Tn·(α − d)) overflows; Simile shifts the exponents.
    @Test func hugeTemperaturesStayFinite() throws {
        let loss = try Registry.builtin.loss("ranked-list", ["margin=0.4", "tn=2000", "tp=2000"])
        let problem = Problems.standard()
        let output: LossOutput<Float> = try loss(problem.embeddings.converted(to: Float.self), problem.labels)
        #expect(output.value.isFinite && output.value > 0)
        #expect(output.gradient.firstNonFinite() == nil)
    }

    @Test func oneLabelAndSingletonGiveFiniteValues() throws {
        let loss = try Registry.builtin.loss("ranked-list", ["margin=0.4", "tn=10"])
        let x = Problems.gaussian(rows: 3, columns: 2, seed: 1)
        let single: LossOutput<Double> = try loss(Problems.gaussian(rows: 1, columns: 2, seed: 1), [0])
        #expect(single.value == 0)
        #expect(single.gradient.maxAbsoluteValue == 0)
        let singletons: LossOutput<Double> = try loss(x, [0, 1, 2])
        #expect(singletons.value.isFinite)
    }
}
