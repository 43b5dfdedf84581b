import ArgumentParser
import Foundation
import Simile

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed new rows with a model trained by `simile train --out DIR`.",
        discussion: """
            The rows are standardised with the statistics fitted at training time, and the feature columns are \
            found by name. The output has one row per input row, in order: the label column (when --label is \
            given), then e0 … e{D-1}.
            """)

    @Argument(help: "The folder `simile train --out` wrote (it holds checkpoint.json).")
    var folder: String

    @Option(help: "A CSV file with the training features' columns, or 'synthetic-ecg'.")
    var data: String

    @Option(help: "A column to copy into the output as the first column (e.g. the patient id).")
    var label: String?

    @Option(help: "Output CSV file (default: standard output); written atomically.")
    var out: String?

    func run() throws {
        let state = try AtomicFile.readJSON(TrainingState.self,
                                            from: URL(fileURLWithPath: folder).appendingPathComponent("checkpoint.json"))
        let standardization = state.standardization
        let table: CSVTable
        if data == "synthetic-ecg" && !FileManager.default.fileExists(atPath: data) {
            table = try CSVTable(text: SyntheticECG().csv(), source: "synthetic-ecg")
        } else {
            table = try CSVTable(contentsOf: URL(fileURLWithPath: data))
        }
        let columns = try standardization.featureNames.map { try table.columnIndex($0, role: "feature column") }
        let labelColumn = try label.map { try table.columnIndex($0, role: "label column") }
        let featureCount = columns.count
        var features = [Float](repeating: 0, count: table.records.count * featureCount)
        for (r, record) in table.records.enumerated() {
            var raw = [Double?](repeating: nil, count: featureCount)
            for (j, column) in columns.enumerated() {
                let text = record[column].trimmingCharacters(in: .whitespaces)
                if text.isEmpty || text == "NA" || text == "NaN" { continue }
                guard let value = Double(text) else {
                    throw SimileError.invalidInput(
                        "\(table.source), line \(table.lines[r]), column '\(table.header[column])': '\(text)' is not a number")
                }
                raw[j] = value
            }
            let standardized: [Double]
            do {
                standardized = try standardization.apply(row: raw)
            } catch let error as SimileError {
                throw SimileError.invalidInput("\(table.source), line \(table.lines[r]): \(error)")
            }
            for j in 0..<featureCount { features[r * featureCount + j] = Float(standardized[j]) }
        }
        let embeddings = try state.model.embed(Matrix(rows: table.records.count, columns: featureCount, elements: features))
        let labels = labelColumn.map { column in table.records.map { $0[column] } }
        try Console.write(EmbeddingCSV.text(embeddings, labels: labels, labelColumn: label), to: out, trailingNewline: false)
    }
}
