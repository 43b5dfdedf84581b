import ArgumentParser
import Foundation
import Simile

struct BenchAllCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Time every loss forward+backward over a grid of N × D, next to the distance matrix and the GEMM floor; prints Markdown.",
        discussion: "`make bench` runs this and writes the tables into docs/benchmarks.md between the bench markers.")

    @Option(help: "Batch sizes, comma-separated.") var sizes: String = "64,256,1024,4096"
    @Option(help: "Embedding sizes, comma-separated.") var dims: String = "32,128,512"
    @Option(help: "Only these losses, comma-separated (default: all).") var losses: String?
    @Option(help: "Replace the text between the bench markers of this Markdown file.") var update: String?

    static let beginMarker = "<!-- bench:begin -->"
    static let endMarker = "<!-- bench:end -->"

    func run() throws {
        let ns = try parseList(sizes, "sizes"), ds = try parseList(dims, "dims")
        let registry = Registry.builtin
        var names = registry.descriptors(.loss).map(\.name)
        if let losses { names = losses.split(separator: ",").map(String.init) }
        try BLAS.require()

        var out = "Machine: \(Self.machine()). BLAS: \(Timing.backendLine()).\n"
        out += "Command: `simile bench all --sizes \(sizes) --dims \(dims)` (release build), \(Self.date()).\n\n"
        let (square, _) = Timing.batch(n: 1024, d: 1024)
        let gemm = Timing.measure { _ = Matrix.product(square, square) }
        out += "sgemm 1024×1024×1024: \(f(gemm.median)) ms = \(f(2 * pow(1024, 3) / (gemm.median / 1000) / 1e9, 0)) GFLOP/s.\n\n"
        out += "Median milliseconds of one forward+backward pass, labels i/4, N(0,1) embeddings. "
        out += "\"BLAS floor\" is the time of the two products every distance-based loss needs "
        out += "(the Gram matrix X·Xᵀ by syrk, mirrored, and the N×N·N×D backward product): no "
        out += "distance-based loss can be faster at that size on this machine.\n"
        for d in ds {
            out += "\n#### D = \(d)\n\n| | " + ns.map { "N=\($0)" }.joined(separator: " | ") + " |\n"
            out += "|---|" + ns.map { _ in "---:" }.joined(separator: "|") + "|\n"
            var floor: [String] = [], distanceRow: [String] = []
            for n in ns {
                let (x, _) = Timing.batch(n: n, d: d)
                let upstream = Timing.batch(n: n, d: n, seed: 8).0
                floor.append(f(Timing.measure {
                    _ = Matrix.gram(x)
                    _ = Matrix.product(upstream, x)
                }.median))
                let distance = try registry.distance("lp")
                distanceRow.append(f(try Timing.measure {
                    _ = distance.backward(upstream, try distance.forward(x, nil))
                }.median))
            }
            out += "| BLAS floor (Gram + backward product) | " + floor.joined(separator: " | ") + " |\n"
            out += "| distance lp, fwd+bwd | " + distanceRow.joined(separator: " | ") + " |\n"
            for name in names {
                let descriptor = try registry.descriptor(.loss, name)
                var parameters = descriptor.parameters.contains { $0.defaultValue == .required }
                    ? descriptor.examples.first ?? [] : []
                // A loss shaped by the embedding size gets this table's D.
                if descriptor.parameter(named: "embedding-size") != nil {
                    parameters = parameters.filter { !$0.hasPrefix("embedding-size=") } + ["embedding-size=\(d)"]
                }
                // A loss with one parameter row per class gets num-classes = N/4 (labels are i/4).
                let perClass = descriptor.parameter(named: "num-classes")?.defaultValue == .required
                let fixedLoss = perClass ? nil : try registry.loss(name, parameters)
                var cells: [String] = []
                var previous: (n: Int, ms: Double)?
                for n in ns {
                    // Skip a cell that would take over 30 s by quadratic extrapolation from the last one.
                    if let previous, previous.ms * pow(Double(n) / Double(previous.n), 2) > 30_000 {
                        cells.append("skipped")
                        continue
                    }
                    let (x, labels) = Timing.batch(n: n, d: d)
                    do {
                        let loss = try fixedLoss ?? registry.loss(
                            name, parameters.filter { !$0.hasPrefix("num-classes=") } + ["num-classes=\((n + 3) / 4)"])
                        let timing = try Timing.measure { _ = try loss(x, labels) }
                        cells.append(f(timing.median))
                        previous = (n, timing.median)
                    } catch {
                        cells.append("error")
                        FileHandle.standardError.write(Data("\(name) N=\(n) D=\(d): \(error)\n".utf8))
                    }
                }
                let shown = perClass ? parameters.filter { !$0.hasPrefix("num-classes=") } + ["num-classes=N/4"] : parameters
                let label = shown.isEmpty ? name : "\(name) (\(shown.joined(separator: " ")))"
                out += "| \(label) | " + cells.joined(separator: " | ") + " |\n"
                FileHandle.standardError.write(Data("D=\(d) \(name): \(cells.joined(separator: " "))\n".utf8))
            }
        }
        if let update {
            let url = URL(fileURLWithPath: update)
            let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            guard let begin = text.range(of: Self.beginMarker), let end = text.range(of: Self.endMarker),
                  begin.upperBound <= end.lowerBound else {
                throw SimileError.invalidInput("\(update) has no \(Self.beginMarker) … \(Self.endMarker) section to replace")
            }
            let updated = text[..<begin.upperBound] + "\n" + out + "\n" + text[end.lowerBound...]
            try Console.write(String(updated).trimmingCharacters(in: .newlines), to: update)
        }
        print(out)
    }

    private func parseList(_ text: String, _ name: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw SimileError.invalidInput("--\(name) must be positive integers separated by commas, e.g. 64,256")
        }
        return values.map { $0! }
    }

    private func f(_ value: Double, _ digits: Int = 2) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.\(digits)f", value)
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }

    static func date() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date())
    }
}
