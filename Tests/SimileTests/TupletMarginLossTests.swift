import Foundation
import Testing
@testable import Simile

struct TupletMarginLossTests {
    static func unitCircle(degrees: [Double]) -> Matrix<Double> {
        Matrix(rows: degrees.count, columns: 2,
               elements: degrees.flatMap { [cos($0 * .pi / 180), sin($0 * .pi / 180)] })
    }

    /// a = 0°, p = 30°, n = 90°, labels [0, 0, 1]; written with acos, as PML does.
    @Test func knownAngles() throws {
        let loss = try Registry.builtin.loss("tuplet-margin", ["scale=2"])
        let output: LossOutput<Double> = try loss(Self.unitCircle(degrees: [0, 30, 90]), [0, 0, 1])
        let m = 5.73 * Double.pi / 180
        let target = cos(acos(cos(Double.pi / 6)) - m)
        // Pair (0, 1) has the negative at cosine 0, pair (1, 0) has it at cosine cos 60° = 0.5.
        let l01 = log(1 + exp(2 * (0 - target))), l10 = log(1 + exp(2 * (0.5 - target)))
        #expect(abs(output.value - (l01 + l10) / 2) < 1e-12)
    }

    /// acos has an infinite derivative at ±1: duplicates (s = 1) and opposite points (s = −1)
    /// must still give finite values and gradients, in Float and Double.
    @Test func duplicatesAndOppositesAreFinite() throws {
        let loss = try Registry.builtin.loss("tuplet-margin", [])
        var x = Problems.gaussian(rows: 10, columns: 4, seed: 7)
        for k in 0..<4 {
            x[3, k] = x[0, k]       // duplicate within class 0
            x[7, k] = x[1, k]       // duplicate within class 1
            x[9, k] = -x[2, k]      // opposite within class 2
            x[8, k] = x[4, k]       // duplicate across classes
        }
        let labels = [0, 1, 2, 0, 3, 3, 1, 1, 2, 2]
        let double: LossOutput<Double> = try loss(x, labels)
        let float: LossOutput<Float> = try loss(x.converted(to: Float.self), labels)
        #expect(double.value.isFinite && double.value > 0)
        #expect(double.gradient.firstNonFinite() == nil && float.gradient.firstNonFinite() == nil)
        #expect(abs(float.value - double.value) <= 1e-4 * double.value)
        // Away from the duplicates the gradient still matches finite differences.
        var near = x
        near[3, 0] += 1e-3
        near[7, 1] -= 1e-3
        near[9, 2] += 1e-3
        near[8, 3] += 1e-3
        let problem = GradientCheck.Problem(embeddings: near, labels: .classes(labels))
        #expect(try GradientCheck.mismatches(loss, problem).isEmpty)
    }

    /// Deviation: PML returns 0 for one positive pair and one negative pair; Simile computes it.
    @Test func onePositiveAndOneNegativePairStillCount() throws {
        let loss = try Registry.builtin.loss("tuplet-margin", ["scale=2"])
        let x = Self.unitCircle(degrees: [0, 30, 90])
        let tuples = Tuples.pairs(positive: [IndexPair(0, 1)], negative: [IndexPair(0, 2)])
        let output: LossOutput<Double> = try loss(x, [0, 0, 1], tuples: tuples)
        let target = cos(Double.pi / 6 - 5.73 * Double.pi / 180)
        #expect(abs(output.value - log(1 + exp(2 * (0 - target)))) < 1e-12)
    }

    @Test func edgeCases() throws {
        let loss = try Registry.builtin.loss("tuplet-margin", [])
        let x = Problems.gaussian(rows: 6, columns: 3, seed: 8)
        let one: LossOutput<Double> = try loss(x, [4, 4, 4, 4, 4, 4])
        #expect(one.value == 0 && one.gradient.maxAbsoluteValue == 0)
        let singletons: LossOutput<Double> = try loss(x, [0, 1, 2, 3, 4, 5])
        #expect(singletons.value == 0 && singletons.gradient.maxAbsoluteValue == 0)
        let empty: LossOutput<Double> = try loss(x, [0, 0, 1, 1, 2, 2], tuples: .pairs(positive: [], negative: []))
        #expect(empty.value == 0 && empty.gradient.maxAbsoluteValue == 0)
    }

    @Test func rejectsBadParameters() {
        #expect(throws: SimileError.self) { try Registry.builtin.loss("tuplet-margin", ["scale=0"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("tuplet-margin", ["margin=-1"]) }
        #expect(throws: SimileError.self) { try Registry.builtin.loss("tuplet-margin", ["distance=cosine"]) }
    }
}
