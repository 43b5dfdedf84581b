import Foundation
import Testing
@testable import Simile

/// The angular loss: Simile normalises the negatives too (PML does not), so it agrees with PML on
/// unit-norm rows and is scale-invariant everywhere.
struct AngularLossTests {
    /// PML 2.9.0's AngularLoss on each fixture case with every embedding and reference row divided by
    /// its L2 norm first (computed with torch in float64 from Tests/Fixtures/pml/angular.json).
    static let pmlOnUnitRows: [String: Double] = [
        "angular/default": 3.202823493890931,
        "angular/alpha": 3.374109564518092,
        "angular/avg-non-zero": 3.7637854485148057,
        "angular/mined-pairs": 3.267018528472589,
        "angular/mined-triplets": 2.978275936683393,
        "angular/singleton": 2.8203318515769826,
        "angular/one-label": 0.0,
        "angular/duplicates": 3.2865782443235236,
        "angular/reference": 3.0354585767554854,
    ]

    static var cases: [Fixtures.LossCase] { Fixtures.lossCases().filter { $0.loss == "angular" } }

    static func unitRows(_ rows: [[Double]]) -> [[Double]] {
        rows.map { row in
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
    }

    @Test(arguments: cases)
    func matchesPMLOnUnitNormRows(_ fixture: Fixtures.LossCase) throws {
        let expected = try #require(Self.pmlOnUnitRows[fixture.id], "no PML value for \(fixture.id)")
        var request = fixture.input
        request.embeddings = Self.unitRows(request.embeddings)
        request.referenceEmbeddings = request.referenceEmbeddings.map(Self.unitRows)
        let loss = try Registry.builtin.loss("angular", fixture.parameters)
        let double: LossOutput<Double> = try request.evaluate(loss)
        #expect(abs(double.value - expected) <= 1e-9 + 1e-7 * abs(expected), "value \(double.value), PML \(expected)")
        let float: LossOutput<Float> = try request.evaluate(loss)
        #expect(abs(float.value - expected) <= 1e-5 + 1e-4 * abs(expected), "value \(float.value), PML \(expected)")
        let scale = double.gradient.maxAbsoluteValue
        #expect(maxDifference(float.gradient, double.gradient.nestedRows) <= 1e-6 + 1e-3 * scale)
        // Simile's value does not depend on the rows' norms (PML's raw fixture value does).
        let raw: LossOutput<Double> = try fixture.input.evaluate(loss)
        #expect(abs(raw.value - double.value) <= 1e-12 * max(1, abs(expected)))
        if expected > 0 { #expect(abs(fixture.expected.loss - expected) > 0.1, "the fixture was expected to differ") }
    }

    /// The deviation, pinned: scaling rows leaves the value alone, so the gradient of each row is
    /// orthogonal to that row.
    @Test func isScaleInvariant() throws {
        let loss = try Registry.builtin.loss("angular", [])
        let problem = Problems.standard()
        let base: LossOutput<Double> = try loss(problem.embeddings, problem.labels)
        var scaled = problem.embeddings
        for i in 0..<scaled.rows {
            for k in 0..<scaled.columns { scaled[i, k] *= Double(i + 1) * 0.7 }
        }
        let other: LossOutput<Double> = try loss(scaled, problem.labels)
        #expect(abs(base.value - other.value) < 1e-12)
        for i in 0..<problem.embeddings.rows {
            var dot = 0.0, norm = 0.0
            for k in 0..<problem.embeddings.columns {
                dot += base.gradient[i, k] * problem.embeddings[i, k]
                norm += problem.embeddings[i, k] * problem.embeddings[i, k]
            }
            #expect(abs(dot) < 1e-12 * max(1, norm))
        }
    }

    /// a = (1, 0), p at 60° from a, n = (−1, 0): for both pairs (a,p) and (p,a),
    /// f = 4t·(a + p)·n − 2(1 + t)·a·p = 4t·(−1.5) − 2(1 + t)·0.5 = −7t − 1 with t = tan²α.
    @Test(arguments: [40.0, 25.0])
    func handComputedValue(alpha: Double) throws {
        let loss = try Registry.builtin.loss("angular", ["alpha=\(alpha)"])
        let x = try Matrix<Double>([[1, 0], [cos(Double.pi / 3), sin(Double.pi / 3)], [-1, 0]])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1])
        let t = pow(tan(alpha * Double.pi / 180), 2)
        let expected = log(1 + exp(-7 * t - 1))
        #expect(abs(output.value - expected) < 1e-14)
    }

