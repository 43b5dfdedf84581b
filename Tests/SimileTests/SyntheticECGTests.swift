import Foundation
import Testing
@testable import Simile

/// The built-in synthetic ECG cohort: deterministic, plausible, and neither trivial nor hopeless.
struct SyntheticECGTests {
    static let cohort: Dataset = {
        do { return try SyntheticECG().dataset() } catch { fatalError("\(error)") }
    }()

    @Test func sameSeedSameCohortOtherSeedOtherCohort() throws {
        let a = try SyntheticECG(patients: 20, seed: 7).csv()
        let b = try SyntheticECG(patients: 20, seed: 7).csv()
        let c = try SyntheticECG(patients: 20, seed: 8).csv()
        #expect(a == b)
        #expect(a != c)
        // A larger cohort extends a smaller one: patient p depends only on the seed and p.
        let larger = try SyntheticECG(patients: 30, seed: 7).csv()
        #expect(larger.hasPrefix(a))
    }

    @Test func shapeColumnsAndMetadata() throws {
        let data = Self.cohort
        #expect(data.featureNames == SyntheticECG.features.map(\.name))
        #expect(data.featureCount == 13)
        #expect(data.classCount == 200)
        let perPatient = data.rowsByClass.map(\.count)
        #expect(perPatient.allSatisfy { (4...8).contains($0) })
        #expect(data.metadataNames == SyntheticECG.metadataColumns)
        guard case let .flags(inRange)? = data.metadata["InRange"],
              case let .categorical(sex)? = data.metadata["sex"],
              case let .categorical(buckets)? = data.metadata["qt_bucket"],
              case let .categorical(states)? = data.metadata["state"],
              case let .numeric(dates)? = data.metadata["exam_date"] else {
            Issue.record("metadata types: \(data.metadata.mapValues(\.typeName))")
            return
        }
        let poor = Double(inRange.filter { $0 == false }.count) / Double(data.count)
        #expect(poor > 0.05 && poor < 0.16, "poor-quality share \(poor)")
        let exercise = Double(states.filter { $0 == "exercise" }.count) / Double(data.count)
        #expect(exercise > 0.22 && exercise < 0.38, "exercise share \(exercise)")
        #expect(Set(sex.compactMap { $0 }) == ["F", "M"])
        let bucketCounts = Dictionary(grouping: buckets.compactMap { $0 }, by: { $0 }).mapValues(\.count)
        #expect(Set(bucketCounts.keys) == ["short", "normal", "long"], "\(bucketCounts)")
        #expect(bucketCounts.values.allSatisfy { Double($0) > 0.08 * Double(data.count) }, "\(bucketCounts)")
        // Sex and QT range are per patient; dates increase within a patient.
        for rows in data.rowsByClass {
            #expect(Set(rows.map { sex[$0] }).count == 1 && Set(rows.map { buckets[$0] }).count == 1)
            let days = rows.map { dates[$0]! }
            #expect(zip(days, days.dropFirst()).allSatisfy { $1 - $0 >= 29 })
        }
    }

    @Test func featuresArePhysiologicallyPlausibleAndConsistent() throws {
        let data = Self.cohort
        for (j, feature) in SyntheticECG.features.enumerated() {
            let values = (0..<data.count).map { data.value(row: $0, feature: j)! }
            #expect(values.allSatisfy { feature.plausible.contains($0) }, "\(feature.name) out of \(feature.plausible)")
            // Not pinned to the bounds: fewer than 1% of values sit on a bound.
            let clamped = values.filter { $0 == feature.plausible.lowerBound || $0 == feature.plausible.upperBound }.count
            #expect(clamped * 100 < data.count, "\(feature.name): \(clamped) values on a bound")
        }
        let column = { (name: String) in data.featureNames.firstIndex(of: name)! }
        for row in 0..<data.count {
            let rate = data.value(row: row, feature: column("heart_rate"))!
            let rr = data.value(row: row, feature: column("rr_interval"))!
            let qt = data.value(row: row, feature: column("qt_interval"))!
            let qtc = data.value(row: row, feature: column("qtc_bazett"))!
            #expect(abs(rr - 60_000 / rate) <= 0.051)
            #expect(abs(qtc - qt / (rr / 1000).squareRoot()) <= 0.051)
        }
        // Exercise: faster heart rate and shorter QT than rest, on average.
        guard case let .categorical(states)? = data.metadata["state"] else { return }
        func mean(_ name: String, _ state: String) -> Double {
            let rows = (0..<data.count).filter { states[$0] == state }
            return rows.reduce(0) { $0 + data.value(row: $1, feature: column(name))! } / Double(rows.count)
        }
        #expect(mean("heart_rate", "exercise") > mean("heart_rate", "rest") + 20)
        #expect(mean("qt_interval", "exercise") < mean("qt_interval", "rest") - 30)
    }

    /// Leave-one-out P@1 of Euclidean kNN on z-scored raw features: about 0.45, pinned to 0.3–0.6.
    @Test func rawFeatureRetrievalIsFarFromPerfect() throws {
        let data = Self.cohort
        let z = try Standardization(fitting: data).apply(data)
        let precision = leaveOneOutPrecisionAt1(z, data.labels)
        #expect(precision > 0.3 && precision < 0.6, "P@1 = \(precision)")
        // Chance is about 1/200; noisy exams are harder to match than clean ones.
        guard case let .flags(inRange)? = data.metadata["InRange"] else { return }
        let poorRows = (0..<data.count).filter { inRange[$0] == false }
        let nearest = nearestNeighbours(z)
        let hitsPoor = poorRows.filter { data.labels[nearest[$0]] == data.labels[$0] }.count
        #expect(Double(hitsPoor) / Double(poorRows.count) < precision)
    }

    @Test func badParametersAreErrors() {
        #expect(throws: SimileError.self) { try SyntheticECG(patients: 0) }
        #expect(throws: SimileError.self) { try SyntheticECG(exams: 0...3) }
        #expect(throws: SimileError.self) { try SyntheticECG(exerciseFraction: 1.5) }
    }
}

/// The nearest other row of each row by Euclidean distance (brute force over the Gram matrix).
func nearestNeighbours(_ x: Matrix<Double>) -> [Int] {
    try? BLAS.require()
    let gram = Matrix.gram(x)
    let n = x.rows
    return gram.elements.withUnsafeBufferPointer { g in
        (0..<n).map { i in
            var best = -1, bestDistance = Double.infinity
            for j in 0..<n where j != i {
                let distance = g[j * n + j] - 2 * g[i * n + j]  // ‖x_i‖² is the same for every j
                if distance < bestDistance {
                    bestDistance = distance
                    best = j
                }
            }
            return best
        }
    }
}

/// Leave-one-out precision at 1: the share of rows whose nearest other row has the same label.
func leaveOneOutPrecisionAt1(_ x: Matrix<Double>, _ labels: [Int]) -> Double {
    let nearest = nearestNeighbours(x)
    return Double((0..<x.rows).filter { labels[nearest[$0]] == labels[$0] }.count) / Double(x.rows)
}
