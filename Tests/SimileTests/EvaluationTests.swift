import Foundation
import Testing
@testable import Simile

/// Hand-checked evaluation cases, the blocked searches against brute force, k-means, and bad input.
struct EvaluationTests {
    /// Six points on a line: x = 0, 1, 3, 3.5, 7, 10 with labels a b a a b c (c is alone).
    /// Leave-one-out rankings, worked out by hand (ties by index: from x = 3.5, x = 0 and x = 7
    /// are both 3.5 away, and x = 0 comes first):
    ///   q0 (0, a):   b a a b c  → relevant ranks 2, 3
    ///   q1 (1, b):   a a a b c  → 4
    ///   q2 (3, a):   a b a b c  → 1, 3
    ///   q3 (3.5, a): a b a b c  → 1, 3
    ///   q4 (7, b):   c a a b a  → 4
    ///   q5 (10, c):  no other c, left out
    static let line = try! Matrix<Double>([[0], [1], [3], [3.5], [7], [10]])
    static let lineLabels = [0, 1, 0, 0, 1, 2]

    func evaluate(_ x: Matrix<Double>, _ labels: [Int], reference: Matrix<Double>? = nil, referenceLabels: [Int]? = nil,
                  _ configure: (inout EvaluationOptions) -> Void = { _ in }) throws -> EvaluationReport {
        var options = EvaluationOptions()
        configure(&options)
        return try Evaluation.evaluate(query: x, queryLabels: labels, reference: reference, referenceLabels: referenceLabels,
                                       options: options)
    }

