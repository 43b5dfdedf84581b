import Foundation
import Testing
@testable import Simile

/// `simile evaluate` and `simile bench evaluate` as a user meets them.
struct EvaluateCLITests {
    func simile(_ arguments: [String], stdin: String? = nil) throws -> SimileExecutable.Run {
        try SimileExecutable.run(arguments, stdin: stdin)
    }

    static let line = #"{"embeddings": [[0], [1], [3], [3.5], [7], [10]], "labels": [0, 1, 0, 0, 1, 2]}"#

    func decode(_ text: String) throws -> EvaluationReport {
        try JSONDecoder().decode(EvaluationReport.self, from: Data(text.utf8))
    }

    @Test func leaveOneOutPrintsTheReport() throws {
        let run = try simile(["evaluate", "--input", "-", "--recall-at", "1,2,4"], stdin: Self.line)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try decode(run.stdout)
        // The hand-checked values of EvaluationTests.leaveOneOutByHand.
        #expect(report.mode == "leave-one-out" && report.precisionAt1 == 0.4 && abs(report.map! - 0.55) < 1e-12)
        #expect(report.recallAtK == [1: 0.4, 2: 0.6, 4: 1] && report.nmi != nil && report.intraInterRatioL1 != nil)
    }

    @Test func optionsReachTheLibrary() throws {
        let run = try simile(["evaluate", "--input", "-", "--k", "max-bin-count", "--avg-of-avgs", "--exclude", "nmi,ami",
                              "--distance", "euclidean"], stdin: Self.line)
        #expect(run.status == 0, "\(run.stderr)")
        let report = try decode(run.stdout)
        var options = EvaluationOptions(k: .maxBinCount, averageOfAverages: true)
        options.metrics.subtract([.nmi, .ami])
        options.l1SamplePairs = 1 << 16
        let direct = try Evaluation.evaluate(query: try Matrix<Float>([[0], [1], [3], [3.5], [7], [10]]),
                                             queryLabels: [0, 1, 0, 0, 1, 2], options: options)
        #expect(report == direct)
        #expect(report.k == 2 && report.nmi == nil && report.averageOfAverages)
        let only = try simile(["evaluate", "--input", "-", "--metrics", "precision-at-1,mrr"], stdin: Self.line)
        let onlyReport = try decode(only.stdout)
        #expect(onlyReport.precisionAt1 == 0.4 && onlyReport.mrr != nil && onlyReport.map == nil && onlyReport.nmi == nil)
    }

    @Test func queryAndReferenceFieldsChooseTheMode() throws {
        let queries = #""query_embeddings": [[1], [5.5], [3]], "query_labels": [0, 1, 3]"#
        let asQueries = try simile(["evaluate", "--input", "-"],
                                   stdin: #"{"embeddings": [[0], [2], [5], [6]], "labels": [0, 1, 0, 2], "# + queries + "}")
        #expect(asQueries.status == 0, "\(asQueries.stderr)")
        let first = try decode(asQueries.stdout)
        #expect(first.mode == "query-reference" && first.queries == 3 && first.references == 4 && first.queriesWithoutMatch == 1)
        let asReference = try simile(["evaluate", "--input", "-"], stdin: """
            {"embeddings": [[1], [5.5], [3]], "labels": [0, 1, 3],
             "reference_embeddings": [[0], [2], [5], [6]], "reference_labels": [0, 1, 0, 2]}
            """)
        #expect(try decode(asReference.stdout) == first)
        #expect(abs(first.map! - (5.0 / 6 + 1.0 / 3) / 2) < 1e-12)
    }

    @Test func theOutputFileIsWritten() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simile-evaluate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.json"), output = directory.appendingPathComponent("out.json")
        try Data(Self.line.utf8).write(to: input)
        let run = try simile(["evaluate", "--input", input.path, "--output", output.path])
        #expect(run.status == 0 && run.stdout.isEmpty, "\(run.stderr)")
        #expect(try decode(try String(contentsOf: output, encoding: .utf8)).precisionAt1 == 0.4)
    }

    @Test func badInputIsAClearErrorWithExitCode2() throws {
        let cases: [(String, [String], String)] = [
            (#"{"embeddings": [[0], [1]], "labels": [0]}"#, [], "2 query embeddings but 1 query labels"),
            (#"{"embeddings": [[0, NaN], [1, 2]], "labels": [0, 1]}"#, [], "row 0, column 1"),
            (#"{"embeddings": [], "labels": []}"#, [], "no query embeddings"),
            (#"{"embeddings": [[0], [1]], "labels": [0, 1], "query_embeddings": [[1, 2]], "query_labels": [0]}"#, [],
             "2 dimensions but reference embeddings have 1"),
            (#"{"embeddings": [[0], [1]], "labels": [0, 1], "reference_embeddings": [], "reference_labels": []}"#, [],
             "no reference embeddings"),
            (#"{"embeddings": [[0], [1]], "labels": [0, 1], "query_embeddings": [[1]], "query_labels": [0], "reference_embeddings": [[1]], "reference_labels": [0]}"#,
             [], "not both"),
            (#"{"embeddings": [[0], [1]], "labels": [0, 1], "query_embeddings": [[1]]}"#, [], "needs \"query_labels\""),
            (#"{"embeddings": [[0], [1, 2]], "labels": [0, 1]}"#, [], "row 1 has 2 values"),
            (#"{"labels": [0]}"#, [], "missing field \"embeddings\""),
            (Self.line, ["--k", "zero"], "--k zero"),
            (Self.line, ["--recall-at", "1,x"], "'x' is not a positive number"),
            (Self.line, ["--distance", "manhattan"], "'euclidean' or 'cosine'"),
            (Self.line, ["--metrics", "mapp"], "did you mean 'map'?"),
            (Self.line, ["--clustering-restarts", "0"], "restarts=0"),
        ]
        for (input, options, fragment) in cases {
            let run = try simile(["evaluate", "--input", "-"] + options, stdin: input)
            #expect(run.status == 2, "\(input) \(options): status \(run.status)")
            #expect(run.stderr.contains(fragment), "\(input) \(options): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test func benchEvaluateRunsAtASmallSize() throws {
        let run = try simile(["bench", "evaluate", "--n", "200", "--d", "8", "--classes", "10", "--total-only"])
        #expect(run.status == 0, "\(run.stderr)")
        struct Result: Decodable { let total_ms: Double; let report: EvaluationReport; let blas: String }
        let result = try JSONDecoder().decode(Result.self, from: Data(run.stdout.utf8))
        #expect(result.total_ms > 0 && result.report.queries == 200 && result.report.precisionAt1 != nil)
    }
}
