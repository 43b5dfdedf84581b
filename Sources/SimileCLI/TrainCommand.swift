import ArgumentParser
import Foundation
import Simile

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an embedding with a preset or a pipeline file, and report retrieval on unseen subjects.",
        discussion: """
            Presets: \(Presets.catalogue.map(\.name).joined(separator: ", ")). A pipeline file is the JSON form of \
            `Pipeline` (stages with roles sampler, model, miner, loss, regularizer, optimizer, schedule).
            By default the data is split by subject (unseen patients are evaluated); --test evaluates on another file.
            --out receives checkpoint.json (every epoch, atomically), metrics.json and embeddings.csv; \
            --resume continues from its checkpoint, bit-identically to a run that never stopped.
            """)

    @Argument(help: "A preset name or a pipeline JSON file.")
    var pipeline: String

    @Option(help: "A CSV file, or 'synthetic-ecg' for the built-in cohort.")
    var data: String = "synthetic-ecg"

    @Option(help: "The label column (the identity, e.g. the patient).")
    var label: String?

    @Option(help: "Evaluate on the subjects of this CSV file instead of splitting --data.")
    var test: String?

    @Option(parsing: .upToNextOption, help: "The feature columns (default: every numeric column except the label and metadata).")
    var features: [String] = []

    @Option(help: "Empty feature cells: reject or impute-median (fitted on the training rows).")
    var missing: MissingValuePolicy = .reject

    @Option(help: "How to split --data: subject (unseen patients, default) or exam (enrolment).")
    var split: String?

    @Option(help: "Epochs (default: the pipeline's).")
    var epochs: Int?

    @Option(help: "Seed of the split, the initialisation, the sampler and the miners (default: the pipeline's).")
    var seed: UInt64?

    @Option(help: "Output folder for the checkpoint, metrics and embeddings.")
    var out: String?

    @Flag(help: "Continue from --out's checkpoint.")
    var resume = false

    @Flag(help: "Print only the final report.")
    var quiet = false

    @Flag(help: "Print the pipeline as JSON (adapted to the data) and stop: a starting point for a pipeline file.")
    var printPipeline = false

    func run() throws {
        let dataset = try DataOptions.load(data: data, label: label, features: features, missing: missing)
        let testSet = try test.map { try DataOptions.load(data: $0, label: label ?? dataset.labelColumn, features: features, missing: missing) }
        var (pipeline, warnings) = try loadPipeline(for: dataset)
        if let epochs { pipeline.settings.epochs = epochs }
        if let seed { pipeline.settings.seed = seed }
        if let split { pipeline.settings.split = split }
        guard let strategy = SplitStrategy(word: pipeline.settings.split) else {
            throw SimileError.invalidInput("unknown split '\(pipeline.settings.split)'; use subject or exam")
        }
        for warning in warnings { Console.line("warning: " + warning) }
        if printPipeline {
            print(try Console.json(pipeline))
            return
        }

        let prepared = try PreparedData(dataset, test: testSet, strategy: strategy,
                                        testFraction: pipeline.settings.testFraction, seed: pipeline.settings.seed)
        let trainer = try Trainer(pipeline: pipeline, data: prepared)
        let folder = out.map { URL(fileURLWithPath: $0) }
        let checkpoint = folder?.appendingPathComponent("checkpoint.json")
        if resume {
            guard let checkpoint else { throw SimileError.invalidInput("--resume needs --out, the folder of the checkpoint") }
            try trainer.restore(try AtomicFile.readJSON(TrainingState.self, from: checkpoint))
        }
        if !quiet {
            print("\(pipeline.name): \(prepared.train.count) training rows (\(Set(prepared.train.labels).count) subjects), "
                + "\(prepared.test.count) evaluation rows (\(Set(prepared.test.labels).count) subjects), "
                + "\(prepared.train.featureCount) features, \(pipeline.settings.epochs) epochs, seed \(pipeline.settings.seed)")
            if trainer.state.epoch > 0 { print("resuming after epoch \(trainer.state.epoch)") }
            print(EpochTable.header)
        }
        let progress = ProgressBar(enabled: !quiet)
        try trainer.run(checkpoint: checkpoint) { event in
            switch event {
            case let .batch(epoch, batch, count, loss):
                progress.update(epoch: epoch, batch: batch, of: count, loss: loss)
            case let .epoch(record):
                progress.clear()
                if !quiet { print(EpochTable.row(record)) }
            case let .note(text):
                progress.clear()
                if !quiet { Console.line("note: " + text) }
            }
        }

        let final = try trainer.validate(full: true)
        let baseline = try trainer.baseline()
        print(FinalReport.text(final: final, baseline: baseline, evaluated: prepared.test))
        if let folder {
            let embeddings = try trainer.state.model.embed(prepared.testFeatures)
            try AtomicFile.write(EmbeddingCSV.text(embeddings, labels: prepared.test.labels.map { prepared.test.classNames[$0] },
                                                   labelColumn: prepared.test.labelColumn),
                                 to: folder.appendingPathComponent("embeddings.csv"))
            try AtomicFile.writeJSON(TrainingMetrics(pipeline: pipeline.name, final: final, baseline: baseline,
                                                     history: trainer.state.history),
                                     to: folder.appendingPathComponent("metrics.json"))
            if !quiet { print("wrote \(folder.path)/checkpoint.json, metrics.json, embeddings.csv") }
        }
    }

    func loadPipeline(for dataset: Dataset) throws -> (Pipeline, [String]) {
        if FileManager.default.fileExists(atPath: pipeline) {
            return (try AtomicFile.readJSON(Pipeline.self, from: URL(fileURLWithPath: pipeline)), [])
        }
        return try Presets.pipeline(pipeline, for: dataset)
    }
}