    func close(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    @Test func leaveOneOutByHand() throws {
        let report = try evaluate(Self.line, Self.lineLabels) { $0.recallAt = [1, 2, 4] }
        #expect(report.mode == "leave-one-out" && report.queriesWithoutMatch == 1 && report.k == 5)
        #expect(close(report.precisionAt1, 2.0 / 5))
        // R-precision: 1/2, 0, 1/2, 1/2, 0.
        #expect(close(report.rPrecision, 1.5 / 5))
        // MAP@R: (1/2)/2, 0, 1/2, 1/2, 0.
        #expect(close(report.mapAtR, 1.25 / 5))
        // MAP: (1/2 + 2/3)/2, 1/4, (1 + 2/3)/2, (1 + 2/3)/2, 1/4 = 7/12, 3/12, 10/12, 10/12, 3/12.
        #expect(close(report.map, 33.0 / 60))
        // MRR: 1/2, 1/4, 1, 1, 1/4.
        #expect(close(report.mrr, 3.0 / 5))
        #expect(report.recallAtK == [1: 0.4, 2: 0.6, 4: 1.0])
    }

    @Test func averageOfAveragesByHand() throws {
        let report = try evaluate(Self.line, Self.lineLabels) { $0.averageOfAverages = true }
        // Class a: q0, q2, q3; class b: q1, q4.
        #expect(close(report.precisionAt1, (2.0 / 3 + 0) / 2))
        #expect(close(report.map, ((7.0 + 10 + 10) / 12 / 3 + 0.25) / 2))
    }

    @Test func maxBinCountByHand() throws {
        // The largest class has 3 members: k = 3 − 1 = 2 in leave-one-out.
        let report = try evaluate(Self.line, Self.lineLabels) { $0.k = .maxBinCount }
        #expect(report.k == 2)
        #expect(close(report.rPrecision, 1.5 / 5) && close(report.mapAtR, 1.25 / 5))
        // MAP within 2, still divided by R: 1/4, 0, 1/2, 1/2, 0. MRR within 2: 1/2, 0, 1, 1, 0.
        #expect(close(report.map, 1.25 / 5))
        #expect(close(report.mrr, 2.5 / 5))
    }

    /// References at 0 (a), 2 (b), 5 (a), 6 (c); queries at 1 (a), 5.5 (b), 3 (d, not among the references).
    ///   q0: r0 r1 (both 1 away, r0 first) r2 r3 → relevant ranks 1, 3
    ///   q1: r2 r3 (both 0.5 away, r2 first) r1 r0 → 3
    static let references = try! Matrix<Double>([[0], [2], [5], [6]])
    static let referenceLabels = [0, 1, 0, 2]
    static let queries = try! Matrix<Double>([[1], [5.5], [3]])
    static let queryLabels = [0, 1, 3]

    @Test func queryReferenceByHand() throws {
        let report = try evaluate(Self.queries, Self.queryLabels, reference: Self.references,
                                  referenceLabels: Self.referenceLabels)
        #expect(report.mode == "query-reference" && report.queriesWithoutMatch == 1 && report.k == 4)
        #expect(close(report.precisionAt1, 0.5))
        #expect(close(report.rPrecision, 0.25))
        #expect(close(report.mapAtR, 0.25))
        #expect(close(report.map, (5.0 / 6 + 1.0 / 3) / 2))
        #expect(close(report.mrr, (1 + 1.0 / 3) / 2))
    }

    @Test func fixedKSmallerThanRByHand() throws {
        let report = try evaluate(Self.queries, Self.queryLabels, reference: Self.references,
                                  referenceLabels: Self.referenceLabels) { $0.k = .count(1) }
        // q0: its first neighbour is relevant; R-precision is over min(R, k) = 1 (PML), MAP@R and MAP divide by R = 2.
        #expect(close(report.precisionAt1, 0.5) && close(report.rPrecision, 0.5))
        #expect(close(report.mapAtR, 0.25) && close(report.map, 0.25) && close(report.mrr, 0.5))
        #expect(report.warnings.contains { $0.contains("below the largest class size") })
        let large = try evaluate(Self.queries, Self.queryLabels, reference: Self.references,
                                 referenceLabels: Self.referenceLabels) { $0.k = .count(50) }
        #expect(large.k == 4 && large.warnings.contains { $0.contains("used k=4") })
    }

    @Test func referenceIncludingTheQueriesRemovesTheSelfMatch() throws {
        // The line as reference, its first four points as queries: the same rankings as leave-one-out.
        let queries = try Matrix<Double>([[0], [1], [3], [3.5]])
        let report = try evaluate(queries, Array(Self.lineLabels.prefix(4)), reference: Self.line,
                                  referenceLabels: Self.lineLabels) { $0.referenceIncludesQuery = true }
        #expect(report.mode == "reference-includes-query" && report.k == 5)
        #expect(close(report.map, (7.0 + 3 + 10 + 10) / 12 / 4))
        #expect(close(report.mrr, (0.5 + 0.25 + 1 + 1) / 4))
    }

    @Test func noMatchAtAllIsAWarningNotANaN() throws {
        let report = try evaluate(try Matrix<Double>([[0], [1]]), [5, 6], reference: Self.references,
                                  referenceLabels: Self.referenceLabels)
        #expect(report.precisionAt1 == nil && report.map == nil && report.k == nil)
        #expect(report.queriesWithoutMatch == 2)
        #expect(report.warnings.contains { $0.contains("no query label occurs among the references") })
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!json.contains("nan") && !json.contains("NaN"))
    }

    /// Pair distances of the line (1-D, so L1 = L2): same-label pairs 3, 3.5, 0.5, 6 (mean 3.25);
    /// the 11 others sum to 55.5; all 15 have mean 68.5/15 and squares summing to 427.25.
    @Test func pairStatisticsByHand() throws {
        let report = try evaluate(Self.line, Self.lineLabels)
        let interMean = 55.5 / 11, mean = 68.5 / 15
        let std = (427.25 / 15 - mean * mean).squareRoot()
        for (intra, inter, ratio, spread) in [
            (report.meanIntraDistanceL2, report.meanInterDistanceL2, report.intraInterRatioL2, report.pairDistanceStdL2),
            (report.meanIntraDistanceL1, report.meanInterDistanceL1, report.intraInterRatioL1, report.pairDistanceStdL1),
        ] {
            #expect(close(intra, 3.25, 1e-6) && close(inter, interMean, 1e-6))
            #expect(close(ratio, 3.25 / interMean, 1e-6) && close(spread, std, 1e-6))
        }
        #expect(report.l1SampledPairs == nil)
        // Dimension variance (unbiased): Σx = 24.5, Σx² = 171.25.
        let variance = (171.25 - 24.5 * 24.5 / 6) / 5
        #expect(report.dimensionVariance?.count == 1 && close(report.dimensionVariance?[0], variance, 1e-9))
        #expect(close(report.meanDimensionVariance, variance, 1e-9))
    }

