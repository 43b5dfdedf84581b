import ArgumentParser
import Foundation
import Simile

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Built-in data sets, and how Simile reads a CSV file.",
        subcommands: [SyntheticECGCommand.self, InspectDataCommand.self])
}

struct SyntheticECGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthetic-ecg",
        abstract: "Write the synthetic ECG cohort as CSV (patient_id, exam_date, sex, qt_bucket, state, InRange, 13 features).",
        discussion: "docs/data.md describes the generative model. The same seed gives the same file.")

    @Option(help: "Patients (classes).")
    var patients: Int = 200

    @Option(help: "Fewest exams per patient.")
    var minExams: Int = 4

    @Option(help: "Most exams per patient.")
    var maxExams: Int = 8

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Probability that an exam is an exercise exam.")
    var exerciseFraction: Double = 0.3

    @Option(help: "Probability that an exam is of poor quality (InRange false, three times the noise).")
    var poorQualityFraction: Double = 0.1

    @Option(name: [.customShort("o"), .customLong("out"), .customLong("output")],
            help: "Write the CSV here (atomically) instead of standard output.")
    var output: String?

    func run() throws {
        guard minExams <= maxExams else {
            throw SimileError.invalidInput("--min-exams (\(minExams)) is larger than --max-exams (\(maxExams))")
        }
        let cohort = try SyntheticECG(patients: patients, exams: minExams...maxExams, seed: seed,
                                      exerciseFraction: exerciseFraction, poorQualityFraction: poorQualityFraction)
        var text = cohort.csv()
        if text.hasSuffix("\n") { text.removeLast() }
        try Console.write(text, to: output)
    }
}

struct InspectDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show how a CSV file is read: the label, feature and metadata columns, their types and values.")

    @OptionGroup var source: DataOptions

    func run() throws {
        let data = try source.load()
        let sizes = data.rowsByClass.map(\.count).sorted()
        var lines = [
            "\(data.source): \(data.count) rows, \(data.classCount) classes (label '\(data.labelColumn)'; rows per class: min \(sizes.first!), median \(sizes[sizes.count / 2]), max \(sizes.last!))",
            "",
            "features (\(data.featureCount)):",
        ]
        let width = max(data.featureNames.map(\.count).max() ?? 0, data.metadataNames.map(\.count).max() ?? 0)
        for (j, name) in data.featureNames.enumerated() {
            let values = (0..<data.count).compactMap { data.value(row: $0, feature: j) }
            let mean = values.reduce(0, +) / Double(max(1, values.count))
            let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count))).squareRoot()
            var line = "  " + name.padding(toLength: width, withPad: " ", startingAt: 0)
                + String(format: "  mean %.4g  sd %.4g  min %.4g  max %.4g", mean, sd, values.min() ?? .nan, values.max() ?? .nan)
            let missing = data.count - values.count
            if missing > 0 { line += "  missing \(missing)" }
            lines.append(line)
        }
        lines.append("")
        lines.append("metadata (\(data.metadataNames.count)):" + (data.metadataNames.isEmpty ? " none" : ""))
        for name in data.metadataNames {
            let column = data.metadata[name]!
            var summary = ""
            let texts = (0..<data.count).map { column.text(at: $0) }
            let present = texts.compactMap { $0 }
            if case .numeric = column {
                let numbers = present.compactMap(Double.init)
                summary = "min \(ParameterValue.double(numbers.min() ?? .nan).description), max \(ParameterValue.double(numbers.max() ?? .nan).description)"
                if name.lowercased().contains("date"), let low = numbers.min(), let high = numbers.max(),
                   low > -700_000, high < 2_900_000 {
                    summary += " (days since 1970-01-01: \(ISODate.text(days: Int(low))) to \(ISODate.text(days: Int(high))))"
                }
            } else {
                var counts: [String: Int] = [:]
                var order: [String] = []
                for text in present {
                    if counts[text] == nil { order.append(text) }
                    counts[text, default: 0] += 1
                }
                let shown = order.prefix(8).map { "\($0) \(counts[$0]!)" }.joined(separator: ", ")
                summary = "\(order.count) values: \(shown)" + (order.count > 8 ? ", ..." : "")
            }
            let missing = texts.count - present.count
            lines.append("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(column.typeName.padding(toLength: 11, withPad: " ", startingAt: 0)) \(summary)"
                + (missing > 0 ? "; missing \(missing)" : ""))
        }
        print(lines.joined(separator: "\n"))
    }
}
