import Foundation
import Testing
@testable import Simile

/// `simile data` and `simile sample` as a user meets them.
struct DataCLITests {
    typealias Run = SimileExecutable.Run

    func simile(_ arguments: [String]) throws -> Run { try SimileExecutable.run(arguments) }

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simile-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func syntheticECGWritesTheCohort() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ecg.csv")
        let run = try simile(["data", "synthetic-ecg", "--patients", "12", "--seed", "3", "--out", file.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let written = try String(contentsOf: file, encoding: .utf8)
        #expect(written == (try SyntheticECG(patients: 12, seed: 3).csv()))
        let printed = try simile(["data", "synthetic-ecg", "--patients", "12", "--seed", "3"])
        #expect(printed.stdout == written)
        let bad = try simile(["data", "synthetic-ecg", "--min-exams", "5", "--max-exams", "2"])
        #expect(bad.status == 2 && bad.stderr.contains("--min-exams (5) is larger than --max-exams (2)"))
    }

    @Test func samplePrintsBatchesAsTheLibraryDrawsThem() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("ecg.csv")
        let cohort = try SyntheticECG(patients: 40, seed: 5)
        try Data(cohort.csv().utf8).write(to: file)
        let run = try simile(["sample", "pk", "classes-per-batch=6", "--data", file.path, "--label", "patient_id",
                              "--batches", "2", "--epoch", "3", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        struct Report: Decodable {
            struct Batch: Decodable {
                let index: Int
                let rows: [Int]
                let label_counts: [String: Int]
            }
            let sampler: String
            let epoch: Int
            let batch_count: Int
            let rows: Int
            let rows_visited: Int
            let batches: [Batch]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
        let data = try cohort.dataset()
        let expected = try Registry.builtin.sampler("pk(classes-per-batch=6)").batches(data.samplerData, epoch: 3)
        #expect(report.sampler.hasPrefix("pk(classes-per-batch=6, samples-per-class=4"))
        #expect(report.epoch == 3 && report.batch_count == expected.count && report.rows == data.count)
        #expect(report.rows_visited == data.count)
        #expect(report.batches.map(\.rows) == expected.prefix(2).map(\.rows))
        for batch in report.batches {
            #expect(batch.label_counts.count == 6 && batch.label_counts.values.allSatisfy { $0 == 4 })
            #expect(Set(batch.label_counts.keys) == Set(batch.rows.map { data.className(ofRow: $0) }))
        }
        // Another process draws the same batches for every sampler (no dependence on hash order).
        for (name, parameters) in [("stratified-pk", ["by=[sex, qt-bucket]"]), ("hierarchical", ["super-class=qt_bucket"]),
                                   ("temporal-pk", ["min-gap-days=120"]), ("quality-weighted", ["mode=down-weight"]),
                                   ("random", [])] {
            let run = try simile(["sample", name] + parameters + ["--data", file.path, "--label", "patient_id",
                                                                  "--batches", "0", "--json", "--epoch", "2"])
            #expect(run.status == 0, "\(name): \(run.stderr)")
            let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
            let library = try Registry.builtin.sampler(Registry.builtin.spec(name, parameters)).batches(data.samplerData, epoch: 2)
            #expect(report.batches.map(\.rows) == library.map(\.rows), "\(name)")
        }
        let text = try simile(["sample", "quality-weighted", "--data", file.path, "--label", "patient_id", "--batches", "1"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("batch 1 (48 rows): ") && text.stdout.contains("labels (12): P0"))
        #expect(text.stdout.contains("not negatives: ") && text.stdout.contains("more; --batches 0 prints all"))
        let builtin = try simile(["sample", "stratified-pk", "by=[sex]", "--data", "synthetic-ecg", "--batches", "1"])
        #expect(builtin.status == 0 && builtin.stdout.contains("stratified-pk(by=[sex]"), "\(builtin.stderr)")
    }

    @Test func sampleErrorsAreClear() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("small.csv")
        try Data("id,hr,qt\na,60,400\na,61,401\nb,70,380\nb,72,390\n".utf8).write(to: file)
        let cases: [([String], String)] = [
            (["sample", "pk", "--data", file.path, "--label", "idd"], "has no label column 'idd'; did you mean 'id'?"),
            (["sample", "pkk", "--data", file.path, "--label", "id"], "unknown sampler 'pkk'; did you mean 'pk'?"),
            (["sample", "pk", "--data", file.path, "--label", "id"], "a batch needs 12 distinct classes (classes-per-batch) but only 2"),
            (["sample", "stratified-pk", "classes-per-batch=2", "--data", file.path, "--label", "id"],
             "no metadata column 'sex' (parameter by)"),
            (["sample", "pk", "--data", file.path], "--label is needed"),
            (["sample", "pk", "--data", directory.appendingPathComponent("none.csv").path, "--label", "id"], "no such file"),
            (["sample", "pk", "classes-per-batch=2", "--data", file.path, "--label", "id", "--epoch", "0"], "epochs count from 1"),
        ]
        for (arguments, expected) in cases {
            let run = try simile(arguments)
            #expect(run.status == 2, "\(arguments)")
            #expect(run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test func inspectShowsTheColumnRoles() throws {
        let run = try simile(["data", "inspect", "--data", "synthetic-ecg"])
        #expect(run.status == 0, "\(run.stderr)")
        for fragment in ["1199 rows, 200 classes", "features (13):", "qtc_bazett", "metadata (5):", "InRange",
                         "flags", "qt_bucket", "categorical 3 values"] {
            #expect(run.stdout.contains(fragment), "missing \(fragment)")
        }
    }
}
