import ArgumentParser
import Dispatch
import Foundation
import Simile

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time forward+backward passes (a benchmark to run by hand, never a test).",
        subcommands: [BenchLossCommand.self, BenchDistanceCommand.self, BenchGEMMCommand.self, BenchAllCommand.self,
                      BenchMinerCommand.self, BenchEvaluateCommand.self])
}

/// Shared timing helpers.
enum Timing {
    /// Median and minimum milliseconds of `body`, after one warm-up run; repeats until about
    /// `budget` seconds are spent (3 to 25 runs; a single run when one takes over a second).
    static func measure(budget: Double = 0.4, _ body: () throws -> Void) rethrows -> (median: Double, min: Double, runs: Int) {
        let first = try milliseconds(body)
        if first > 1000 { return (first, first, 1) }
        var times: [Double] = []
        var spent = 0.0
        while times.count < 3 || (spent < budget * 1000 && times.count < 25) {
            let t = try milliseconds(body)
            times.append(t)
            spent += t
        }
        times.sort()
        return (times[times.count / 2], times[0], times.count)
    }

    static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// Seeded N(0,1) embeddings and labels i/4 (four samples per class), as the issue specifies.
    static func batch(n: Int, d: Int, seed: UInt64 = 7) -> (Matrix<Float>, [Int]) {
        var generator = SeededGenerator(seed: seed)
        let x = Matrix<Float>(rows: n, columns: d, elements: (0..<(n * d)).map { _ in Float(generator.nextGaussian()) })
        return (x, (0..<n).map { $0 / 4 })
    }

    static func backendLine() -> String {
        ((try? BLAS.backend().description) ?? "BLAS unavailable") + "; element-wise kernels: \(Elementwise.instructionSet)"
    }
}

struct BenchResult: Encodable {
    let what: String
    let name: String
    let parameters: [String]
    let n: Int
    let d: Int
    let medianMs: Double
    let minMs: Double
    let runs: Int
    let blas: String

    enum CodingKeys: String, CodingKey {
        case what, name, parameters, n, d, runs, blas
        case medianMs = "median_ms"
        case minMs = "min_ms"
    }
}

struct BenchLossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Time one loss forward+backward on random embeddings with labels i/4; prints JSON.")

    @Argument(help: "The loss.") var name: String
    @Argument(help: "Parameters as key=value.") var parameters: [String] = []
    @Option(help: "Batch size N.") var n: Int = 1024
    @Option(help: "Embedding size D.") var d: Int = 128

    func run() throws {
        let loss = try Registry.builtin.loss(name, parameters)
        let (x, labels) = Timing.batch(n: n, d: d)
        let timing = try Timing.measure { _ = try loss(x, labels) }
        print(try Console.json(BenchResult(what: "loss", name: name, parameters: parameters, n: n, d: d,
                                           medianMs: timing.median, minMs: timing.min, runs: timing.runs,
                                           blas: Timing.backendLine())))
    }
}

struct BenchDistanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distance",
        abstract: "Time one distance matrix forward+backward (batch against itself); prints JSON.")

    @Argument(help: "The distance, e.g. lp or cosine.") var name: String = "lp"
    @Argument(help: "Parameters as key=value.") var parameters: [String] = []
    @Option(help: "Batch size N.") var n: Int = 1024
    @Option(help: "Embedding size D.") var d: Int = 128

    func run() throws {
        let distance = try Registry.builtin.distance(ComponentSpec(name: name, arguments: ComponentSpec.arguments(fromCommandLine: parameters)))
        let (x, _) = Timing.batch(n: n, d: d)
        let upstream = Timing.batch(n: n, d: n, seed: 8).0
        let timing = try Timing.measure {
            let forward = try distance.forward(x, nil)
            _ = distance.backward(upstream, forward)
        }
        print(try Console.json(BenchResult(what: "distance", name: name, parameters: parameters, n: n, d: d,
                                           medianMs: timing.median, minMs: timing.min, runs: timing.runs,
                                           blas: Timing.backendLine())))
    }
}

struct BenchGEMMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Measure sgemm throughput (the physical limit for the distance-based losses).")

    @Option(help: "Square size for the throughput figure.") var size: Int = 1024

    func run() throws {
        try BLAS.require()
        let (a, _) = Timing.batch(n: size, d: size)
        let timing = Timing.measure { _ = Matrix.product(a, a) }
        let gflops = 2 * pow(Double(size), 3) / (timing.median / 1000) / 1e9
        print("sgemm \(size)³: \(String(format: "%.2f", timing.median)) ms, \(String(format: "%.0f", gflops)) GFLOP/s")
        print("BLAS: \(Timing.backendLine())")
    }
}