    /// Brute force over the definition (every row normalised), against the streamed passes.
    @Test func matchesNaiveFormula() throws {
        let loss = try Registry.builtin.loss("angular", ["alpha=45"])
        let problem = Problems.withReference()
        let x = problem.embeddings, r = try #require(problem.reference)
        let labels = try #require(problem.labels.classes), referenceLabels = try #require(problem.referenceLabels?.classes)
        func unit(_ m: Matrix<Double>, _ i: Int) -> [Double] {
            let row = Array(m.row(i))
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
        func dot(_ u: [Double], _ v: [Double]) -> Double { zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } }
        var total = 0.0, count = 0
        for a in 0..<x.rows {
            for p in 0..<r.rows where referenceLabels[p] == labels[a] {
                let xa = unit(x, a), xp = unit(r, p)
                var sum = 1.0
                for n in 0..<r.rows where referenceLabels[n] != labels[a] {
                    let xn = unit(r, n)
                    sum += exp(4 * dot(zip(xa, xp).map { $0 + $1 }, xn) - 2 * 2 * dot(xa, xp))
                }
                total += log(sum)
                count += 1
            }
        }
        let output: LossOutput<Double> = try loss(x, problem.labels, reference: r, referenceLabels: problem.referenceLabels)
        #expect(abs(output.value - total / Double(count)) < 1e-12)
    }

    @Test func nothingToLearnGivesZero() throws {
        let loss = try Registry.builtin.loss("angular", [])
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 5)
        let cases: [(Labels, Tuples?)] = [
            ([2, 2, 2, 2], nil),  // one label: no negatives
            ([0, 1, 2, 3], nil),  // singletons: no positives
            ([0, 0, 1, 1], .pairs(positive: [], negative: [])),
            // PML: a tuple with positive pairs but no negative pair gives 0 too.
            ([0, 0, 1, 1], .pairs(positive: [IndexPair(0, 1)], negative: [])),
        ]
        for (labels, tuples) in cases {
            let output: LossOutput<Double> = try loss(x, labels, tuples: tuples)
            #expect(output.value == 0)
            #expect(output.gradient.maxAbsoluteValue == 0)
        }
    }

    /// Negatives come from the labels, not from the tuple: mining a different negative changes nothing.
    @Test func usesOnlyThePositivePairsOfATuple() throws {
        let loss = try Registry.builtin.loss("angular", [])
        let problem = Problems.standard()
        let first: LossOutput<Double> = try loss(problem.embeddings, problem.labels,
                                                 tuples: .pairs(positive: [IndexPair(0, 1), IndexPair(3, 4)],
                                                                negative: [IndexPair(0, 3)]))
        let second: LossOutput<Double> = try loss(problem.embeddings, problem.labels,
                                                  tuples: .triplets([Triplet(0, 1, 8), Triplet(3, 4, 9)]))
        #expect(abs(first.value - second.value) < 1e-14)
        #expect(first.value > 0)
    }

    @Test func duplicatesStayFinite() throws {
        let loss = try Registry.builtin.loss("angular", ["alpha=60"])
        var x = Problems.gaussian(rows: 6, columns: 4, seed: 3)
        for k in 0..<4 { x[1, k] = x[0, k]; x[4, k] = x[0, k] }
        let double: LossOutput<Double> = try loss(x, [0, 0, 1, 1, 2, 2])
        #expect(double.value.isFinite)
        let float: LossOutput<Float> = try loss(x.converted(to: Float.self), [0, 0, 1, 1, 2, 2])
        #expect(abs(Double(float.value) - double.value) < 1e-4 * max(1, double.value))
    }

    @Test func rejectsAnglesOutsideTheOpenQuadrant() {
        for alpha in ["0", "90", "-10"] {
            #expect(throws: SimileError.self) { try Registry.builtin.loss("angular", ["alpha=\(alpha)"]) }
        }
    }
}
