import ArgumentParser
import Foundation
import Simile

extension MissingValuePolicy: ExpressibleByArgument {}

/// The options that say which data to load and how: shared by `simile sample` and `simile data inspect`.
struct DataOptions: ParsableArguments {
    @Option(help: "A CSV file, or 'synthetic-ecg' for the built-in cohort (200 patients, seed 1).")
    var data: String

    @Option(help: "The label column (the identity, e.g. the patient); default patient_id for synthetic-ecg.")
    var label: String?

    @Option(parsing: .upToNextOption, help: "Metadata columns besides the recognised names (sex, qt_bucket, InRange, exam_date, ...).")
    var metadata: [String] = []

    @Option(parsing: .upToNextOption, help: "The feature columns (default: every numeric column that is not the label or metadata).")
    var features: [String] = []

    @Option(name: .customLong("ignore"), parsing: .upToNextOption, help: "Columns to drop.")
    var ignored: [String] = []

    @Option(help: "Empty feature cells: reject (an error naming the line and column) or impute-median.")
    var missing: MissingValuePolicy = .reject

    /// The dataset the options name.
    func load() throws -> Dataset {
        try Self.load(data: data, label: label, metadata: metadata, features: features, ignored: ignored,
                      missing: missing)
    }

    /// A CSV file, or the built-in synthetic-ecg cohort.
    static func load(data: String, label: String?, metadata: [String] = [], features: [String] = [],
                     ignored: [String] = [], missing: MissingValuePolicy = .reject) throws -> Dataset {
        if data == "synthetic-ecg" && !FileManager.default.fileExists(atPath: data) {
            if let label, label != SyntheticECG.labelColumn {
                throw SimileError.invalidInput("the synthetic-ecg cohort's label column is '\(SyntheticECG.labelColumn)', not '\(label)'")
            }
            return try SyntheticECG().dataset()
        }
        guard let label else {
            throw SimileError.invalidInput("--label is needed: name the column that holds the class (e.g. --label patient_id)")
        }
        guard FileManager.default.fileExists(atPath: data) else {
            throw SimileError.invalidInput("cannot read '\(data)': no such file")
        }
        let options = DatasetLoadOptions(label: label, features: features.isEmpty ? nil : features, metadata: metadata,
                                         ignored: ignored, missingValues: missing)
        return try Dataset(contentsOf: URL(fileURLWithPath: data), options: options)
    }
}