    @Test func l1AndL2DifferOffTheAxes() throws {
        // (0,0) a, (3,4) a, (0,1) b: L2 pairs 5 (aa), 1, √18; L1 pairs 7 (aa), 1, 6.
        let x = try Matrix<Double>([[0, 0], [3, 4], [0, 1]])
        let report = try evaluate(x, [0, 0, 1])
        #expect(close(report.meanIntraDistanceL2, 5, 1e-5) && close(report.meanInterDistanceL2, (1 + 18.0.squareRoot()) / 2, 1e-5))
        #expect(close(report.meanIntraDistanceL1, 7, 1e-5) && close(report.meanInterDistanceL1, 3.5, 1e-5))
        #expect(close(report.intraInterRatioL1, 2, 1e-5))
    }

    @Test func sampledL1StatisticsAreCloseToExactAndSeeded() throws {
        let (x, labels) = Self.clustered(n: 300, d: 8, classes: 6, seed: 3)
        let exact = try evaluate(x, labels) { $0.metrics = [.pairDistances] }
        let sampled = try evaluate(x, labels) {
            $0.metrics = [.pairDistances]
            $0.exactL1PairLimit = 0
            $0.l1SamplePairs = 20_000
        }
        let again = try evaluate(x, labels) {
            $0.metrics = [.pairDistances]
            $0.exactL1PairLimit = 0
            $0.l1SamplePairs = 20_000
        }
        #expect(exact.l1SampledPairs == nil && sampled.l1SampledPairs == 20_000)
        #expect(sampled == again)
        // L2 is exact either way.
        #expect(sampled.intraInterRatioL2 == exact.intraInterRatioL2)
        for (a, b) in [(sampled.meanIntraDistanceL1, exact.meanIntraDistanceL1), (sampled.meanInterDistanceL1, exact.meanInterDistanceL1),
                       (sampled.intraInterRatioL1, exact.intraInterRatioL1), (sampled.pairDistanceStdL1, exact.pairDistanceStdL1)] {
            #expect(abs(a! - b!) / b! < 0.02, "\(a!) vs \(b!)")
        }
    }

