import Foundation
import Testing
@testable import Simile

/// distance-weighted draws its negatives with the weights of Wu et al. 2017.
struct DistanceWeightedMinerTests {
    /// The (1 − α) quantile of χ² with `df` degrees of freedom (Wilson–Hilferty; z for α = 0.001).
    static func chiSquareCritical(df: Int, z: Double = 3.090) -> Double {
        let k = Double(df)
        let t = 1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot()
        return k * t * t * t
    }

    /// Over many steps, anchor 0's negatives follow w(d) = 1/q(d), q(d) = d^(D−2)·(1 − d²/4)^((D−3)/2),
    /// with d clamped at the cutoff and weight 0 from the nonzero-loss cutoff on: a χ² goodness-of-fit
    /// test on a fixed seed. The expected probabilities are computed here from the paper's formula
    /// (powers, not the miner's logarithms).
    @Test func negativesFollowTheTargetWeights() throws {
        let d = 4, n = 14
        let x = Problems.gaussian(rows: n, columns: d, seed: 77)
        let labels = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5]
        let cutoff = 0.5, nonzeroLossCutoff = 1.6
        let miner = try Registry.builtin.miner(try Registry.builtin.spec(
            "distance-weighted", ["cutoff=\(cutoff)", "nonzero-loss-cutoff=\(nonzeroLossCutoff)", "seed=3"]))

        // Expected distribution for anchor 0.
        func unit(_ i: Int) -> [Double] {
            let row = Array(x.row(i))
            let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return row.map { $0 / norm }
        }
        let anchor = unit(0)
        let negatives = (0..<n).filter { labels[$0] != labels[0] }
        let weights = negatives.map { j -> Double in
            let distance = zip(anchor, unit(j)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            let clamped = max(distance, cutoff)
            guard clamped < nonzeroLossCutoff else { return 0 }
            let density = pow(clamped, Double(d - 2)) * pow(1 - clamped * clamped / 4, Double(d - 3) / 2)
            return 1 / density
        }
        let total = weights.reduce(0, +)
        let probabilities = weights.map { $0 / total }
        #expect(probabilities.contains(0), "the case should include a negative beyond the nonzero-loss cutoff")

        // Draws: every step gives anchor 0 three triplets (its class has three rows).
        var counts = [Int: Int]()
        var draws = 0
        for step in 0..<4000 as Range<UInt64> {
            guard case let .triplets(triplets) = try miner(x, labels, context: MiningContext(step: step)) else {
                Issue.record("distance-weighted returned pairs")
                return
            }
            for t in triplets where t.anchor == 0 {
                counts[t.negative, default: 0] += 1
                draws += 1
                #expect(labels[t.positive] == 0 && t.positive != 0)
            }
        }
        #expect(draws == 3 * 4000)
        var chiSquare = 0.0, chiSquareUniform = 0.0, categories = 0
        let positiveWeights = probabilities.filter { $0 > 0 }.count
        for (k, j) in negatives.enumerated() {
            let observed = Double(counts[j] ?? 0)
            if probabilities[k] == 0 {
                #expect(observed == 0, "negative \(j) has weight 0 but was drawn \(observed) times")
                continue
            }
            let expected = Double(draws) * probabilities[k]
            #expect(expected >= 5, "too few draws for a χ² test")
            chiSquare += (observed - expected) * (observed - expected) / expected
            let uniform = Double(draws) / Double(positiveWeights)
            chiSquareUniform += (observed - uniform) * (observed - uniform) / uniform
            categories += 1
        }
        let critical = Self.chiSquareCritical(df: categories - 1)
        #expect(chiSquare < critical, "χ² = \(chiSquare) with \(categories - 1) degrees of freedom (critical \(critical))")
        // The test has power: the same draws reject a uniform choice among the same negatives.
        #expect(chiSquareUniform > 10 * critical, "χ² against uniform = \(chiSquareUniform)")
    }

    /// In high dimension the weights span hundreds of orders of magnitude. PML subtracts one
    /// maximum for the whole matrix, so in float32 whole rows can underflow and their anchors are
    /// dropped; Simile normalises each row on its own, in double precision, so every anchor with a
    /// positive and an admissible negative gets its triplets.
    @Test func highDimensionalFloatKeepsEveryAnchor() throws {
        let n = 64, d = 256
        var generator = SeededGenerator(seed: 5)
        // Clusters with different spreads make the rows' weight scales very different.
        var x = Matrix<Float>(rows: n, columns: d)
        for i in 0..<n {
            let spread = i % 2 == 0 ? 0.3 : 3.0
            for k in 0..<d { x[i, k] = Float((k == i % 8 ? 4 : 0) + spread * generator.nextGaussian()) }
        }
        let labels = (0..<n).map { $0 / 4 }
        let miner = try Registry.builtin.miner("distance-weighted(nonzero-loss-cutoff=2)")
        guard case let .triplets(triplets) = try miner(x, labels) else {
            Issue.record("distance-weighted returned pairs")
            return
        }
        let anchors = Set(triplets.map(\.anchor))
        #expect(anchors.count == n, "\(n - anchors.count) anchors were dropped")
        #expect(triplets.count == 4 * n)
    }
}
