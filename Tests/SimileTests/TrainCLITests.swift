import Foundation
import Testing
@testable import Simile

/// `simile train` and `simile embed` as a user meets them.
struct TrainCLITests {
    @Test func trainResumeAndEmbedRoundTrip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("simile-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = folder.appendingPathComponent("ecg.csv").path
        let out = folder.appendingPathComponent("run").path
        let made = try SimileExecutable.run(["data", "synthetic-ecg", "--patients", "24", "--max-exams", "5", "--out", csv])
        #expect(made.status == 0, "\(made.stderr)")

        let first = try SimileExecutable.run(["train", "triplet-semihard", "--data", csv, "--label", "patient_id",
                                              "--epochs", "1", "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        for fragment in ["P@1", "MAP@R", "raw-feature kNN", "unseen subjects"] {
            #expect(first.stdout.contains(fragment), "missing '\(fragment)' in \(first.stdout)")
        }
        for file in ["checkpoint.json", "metrics.json", "embeddings.csv"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + file), "no \(file)")
        }
        let resumed = try SimileExecutable.run(["train", "triplet-semihard", "--data", csv, "--label", "patient_id",
                                                "--epochs", "2", "--out", out, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resuming after epoch 1"))
        let state = try AtomicFile.readJSON(TrainingState.self, from: URL(fileURLWithPath: out + "/checkpoint.json"))
        #expect(state.epoch == 2 && state.history.count == 2)

        let embedded = folder.appendingPathComponent("embedded.csv").path
        let embed = try SimileExecutable.run(["embed", out, "--data", csv, "--label", "patient_id", "--out", embedded])
        #expect(embed.status == 0, "\(embed.stderr)")
        let lines = try String(contentsOfFile: embedded, encoding: .utf8).split(separator: "\n")
        let input = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == input.count)
        #expect(lines[0] == "patient_id," + (0..<32).map { "e\($0)" }.joined(separator: ","))
    }

    @Test func mistakesAreNamed() throws {
        let unknown = try SimileExecutable.run(["train", "ecg-recomended", "--epochs", "1"])
        #expect(unknown.status == 2 && unknown.stderr.contains("did you mean 'ecg-recommended'"), "\(unknown.stderr)")
        let resume = try SimileExecutable.run(["train", "triplet-semihard", "--epochs", "1", "--resume"])
        #expect(resume.status == 2 && resume.stderr.contains("--resume needs --out"), "\(resume.stderr)")
        let embed = try SimileExecutable.run(["embed", "/nonexistent-folder", "--data", "synthetic-ecg"])
        #expect(embed.status == 2 && embed.stderr.contains("checkpoint.json"), "\(embed.stderr)")
    }
}
