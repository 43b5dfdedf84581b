import ArgumentParser
import Foundation
import Simile

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Print the batches a sampler draws from a data set: row indices and label counts.",
        discussion: """
            Rows are 0-based data rows (the first row after the header is 0). Examples:
              simile sample pk --data ecg.csv --label patient_id
              simile sample stratified-pk 'by=[sex, qt-bucket]' --data synthetic-ecg --batches 2 --json
            """)

    @Argument(help: "The sampler, e.g. pk (simile list samplers).")
    var name: String

    @Argument(help: "Parameters as key=value, e.g. classes-per-batch=8 'by=[sex]'.")
    var parameters: [String] = []

    @OptionGroup var source: DataOptions

    @Option(help: "How many batches to print (0 for all).")
    var batches: Int = 3

    @Option(help: "The epoch (1-based); the batches depend only on the seed, the epoch and the data.")
    var epoch: Int = 1

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.")
    var output: String?

    struct Report: Encodable {
        struct Batch: Encodable {
            let index: Int
            let rows: [Int]
            let labelCounts: [String: Int]
            let negativeWeights: [Double]?

            enum CodingKeys: String, CodingKey {
                case index, rows
                case labelCounts = "label_counts"
                case negativeWeights = "negative_weights"
            }
        }

        let sampler: String
        let epoch: Int
        let batchCount: Int
        let rows: Int
        let rowsVisited: Int
        let draws: Int
        let batches: [Batch]

        enum CodingKeys: String, CodingKey {
            case sampler, epoch, rows, draws, batches
            case batchCount = "batch_count"
            case rowsVisited = "rows_visited"
        }
    }

    func run() throws {
        guard batches >= 0 else { throw SimileError.invalidInput("--batches must be 0 (all) or more, not \(batches)") }
        let registry = Registry.builtin
        let spec = try registry.spec(name, parameters)
        let sampler = try registry.sampler(spec)
        let canonical = try registry.arguments(.sampler, spec).canonicalSpec.description
        let data = try source.load()
        let drawn = try sampler.batches(data.samplerData, epoch: epoch)
        let shown = batches == 0 ? drawn : Array(drawn.prefix(batches))
        let visited = Set(drawn.flatMap(\.rows)).count
        let draws = drawn.reduce(0) { $0 + $1.rows.count }

        let text: String
        if json {
            let report = Report(
                sampler: canonical, epoch: epoch, batchCount: drawn.count, rows: data.count, rowsVisited: visited,
                draws: draws,
                batches: shown.enumerated().map { index, batch in
                    var counts: [String: Int] = [:]
                    for row in batch.rows { counts[data.className(ofRow: row), default: 0] += 1 }
                    return Report.Batch(index: index + 1, rows: batch.rows, labelCounts: counts,
                                        negativeWeights: batch.negativeWeights)
                })
            text = try Console.json(report)
        } else {
            var lines = [canonical,
                         "epoch \(epoch): \(drawn.count) batches; \(visited) of \(data.count) rows visited, \(draws) draws"]
            for (index, batch) in shown.enumerated() {
                lines.append("")
                lines.append("batch \(index + 1) (\(batch.rows.count) rows): " + batch.rows.map(String.init).joined(separator: " "))
                var order: [String] = []
                var counts: [String: Int] = [:]
                for row in batch.rows {
                    let label = data.className(ofRow: row)
                    if counts[label] == nil { order.append(label) }
                    counts[label, default: 0] += 1
                }
                lines.append("  labels (\(order.count)): " + order.map { "\($0)×\(counts[$0]!)" }.joined(separator: " "))
                if let weights = batch.negativeWeights {
                    let excluded = zip(batch.rows, weights).filter { $0.1 == 0 }.map { String($0.0) }
                    lines.append("  not negatives: " + (excluded.isEmpty ? "none" : excluded.joined(separator: " ")))
                }
            }
            if shown.count < drawn.count {
                lines.append("")
                lines.append("(\(drawn.count - shown.count) more; --batches 0 prints all)")
            }
            text = lines.joined(separator: "\n")
        }
        try Console.write(text, to: output)
    }
}
