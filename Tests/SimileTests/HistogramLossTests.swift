import Foundation
import Testing
@testable import Simile

struct HistogramLossTests {
    /// A direct histogram loss in Double with exact node positions; pairs found by listing triplets.
    static func naive(_ x: [[Double]], _ labels: [Int], tuples: Tuples?, bins: Int) -> Double {
        let units = x.map { v -> [Double] in
            let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            return v.map { $0 / norm }
        }
        func s(_ i: Int, _ j: Int) -> Double { zip(units[i], units[j]).reduce(0) { $0 + $1.0 * $1.1 } }
        var triplets: [Triplet] = []
        switch tuples {
        case let .triplets(list)?: triplets = list
        case let .pairs(positive, negative)?:
            for p in positive { for n in negative where n.anchor == p.anchor { triplets.append(Triplet(p.anchor, p.other, n.other)) } }
        case nil:
            for a in labels.indices {
                for p in labels.indices where p != a && labels[p] == labels[a] {
                    for n in labels.indices where labels[n] != labels[a] { triplets.append(Triplet(a, p, n)) }
                }
            }
        }
        struct Pair: Hashable { let i: Int, j: Int }
        let positive = Set(triplets.map { Pair(i: min($0.anchor, $0.positive), j: max($0.anchor, $0.positive)) })
        let negative = Set(triplets.map { Pair(i: min($0.anchor, $0.negative), j: max($0.anchor, $0.negative)) })
        guard !positive.isEmpty, !negative.isEmpty else { return 0 }
        let delta = 2 / Double(bins)
        func density(_ pairs: Set<Pair>) -> [Double] {
            var nodes = [Double](repeating: 0, count: bins + 1)
            for pair in pairs {
                let value = min(1, max(-1, s(pair.i, pair.j)))
                let r = min(bins - 1, Int(((value + 1) / delta).rounded(.down)))
                let upper = (value + 1 - Double(r) * delta) / delta
                nodes[r] += 1 - upper
                nodes[r + 1] += upper
            }
            return nodes.map { $0 / Double(pairs.count) }
        }
        let pPositive = density(positive), pNegative = density(negative)
        var total = 0.0, cumulative = 0.0
        for r in 0...bins {
            cumulative += pPositive[r]
            total += pNegative[r] * cumulative
        }
        return total
    }

    static var fixtures: [Fixtures.LossCase] { Fixtures.lossCases().filter { $0.loss == "histogram" } }

    /// The fixtures differ from PML only by PML's float32 node positions (see PMLGoldenTests.deviations):
    /// close to PML, and equal to the exact float64 computation.
    @Test(arguments: fixtures)
    func matchesPMLUpToItsFloat32Nodes(_ fixture: Fixtures.LossCase) throws {
        let loss = try #require(try Registry.builtin.loss("histogram", fixture.parameters) as? HistogramLoss)
        let output: LossOutput<Double> = try fixture.input.evaluate(loss)
        let expected = fixture.expected
        #expect(abs(output.value - expected.loss) <= 1e-9 + 2e-6 * abs(expected.loss))
        let scale = maxAbsolute(expected.gradient)
        #expect(maxDifference(output.gradient, expected.gradient) <= 1e-9 + 2e-5 * scale)
        let float: LossOutput<Float> = try fixture.input.evaluate(loss)
        #expect(abs(float.value - expected.loss) <= 1e-5 + 1e-4 * abs(expected.loss))
        #expect(maxDifference(float.gradient, expected.gradient) <= 1e-6 + 1e-3 * scale)
        guard case let .classes(labels) = try fixture.input.labels.labels("labels") else {
            Issue.record("class labels expected")
            return
        }
        let exact = Self.naive(fixture.input.embeddings, labels, tuples: try fixture.input.tuples?.tuples(),
                               bins: loss.bins)
        #expect(abs(output.value - exact) <= 1e-12)
    }

    /// All positives at s = −1 and every negative at least as similar: L = 1. Duplicates (s = 1) bin
    /// onto the last node instead of crashing as in PML.
    @Test func everyNegativeAboveEveryPositive() throws {
        let x = Matrix<Double>(rows: 4, columns: 2, elements: [1, 0, 1, 0, -1, 0, -1, 0])
        for parameters in [[], ["n-bins=4"], ["delta=0.5"]] {
            let loss = try Registry.builtin.loss("histogram", parameters)
            let output: LossOutput<Double> = try loss(x, [0, 1, 0, 1])
            #expect(abs(output.value - 1) < 1e-12, "\(parameters)")
            #expect(output.gradient.firstNonFinite() == nil)
            let float: LossOutput<Float> = try loss(x.converted(to: Float.self), [0, 1, 0, 1])
            #expect(abs(float.value - 1) < 1e-5)
        }
    }

    /// Positives duplicated (s = 1), negatives opposite (s = −1): perfectly separated, L = 0.
    @Test func perfectlySeparated() throws {
        let x = Matrix<Double>(rows: 4, columns: 2, elements: [1, 0, 1, 0, -1, 0, -1, 0])
        let loss = try Registry.builtin.loss("histogram", [])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1, 1])
        #expect(abs(output.value) < 1e-12)
        #expect(output.gradient.firstNonFinite() == nil)
    }

    @Test func edgeCases() throws {
        let loss = try Registry.builtin.loss("histogram", [])
        let x = Problems.gaussian(rows: 6, columns: 3, seed: 11)
        let one: LossOutput<Double> = try loss(x, [1, 1, 1, 1, 1, 1])
        #expect(one.value == 0 && one.gradient.maxAbsoluteValue == 0)
        let empty: LossOutput<Double> = try loss(x, [0, 0, 1, 1, 2, 2], tuples: .triplets([]))
        #expect(empty.value == 0 && empty.gradient.maxAbsoluteValue == 0)
        // PML rejects reference embeddings, and so does Simile.
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(x, [0, 0, 1, 1, 2, 2], reference: x, referenceLabels: [0, 0, 1, 1, 2, 2])
        }
    }

    @Test func binsAndDelta() throws {
        let byDefault = try #require(try Registry.builtin.loss("histogram", []) as? HistogramLoss)
        #expect(byDefault.bins == 100)
        let byDelta = try #require(try Registry.builtin.loss("histogram", ["delta=0.04"]) as? HistogramLoss)
        #expect(byDelta.bins == 50)
        let both = try #require(try Registry.builtin.loss("histogram", ["n-bins=50", "delta=0.04"]) as? HistogramLoss)
        #expect(both.bins == 50)
        do {
            _ = try Registry.builtin.loss("histogram", ["n-bins=20", "delta=0.04"])
            Issue.record("disagreeing n-bins and delta were accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("n-bins") && error.description.contains("delta"))
        }
        do {
            _ = try Registry.builtin.loss("histogram", ["delta=0.03"])
            Issue.record("delta=0.03 (2/delta not an integer) was accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("n-bins=67"))
        }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("histogram", ["n-bins=0"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("histogram", ["distance=cosine"]) }
    }
}