    /// Seeded Gaussian classes (labels i mod classes).
    static func clustered(n: Int, d: Int, classes: Int, seed: UInt64, spread: Double = 1) -> (Matrix<Double>, [Int]) {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<(classes * d)).map { _ in spread * generator.nextGaussian() }
        let labels = (0..<n).map { $0 % classes }
        let elements = (0..<(n * d)).map { centres[labels[$0 / d] * d + $0 % d] + generator.nextGaussian() }
        return (Matrix(rows: n, columns: d, elements: elements), labels)
    }

    @Test func blockSizeDoesNotChangeAnything() throws {
        let (x, labels) = Self.clustered(n: 150, d: 6, classes: 12, seed: 5)
        var reports: [EvaluationReport] = []
        for k in [EvaluationOptions.Depth.all, .maxBinCount, .count(7)] {
            reports = try [nil, 1, 4, 64, x.rows].map { rows in  // x.rows: one block, unblocked
                try evaluate(x, labels) {
                    $0.k = k
                    $0.blockRows = rows
                    $0.metrics.subtract(EvaluationOptions.Metric.clusteringMetrics)
                }
            }
            #expect(reports.allSatisfy { $0 == reports[0] }, "k=\(k)")
        }
        // Counting ranks (k = all's way) equals selecting neighbours, for every k.
        for k in [EvaluationOptions.Depth.all, .maxBinCount, .count(3), .count(40)] {
            let counted = try evaluate(x, labels) {
                $0.k = k
                $0.ranking = .counting
                $0.metrics = EvaluationOptions.Metric.neighbourMetrics
            }
            let selected = try evaluate(x, labels) {
                $0.k = k
                $0.ranking = .selection
                $0.metrics = EvaluationOptions.Metric.neighbourMetrics
                $0.blockRows = 9
            }
            #expect(counted == selected, "k=\(k)")
            #expect(counted.map != nil && counted.recallAtK?.count == 4)
        }
    }

    @Test func resultsDoNotDependOnTheScalarType() throws {
        let (x, labels) = Self.clustered(n: 60, d: 5, classes: 7, seed: 9)
        let double = try evaluate(x, labels)
        let float = try Evaluation.evaluate(query: x.converted(to: Float.self), queryLabels: labels)
        #expect(double == float)
    }

    // MARK: - Neighbour search and selection against brute force

    /// Every (query, reference) pair sorted by (squared distance computed the same way, index).
    static func bruteForce(_ q: Matrix<Float>, _ r: Matrix<Float>, excludeSelf: Bool) -> [[Int]] {
        let qn = DistanceScan.squaredNorms(q), rn = DistanceScan.squaredNorms(r)
        return (0..<q.rows).map { i in
            let keys: [(Float, Int)] = (0..<r.rows).compactMap { j in
                if excludeSelf && i == j { return nil }
                var dot: Float = 0
                for t in 0..<q.columns { dot += q[i, t] * r[j, t] }
                return (max(0, qn[i] + rn[j] - 2 * dot), j)
            }
            return keys.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map(\.1)
        }
    }

    /// Integer-valued points (exact products, many exact ties) with duplicates.
    static func latticePoints(_ n: Int, _ d: Int, seed: UInt64) -> Matrix<Float> {
        var generator = SeededGenerator(seed: seed)
        var x = Matrix<Float>(rows: n, columns: d, elements: (0..<(n * d)).map { _ in Float(Int.random(in: -2...2, using: &generator)) })
        for t in 0..<d { x[1, t] = x[0, t] }  // a duplicate
        return x
    }

    @Test(arguments: [nil, 1, 3, 17] as [Int?])
    func blockedSearchEqualsBruteForce(_ blockRows: Int?) throws {
        let x = Self.latticePoints(40, 3, seed: 1), r = Self.latticePoints(33, 3, seed: 2)
        let loo = try NeighbourSearch.nearest(query: x, k: 10, blockRows: blockRows)
        #expect(loo.indices == Self.bruteForce(x, x, excludeSelf: true).map { Array($0.prefix(10)) })
        let separate = try NeighbourSearch.nearest(query: x, reference: r, k: 33, blockRows: blockRows)
        #expect(separate.indices == Self.bruteForce(x, r, excludeSelf: false))
        #expect(loo.indices[0][0] == 1 && loo.distances[0][0] == 0)  // the duplicate, at distance 0
        // Long rows (the sampling selector): 600 references, 8 neighbours.
        let many = Self.clustered(n: 600, d: 3, classes: 5, seed: 6).0.converted(to: Float.self)
        let long = try NeighbourSearch.nearest(query: x, reference: many, k: 8, blockRows: blockRows)
        #expect(long.indices == Self.bruteForce(x, many, excludeSelf: false).map { Array($0.prefix(8)) })
        let latticeMany = Self.latticePoints(700, 3, seed: 8)
        let ties = try NeighbourSearch.nearest(query: x, reference: latticeMany, k: 12, blockRows: blockRows)
        #expect(ties.indices == Self.bruteForce(x, latticeMany, excludeSelf: false).map { Array($0.prefix(12)) })
        let gaussian = Self.clustered(n: 50, d: 4, classes: 5, seed: 4).0.converted(to: Float.self)
        let g = try NeighbourSearch.nearest(query: gaussian, k: 49, blockRows: blockRows)
        #expect(g.indices == Self.bruteForce(gaussian, gaussian, excludeSelf: true))
        for i in 0..<gaussian.rows {
            let j = g.indices[i][0]
            let exact = (0..<4).map { Double(gaussian[i, $0] - gaussian[j, $0]) }.map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(abs(Double(g.distances[i][0]) - exact) < 1e-4)
        }
    }

    @Test func cosineSearchRanksBySimilarity() throws {
        let x = try Matrix<Float>([[1, 0], [10, 1], [0, 3], [-1, -1], [2, 2.5]])
        let result = try NeighbourSearch.nearest(query: x, k: 4, geometry: .cosine)
        let unit = (0..<5).map { i -> (Float, Float) in
            let norm = (x[i, 0] * x[i, 0] + x[i, 1] * x[i, 1]).squareRoot()
            return (x[i, 0] / norm, x[i, 1] / norm)
        }
        for i in 0..<5 {
            let order = (0..<5).filter { $0 != i }.sorted { unit[i].0 * unit[$0].0 + unit[i].1 * unit[$0].1 > unit[i].0 * unit[$1].0 + unit[i].1 * unit[$1].1 }
            #expect(result.indices[i] == order)
            let cosine = unit[i].0 * unit[order[0]].0 + unit[i].1 * unit[order[0]].1
            #expect(abs(result.distances[i][0] - (1 - cosine)) < 1e-6)
        }
    }

    @Test func selectionAndRankCountingMatchASort() {
        var generator = SeededGenerator(seed: 11)
        for trial in 0..<70 {
            let m = Int.random(in: 1...(trial < 50 ? 300 : 2000), using: &generator)
            // Few distinct values, so ties are common; sometimes a row that is all one value.
            let levels = trial % 10 == 0 ? 1 : Int.random(in: 2...40, using: &generator)
            var row = (0..<m).map { _ in Float(Int.random(in: 0..<levels, using: &generator)) * 0.37 }
            let excluded = trial % 3 == 0 ? Int.random(in: 0..<m, using: &generator) : -1
            let order = (0..<m).filter { $0 != excluded }.sorted { row[$0] != row[$1] ? row[$0] < row[$1] : $0 < $1 }
            let k = Int.random(in: 1...(m + 2), using: &generator)
            var keys = [UInt64](repeating: 0, count: k)
            let found = row.withUnsafeBufferPointer { NearestSelection.smallest($0.baseAddress!, count: m, excluding: excluded, k: k, into: &keys) }
            #expect(found == min(k, order.count))
            #expect(keys.prefix(found).map(NearestSelection.index) == Array(order.prefix(found)), "trial \(trial)")
            // The sampling selector, on rows long enough for it (and its fallback on the others).
            let small = max(1, Int.random(in: 1...max(1, m / 16), using: &generator))
            let selector = NearestSelection.Selector(k: small, rowLength: m)
            var selected = [UInt64](repeating: 0, count: small)
            let got = row.withUnsafeBufferPointer { selector.smallest($0.baseAddress!, count: m, excluding: excluded, into: &selected) }
            #expect(selected.prefix(got).map(NearestSelection.index) == Array(order.prefix(min(small, order.count))), "trial \(trial)")

            let relevant = (0..<m).filter { $0 != excluded && Bool.random(using: &generator) }.map(Int32.init)
            var rankOf = [Int32](repeating: 0, count: m)
            for (position, j) in order.enumerated() { rankOf[j] = Int32(position + 1) }
            let expected = relevant.map { rankOf[Int($0)] }.sorted()
            let ranker = RelevantRanks(capacity: max(1, relevant.count))
            var ranks = [Int32](repeating: 0, count: max(1, relevant.count))
            let count = row.withUnsafeMutableBufferPointer { rowBuffer in
                relevant.withUnsafeBufferPointer { list in
                    ranks.withUnsafeMutableBufferPointer { out in
                        ranker.ranks(rowBuffer.baseAddress!, count: m, relevant: list, excluding: excluded, into: out.baseAddress!)
                    }
                }
            }
            #expect(Array(ranks.prefix(count)) == expected, "trial \(trial)")
        }
    }

    /// `NearestSelection.sort` (introsort, heapsort when partitions degenerate) against the
    /// standard sort, on lengths around its insertion-sort cut-off and with many duplicates.
    @Test func keySortMatchesTheStandardSort() {
        var generator = SeededGenerator(seed: 12)
        for trial in 0..<200 {
            let count = trial < 60 ? trial : Int.random(in: 0...3000, using: &generator)
            let distinct = UInt64(trial % 4 == 0 ? 3 : 1 << 40)
            var keys: [UInt64] = (0..<count).map { _ in UInt64.random(in: 0..<distinct, using: &generator) }
            // Sorted, reversed and organ-pipe inputs, the classic bad cases of a median-of-three quicksort.
            if trial % 5 == 1 { keys.sort() }
            if trial % 5 == 2 { keys.sort(by: >) }
            if trial % 5 == 3 { keys = (0..<count).map { UInt64(min($0, count - $0)) } }
            let expected = keys.sorted()
            keys.withUnsafeMutableBufferPointer { buffer in
                if let base = buffer.baseAddress { NearestSelection.sort(base, buffer.count) }
            }
            #expect(keys == expected, "trial \(trial)")
        }
    }

    // MARK: - Clustering

    @Test func kMeansFindsSeparatedClustersAndIsSeeded() throws {
        let (x, labels) = Self.clustered(n: 120, d: 5, classes: 4, seed: 2, spread: 12)
        let result = try KMeans.cluster(x, k: 4, restarts: 3, seed: 5)
        #expect(MutualInformation.normalized(labels: labels, clusters: result.assignments.map(Int.init)) == 1)
        #expect(result.converged)
        let again = try KMeans.cluster(x, k: 4, restarts: 3, seed: 5)
        #expect(again == result)
        let single = try KMeans.cluster(x, k: 4, restarts: 1, seed: 5)
        #expect(result.inertia <= single.inertia)
        let report = try evaluate(x, labels) { $0.metrics = EvaluationOptions.Metric.clusteringMetrics }
        #expect(report.nmi == 1 && report.ami == 1 && report.clustering?.clusters == 4)
    }

    @Test func kMeansEdgeCases() throws {
        let x = try Matrix<Float>([[1, 1], [1, 1], [1, 1], [5, 5], [5, 5]])
        let two = try KMeans.cluster(x, k: 2)
        #expect(Set(two.assignments.prefix(3)).count == 1 && Set(two.assignments.suffix(2)).count == 1)
        #expect(two.assignments[0] != two.assignments[4] && two.inertia == 0)
        // More clusters than distinct points: no crash, every point at distance 0.
        let many = try KMeans.cluster(x, k: 4)
        #expect(many.inertia == 0 && many.assignments.count == 5)
        let each = try KMeans.cluster(x, k: 5)
        #expect(each.inertia == 0)
        #expect(throws: SimileError.self) { try KMeans.cluster(x, k: 6) }
        #expect(throws: SimileError.self) { try KMeans.cluster(x, k: 0) }
        // One class: NMI and AMI are 1 (scikit-learn's convention for a single cluster on both sides).
        let report = try evaluate(x.converted(to: Double.self), [3, 3, 3, 3, 3])
        #expect(report.nmi == 1 && report.ami == 1)
    }

    /// labels 0 0 1 1, clusters 0 1 1 1: MI = ¼log2 + ¼log(2/3) + ½log(4/3); H = log 2 and
    /// −(¼log¼ + ¾log¾). Every arrangement of these class sizes has the same MI (the class of one
    /// member decides it), so EMI = MI and AMI = 0.
    @Test func mutualInformationByHand() {
        let mi = 0.25 * log(2.0) + 0.25 * log(2.0 / 3) + 0.5 * log(4.0 / 3)
        let hu = log(2.0), hv = -(0.25 * log(0.25) + 0.75 * log(0.75))
        #expect(abs(MutualInformation.normalized(labels: [0, 0, 1, 1], clusters: [0, 1, 1, 1]) - mi / ((hu + hv) / 2)) < 1e-14)
        #expect(abs(MutualInformation.expected(rows: [2, 2], columns: [1, 3], n: 4) - mi) < 1e-14)
        #expect(abs(MutualInformation.adjusted(labels: [0, 0, 1, 1], clusters: [0, 1, 1, 1])) < 1e-9)
        #expect(MutualInformation.normalized(labels: [4, 4, 7, 7], clusters: [1, 1, 0, 0]) == 1)
        #expect(MutualInformation.adjusted(labels: [4, 4, 7, 7], clusters: [1, 1, 0, 0]) == 1)
    }

    // MARK: - Bad input

    @Test func badInputIsAClearError() throws {
        let x = try Matrix<Double>([[0, 1], [1, 0], [1, 1]])
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message { _ = try evaluate(x, [0, 1]) }.contains("3 query embeddings but 2 query labels"))
        #expect(message { _ = try evaluate(Matrix(rows: 0, columns: 2), []) }.contains("no query embeddings"))
        var bad = x
        bad[1, 1] = .nan
        #expect(message { _ = try evaluate(bad, [0, 1, 0]) }.contains("row 1, column 1"))
        #expect(message { _ = try evaluate(x, [0, 1, 0], reference: try Matrix([[1.0]]), referenceLabels: [0]) }
            .contains("2 dimensions but reference embeddings have 1"))
        #expect(message { _ = try evaluate(x, [0, 1, 0], reference: x, referenceLabels: [0]) }.contains("3 reference embeddings but 1 reference labels"))
        #expect(message { _ = try evaluate(x, [0, 1, 0], reference: nil, referenceLabels: [0, 1, 0]) }.contains("without reference embeddings"))
        #expect(message { _ = try evaluate(x, [0, 1, 0], reference: Matrix(rows: 0, columns: 2), referenceLabels: []) }.contains("no reference embeddings"))
        #expect(message { _ = try evaluate(x, [0, 1, 0]) { $0.k = .count(0) } }.contains("k=0"))
        #expect(message { _ = try evaluate(x, [0, 1, 0]) { $0.recallAt = [0] } }.contains("recall@k needs k ≥ 1"))
        #expect(message {
            _ = try evaluate(x, [0, 1, 0], reference: try Matrix([[0, 1], [9, 9], [1, 1]]), referenceLabels: [0, 1, 0]) { $0.referenceIncludesQuery = true }
        }.contains("reference row 1 differs from query row 1"))
        #expect(message { _ = try evaluate(try Matrix([[1e30, 1e30]]), [0]) }.contains("too large"))
        #expect(message { _ = try NeighbourSearch.nearest(query: x, k: 0) }.contains("at least one neighbour"))
    }

    @Test func aSingleEmbeddingIsEvaluatedWithWarnings() throws {
        let report = try evaluate(try Matrix([[1.0, 2.0]]), [0])
        #expect(report.precisionAt1 == nil && report.queriesWithoutMatch == 1)
        #expect(report.dimensionVariance == nil && report.nmi == 1)
        #expect(report.warnings.contains { $0.contains("no other embedding to rank") })
        let unique = try evaluate(Self.line, [0, 1, 2, 3, 4, 5])
        #expect(unique.map == nil && unique.queriesWithoutMatch == 6 && unique.intraInterRatioL2 == nil)
        #expect(unique.warnings.contains { $0.contains("no two embeddings share a label") })
        #expect(unique.warnings.contains { $0.contains("intra/inter ratios are undefined") })
    }

    @Test func theReportUsesSnakeCaseKeys() throws {
        let report = try evaluate(Self.line, Self.lineLabels)
        let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(report)) as! [String: Any]
        for key in ["precision_at_1", "r_precision", "map_at_r", "map", "mrr", "recall_at_k", "nmi", "ami",
                    "intra_inter_ratio_l2", "intra_inter_ratio_l1", "pair_distance_std_l2", "pair_distance_std_l1",
                    "dimension_variance", "mean_dimension_variance", "queries_without_match", "avg_of_avgs"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect((object["recall_at_k"] as? [String: Double])?["1"] == 0.4)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: try JSONEncoder().encode(report))
        #expect(decoded == report)
    }
}
