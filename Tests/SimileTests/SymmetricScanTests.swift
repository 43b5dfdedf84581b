import Testing
@testable import Simile

/// The leave-one-out pass over half the distance matrix (`SymmetricScan`) against the streaming
/// pass over all of it, with tiles small enough that every case spans many of them.
struct SymmetricScanTests {
    /// Seeded data sets: clustered Gaussians with uneven classes and two singletons, and integer
    /// lattice points (exact distances, so many exact ties) with a duplicate.
    static func cases() -> [(name: String, x: Matrix<Double>, labels: [Int])] {
        let (gaussian, gaussianLabels) = EvaluationTests.clustered(n: 150, d: 6, classes: 12, seed: 5)
        var uneven = gaussianLabels.enumerated().map { $0.offset < 40 ? 3 : $0.element }
        uneven[7] = 1000
        uneven[91] = 1001
        let lattice = EvaluationTests.latticePoints(130, 3, seed: 3).converted(to: Double.self)
        let latticeLabels = (0..<130).map { $0 % 9 == 0 ? 0 : $0 % 5 }
        return [("gaussian", gaussian, gaussianLabels), ("uneven", gaussian, uneven), ("lattice", lattice, latticeLabels)]
    }

    func evaluate(_ x: Matrix<Double>, _ labels: [Int], symmetric: Bool, tile: Int, k: EvaluationOptions.Depth,
                  metrics: Set<EvaluationOptions.Metric>, geometry: EvaluationOptions.Geometry = .euclidean,
                  ranking: EvaluationOptions.Ranking = .counting) throws -> EvaluationReport {
        var options = EvaluationOptions(metrics: metrics, k: k, recallAt: [1, 3, 10], geometry: geometry)
        options.ranking = ranking
        options.symmetricPass = symmetric
        options.tileRows = tile
        return try Evaluation.evaluate(query: x, queryLabels: labels, options: options)
    }

    /// Equal up to the rounding of single-precision distances summed in a different order.
    func close(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return abs(a - b) <= 1e-8 * max(1, abs(b))
    }

    @Test(arguments: [5, 16, 17, 64, 2048])
    func symmetricRanksEqualStreamingRanks(tile: Int) throws {
        let neighbours = EvaluationOptions.Metric.neighbourMetrics
        for (name, x, labels) in Self.cases() {
            for k in [EvaluationOptions.Depth.all, .maxBinCount, .count(30)] {
                for geometry in EvaluationOptions.Geometry.allCases {
                    let symmetric = try evaluate(x, labels, symmetric: true, tile: tile, k: k, metrics: neighbours, geometry: geometry)
                    let streaming = try evaluate(x, labels, symmetric: false, tile: tile, k: k, metrics: neighbours, geometry: geometry)
                    // Selection sorts the nearest entries instead of counting: no grid, no table.
                    let selected = try evaluate(x, labels, symmetric: false, tile: tile, k: k, metrics: neighbours,
                                                geometry: geometry, ranking: .selection)
                    #expect(symmetric == streaming, "\(name) k=\(k) \(geometry) tile \(tile)")
                    #expect(symmetric == selected, "\(name) k=\(k) \(geometry) tile \(tile) selection")
                    #expect(symmetric.map != nil)
                }
            }
        }
    }

    @Test(arguments: [3, 16, 2048])
    func symmetricPairStatisticsEqualStreaming(tile: Int) throws {
        for (name, x, labels) in Self.cases() {
            for metrics in [Set(EvaluationOptions.Metric.neighbourMetrics).union([.pairDistances]), [.pairDistances]] {
                let symmetric = try evaluate(x, labels, symmetric: true, tile: tile, k: .all, metrics: metrics)
                let streaming = try evaluate(x, labels, symmetric: false, tile: tile, k: .all, metrics: metrics)
                #expect(symmetric.meanIntraDistanceL2 != nil && symmetric.pairDistanceStdL2 != nil)
                #expect(close(symmetric.meanIntraDistanceL2, streaming.meanIntraDistanceL2), "\(name) tile \(tile)")
                #expect(close(symmetric.meanInterDistanceL2, streaming.meanInterDistanceL2), "\(name) tile \(tile)")
                #expect(close(symmetric.intraInterRatioL2, streaming.intraInterRatioL2), "\(name) tile \(tile)")
                #expect(close(symmetric.pairDistanceStdL2, streaming.pairDistanceStdL2), "\(name) tile \(tile)")
                #expect(symmetric.map == streaming.map && symmetric.precisionAt1 == streaming.precisionAt1)
            }
        }
    }

    /// The tile size changes the order of the sums but nothing else: the ranks are integers,
    /// and the pair sums run per query in a fixed order.
    @Test func tileSizeDoesNotChangeTheRanks() throws {
        let (x, labels) = EvaluationTests.clustered(n: 90, d: 4, classes: 6, seed: 12)
        let metrics = Set(EvaluationOptions.Metric.neighbourMetrics)
        let reports = try [1, 2, 7, 32, 90].map { try evaluate(x, labels, symmetric: true, tile: $0, k: .all, metrics: metrics) }
        #expect(reports.allSatisfy { $0 == reports[0] })
    }
}
