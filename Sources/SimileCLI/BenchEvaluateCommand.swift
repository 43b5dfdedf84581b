import ArgumentParser
import Foundation
import Simile

struct BenchEvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Time `simile evaluate` (all metrics, leave-one-out) on seeded clustered embeddings; prints JSON.",
        discussion: """
            The data: C class centres drawn from N(0, I_D), and N/C points per class (labels i mod C) at \
            centre + N(0, noise²·I_D). The default noise 2 gives metrics in the range trained embeddings \
            reach (precision@1 about 0.73, MAP@R about 0.15 at the default sizes). Besides the total (all \
            metrics), each part is timed on its own: the neighbour metrics (one blocked distance pass), \
            the pair-distance statistics (the same pass for L2, plus L1), the k-means clustering with NMI \
            and AMI, and the dimension variances. Together they cost more than the total, which computes \
            the distance pass once.
            """)

    @Option(help: "Number of embeddings N.") var n: Int = 10_000
    @Option(help: "Embedding size D.") var d: Int = 128
    @Option(help: "Number of classes C.") var classes: Int = 100
    @Option(help: "PML's k: all, max-bin-count or a number.") var k: String = "all"
    @Option(help: "Within-class standard deviation (class centres have standard deviation 1).") var noise: Double = 2
    @Option(help: "Seed of the data.") var seed: UInt64 = 7
    @Flag(help: "Time only the total (skip the per-part timings).") var totalOnly = false

    struct Result: Encodable {
        let n: Int, d: Int, classes: Int, k: String
        let totalMs: Double
        /// Process CPU time (user + system, all threads) per evaluation, over the timed runs.
        let cpuMs: Double
        let runs: Int
        let partsMs: [String: Double]?
        let report: EvaluationReport
        let blas: String

        enum CodingKeys: String, CodingKey {
            case n, d, classes, k, runs, report, blas
            case totalMs = "total_ms"
            case cpuMs = "cpu_ms"
            case partsMs = "parts_ms"
        }
    }

    func run() throws {
        guard n >= 2, d >= 1, classes >= 1, classes <= n else {
            throw SimileError.invalidInput("bench evaluate needs n ≥ 2, d ≥ 1 and 1 ≤ classes ≤ n")
        }
        guard let depth = EvaluationOptions.Depth(k) else {
            throw SimileError.invalidInput("--k \(k) is not 'all', 'max-bin-count' or a positive number")
        }
        try BLAS.require()
        let (x, labels) = Self.data(n: n, d: d, classes: classes, noise: noise, seed: seed)
        var options = EvaluationOptions(k: depth)
        var report: EvaluationReport?
        var evaluations = 0
        let cpuBefore = Self.processCPUSeconds()
        let total = try Timing.measure(budget: 2) {
            report = try Evaluation.evaluate(query: x, queryLabels: labels, options: options)
            evaluations += 1
        }
        let cpuMs = (Self.processCPUSeconds() - cpuBefore) * 1000 / Double(evaluations)
        var parts: [String: Double]?
        if !totalOnly {
            var times: [String: Double] = [:]
            let groups: [(String, Set<EvaluationOptions.Metric>)] = [
                ("neighbour_metrics", EvaluationOptions.Metric.neighbourMetrics),
                ("pair_distances", [.pairDistances]),
                ("clustering", EvaluationOptions.Metric.clusteringMetrics),
                ("dimension_variance", [.dimensionVariance]),
            ]
            for (name, metrics) in groups {
                options.metrics = metrics
                times[name] = try Timing.measure(budget: 1) {
                    _ = try Evaluation.evaluate(query: x, queryLabels: labels, options: options)
                }.median
            }
            parts = times
        }
        print(try Console.json(Result(n: n, d: d, classes: classes, k: depth.description, totalMs: total.median,
                                      cpuMs: cpuMs, runs: total.runs, partsMs: parts, report: report!, blas: Timing.backendLine())))
    }

    /// User plus system CPU seconds of this process so far (every thread).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Seeded clustered embeddings: class centres from N(0, 1), points at centre + N(0, noise²).
    static func data(n: Int, d: Int, classes: Int, noise: Double, seed: UInt64) -> (Matrix<Float>, [Int]) {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<(classes * d)).map { _ in generator.nextGaussian() }
        let labels = (0..<n).map { $0 % classes }
        var elements = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            for t in 0..<d { elements[i * d + t] = Float(centres[labels[i] * d + t] + noise * generator.nextGaussian()) }
        }
        return (Matrix(rows: n, columns: d, elements: elements), labels)
    }
}