extension SplitStrategy {
    init?(word: String) {
        switch word {
        case "subject", "by-subject": self = .bySubject
        case "exam", "by-exam": self = .byExam
        default: return nil
        }
    }
}

/// What `metrics.json` holds.
struct TrainingMetrics: Encodable {
    let pipeline: String
    let final: EvaluationReport
    let baseline: EvaluationReport
    let history: [EpochRecord]
}

/// The per-epoch table.
enum EpochTable {
    static let header = "epoch   loss      P@1    MAP@R  var      intra/inter  miners"

    static func row(_ record: EpochRecord) -> String {
        let v = record.validation
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "-" }
        var line = String(format: "%5d  %8.4f  ", record.epoch, record.loss)
        line += f(v?.precisionAt1, "%.3f").paddedTo(7) + f(v?.mapAtR, "%.3f").paddedTo(7)
        line += f(v?.meanDimensionVariance, "%.4f").paddedTo(9) + f(v?.intraInterRatioL2, "%.3f").paddedTo(13)
        line += record.miners.isEmpty ? "all pairs" : record.miners.joined(separator: "+")
        if record.suspended { line += " (hard mining suspended)" }
        if record.skippedSteps > 0 { line += " [\(record.skippedSteps) skipped]" }
        return line
    }
}

/// The final comparison with the raw-feature baseline.
enum FinalReport {
    static func text(final: EvaluationReport, baseline: EvaluationReport, evaluated: Dataset) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "-" }
        let rows: [(String, Double?, Double?)] = [
            ("P@1", final.precisionAt1, baseline.precisionAt1),
            ("MAP@R", final.mapAtR, baseline.mapAtR),
            ("R-precision", final.rPrecision, baseline.rPrecision),
            ("MRR", final.mrr, baseline.mrr),
            ("NMI", final.nmi, baseline.nmi),
            ("AMI", final.ami, baseline.ami),
        ]
        var lines = ["", "unseen subjects: \(evaluated.count) rows of \(Set(evaluated.labels).count) subjects (leave-one-out retrieval)",
                     "metric        trained  raw-feature kNN"]
        for (name, trained, raw) in rows {
            lines.append(name.paddedTo(14) + f(trained).paddedTo(9) + f(raw))
        }
        return lines.joined(separator: "\n")
    }
}

/// Embeddings as CSV: the label column, then e0 … e{D-1}.
enum EmbeddingCSV {
    static func text(_ embeddings: Matrix<Float>, labels: [String]?, labelColumn: String?) -> String {
        var out = ""
        out.reserveCapacity(embeddings.rows * embeddings.columns * 12)
        var header: [String] = []
        if labels != nil { header.append(labelColumn ?? "label") }
        header += (0..<embeddings.columns).map { "e\($0)" }
        out += header.joined(separator: ",") + "\n"
        for row in 0..<embeddings.rows {
            if let labels { out += quoted(labels[row]) + "," }
            let values = embeddings.row(row).map { "\($0)" }
            out += values.joined(separator: ",") + "\n"
        }
        return out
    }

    static func quoted(_ field: String) -> String {
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}

/// A one-line progress bar on standard error, shown only on a terminal.
final class ProgressBar {
    let enabled: Bool
    var started = DispatchTime.now().uptimeNanoseconds
    var epoch = 0
    var shown = false

    init(enabled: Bool) {
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func update(epoch: Int, batch: Int, of count: Int, loss: Double) {
        guard enabled else { return }
        if epoch != self.epoch {
            self.epoch = epoch
            started = DispatchTime.now().uptimeNanoseconds
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        let eta = batch > 0 ? elapsed / Double(batch) * Double(count - batch) : 0
        let width = 30
        let filled = count > 0 ? width * batch / count : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "\repoch %d %@ %d/%d loss %.4f ETA %.1fs", epoch, bar, batch, count, loss, eta)
        FileHandle.standardError.write(Data(line.utf8))
        shown = true
    }

    func clear() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        shown = false
    }
}
