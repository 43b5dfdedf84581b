import Foundation
import Testing
@testable import Simile

struct LogRatioLossTests {
    /// The triplets and values by brute force: for each anchor, the `k` nearest in label space
    /// (ties by index) as i, every strictly farther sample as j.
    static func naive(_ d: Matrix<Double>, labels: Matrix<Double>, referenceLabels: Matrix<Double>, isSelf: Bool,
                      neighbors: Int, epsilon: Double) -> [Double] {
        var values: [Double] = []
        for a in 0..<d.rows {
            func labelDistance(_ j: Int) -> Double {
                (0..<labels.columns).reduce(0) { $0 + pow(labels[a, $1] - referenceLabels[j, $1], 2) }
            }
            let order = (0..<d.columns).filter { !(isSelf && $0 == a) }
                .sorted { (labelDistance($0), $0) < (labelDistance($1), $1) }
            for i in order.prefix(neighbors) {
                for j in order where labelDistance(j) > labelDistance(i) {
                    let r = log((d[a, i] + epsilon) / (d[a, j] + epsilon))
                        - log((labelDistance(i) + epsilon) / (labelDistance(j) + epsilon))
                    values.append(r * r)
                }
            }
        }
        return values
    }

    static func continuous(rows: Int, seed: UInt64) -> Matrix<Double> { Problems.gaussian(rows: rows, columns: 3, seed: seed) }

    @Test(arguments: [(5, "mean"), (2, "mean"), (100, "sum"), (3, "avg-non-zero")])
    func matchesBruteForce(neighbors: Int, reducer: String) throws {
        let x = Problems.gaussian(rows: 12, columns: 4, seed: 21)
        let y = Self.continuous(rows: 12, seed: 22)
        let loss = try Registry.builtin.loss("log-ratio", ["neighbors=\(neighbors)", "reducer=\(reducer)"])
        let output: LossOutput<Double> = try loss(x, .continuous(y))
        let d = try LpDistance(p: 2, power: 2, normalize: true).forward(x, nil).values
        let values = Self.naive(d, labels: y, referenceLabels: y, isSelf: true, neighbors: neighbors, epsilon: 1e-6)
        let expected: Double
        switch reducer {
        case "sum": expected = values.reduce(0, +)
        case "avg-non-zero": expected = values.reduce(0, +) / Double(values.filter { $0 > 0 }.count)
        default: expected = values.reduce(0, +) / Double(values.count)
        }
        #expect(abs(output.value - expected) < 1e-10 * max(1, expected))
    }

    @Test func matchesBruteForceWithReference() throws {
        let x = Problems.gaussian(rows: 6, columns: 4, seed: 31)
        let r = Problems.gaussian(rows: 9, columns: 4, seed: 32)
        let y = Self.continuous(rows: 6, seed: 33), yr = Self.continuous(rows: 9, seed: 34)
        let loss = try Registry.builtin.loss("log-ratio", ["neighbors=4", "distance=lp(normalize=false)"])
        let output: LossOutput<Double> = try loss(x, .continuous(y), reference: r, referenceLabels: .continuous(yr))
        let d = try LpDistance(p: 2, power: 1, normalize: false).forward(x, r).values
        let values = Self.naive(d, labels: y, referenceLabels: yr, isSelf: false, neighbors: 4, epsilon: 1e-6)
        #expect(abs(output.value - values.reduce(0, +) / Double(values.count)) < 1e-10)
    }

    /// The prefix-sum path (reducers without a gate) and the enumerating path (gated reducers)
    /// agree when the gate lets everything through.
    @Test func bothPathsAgree() throws {
        let x = Problems.gaussian(rows: 10, columns: 3, seed: 41)
        let y = Self.continuous(rows: 10, seed: 42)
        let dense = try Registry.builtin.loss("log-ratio", ["neighbors=all"])
        let gated = try Registry.builtin.loss("log-ratio", ["neighbors=all", "reducer=threshold(low=-1)"])
        let a: LossOutput<Double> = try dense(x, .continuous(y))
        let b: LossOutput<Double> = try gated(x, .continuous(y))
        #expect(abs(a.value - b.value) < 1e-12)
        var worst = 0.0
        for index in a.gradient.elements.indices {
            worst = max(worst, abs(a.gradient.elements[index] - b.gradient.elements[index]))
        }
        #expect(worst < 1e-10)
    }

    /// Anchor 0 at 0, sample 1 at 1, sample 2 at 3 on a line (raw squared distances 1, 9, 4), labels 0, 1, 2.
    /// Anchor 0: i = 1, j = 2. Anchor 1: both others at label distance 1, a tie, no triplet.
    /// Anchor 2: i = 1 (label distance 1), j = 0 (label distance 4).
    @Test func handComputedValue() throws {
        let loss = try Registry.builtin.loss("log-ratio", ["distance=lp(power=2, normalize=false)", "epsilon=0.001"])
        let x = try Matrix<Double>([[0], [1], [3]])
        let output: LossOutput<Double> = try loss(x, .classes([0, 1, 2]))
        let e = 0.001
        let first = log((1 + e) / (9 + e)) - log((1 + e) / (4 + e))
        let second = log((4 + e) / (9 + e)) - log((1 + e) / (4 + e))
        #expect(abs(output.value - (first * first + second * second) / 2) < 1e-12)
    }

    @Test func duplicatesAndOneLabel() throws {
        let loss = try Registry.builtin.loss("log-ratio", [])
        var x = Problems.gaussian(rows: 5, columns: 3, seed: 7)
        for k in 0..<3 { x[1, k] = x[0, k] }
        let duplicates: LossOutput<Float> = try loss(x.converted(to: Float.self), [0, 0, 1, 2, 3])
        #expect(duplicates.value.isFinite && duplicates.value > 0)
        #expect(duplicates.gradient.firstNonFinite() == nil)
        let oneLabel: LossOutput<Double> = try loss(x, [4, 4, 4, 4, 4])
        #expect(oneLabel.value == 0)
        #expect(oneLabel.gradient.maxAbsoluteValue == 0)
    }

    @Test func rejectsSimilarities() {
        for distance in ["cosine", "dot"] {
            #expect {
                try Registry.builtin.loss("log-ratio", ["distance=\(distance)"])
            } throws: { error in
                guard case let SimileError.incompatible(message) = error else { return false }
                return message.contains("similarity") && message.contains("distance=")
            }
        }
    }

    @Test func rejectsLabelWidthsThatDiffer() throws {
        let loss = try Registry.builtin.loss("log-ratio", [])
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 1)
        #expect(throws: SimileError.self) {
            let _: LossOutput<Double> = try loss(x, .continuous(Problems.gaussian(rows: 4, columns: 2, seed: 2)),
                                                 reference: x, referenceLabels: .continuous(Problems.gaussian(rows: 4, columns: 3, seed: 3)))
        }
    }
}
