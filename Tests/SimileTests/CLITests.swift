import Foundation
import Testing
@testable import Simile

/// The `simile` executable as a user meets it: output, exit codes and messages.
struct CLITests {
    typealias Run = SimileExecutable.Run
    static var executable: URL { SimileExecutable.url }

    func simile(_ arguments: [String], stdin: String? = nil) throws -> Run {
        try SimileExecutable.run(arguments, stdin: stdin)
    }

    @Test func executableExists() {
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable.path), "\(Self.executable.path)")
    }

    @Test func listShowsEveryLoss() throws {
        let run = try simile(["list", "losses"])
        #expect(run.status == 0)
        for descriptor in Registry.builtin.descriptors(.loss) {
            #expect(run.stdout.contains(descriptor.name), "missing \(descriptor.name)")
        }
    }

    @Test func describePrintsFormulaAndParameters() throws {
        let run = try simile(["describe", "contrastive"])
        #expect(run.status == 0)
        for fragment in ["Formula:", "pos-margin", "default 0", "neg-margin", "default 1", "avg-non-zero"] {
            #expect(run.stdout.contains(fragment), "missing \(fragment)")
        }
    }

    @Test func unknownNamesExitWith2AndSuggest() throws {
        let run = try simile(["compute", "loss", "multisim", "--input", "-"], stdin: "{}")
        #expect(run.status == 2)
        #expect(run.stderr.contains("unknown loss 'multisim'; did you mean 'multi-similarity'?"))
        #expect(run.stdout.isEmpty)
        let describe = try simile(["describe", "contrastiv"])
        #expect(describe.status == 2 && describe.stderr.contains("did you mean 'contrastive'?"))
        let usage = try simile(["compute", "loss"])
        #expect(usage.status == 2 && usage.stderr.contains("Usage"))
    }

    @Test func computeReproducesTheRequestedLoss() throws {
        let request = """
            {"embeddings": [[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], "labels": [0, 0, 1, 1]}
            """
        let run = try simile(["compute", "loss", "contrastive", "neg-margin=1.5", "--input", "-"], stdin: request)
        #expect(run.status == 0, "\(run.stderr)")
        struct Response: Decodable { let loss: Double; let gradient: [[Double]]; let sub_losses: [String: Double] }
        let response = try JSONDecoder().decode(Response.self, from: Data(run.stdout.utf8))
        let loss = try Registry.builtin.loss("contrastive", ["neg-margin=1.5"])
        let direct = try loss(try Matrix<Float>([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]), [0, 0, 1, 1])
        #expect(abs(response.loss - direct.value) < 1e-6)
        #expect(response.gradient.count == 4 && response.sub_losses.keys.sorted() == ["neg_loss", "pos_loss"])
    }

    @Test func computeWritesTheOutputFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simile-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.json"), output = directory.appendingPathComponent("out.json")
        try Data(#"{"embeddings": [[1, 0], [0, 1], [1, 1]], "labels": [0, 1, 0]}"#.utf8).write(to: input)
        let run = try simile(["compute", "loss", "multi-similarity", "--input", input.path, "--output", output.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(try String(contentsOf: output, encoding: .utf8).contains("\"loss\""))
    }

    @Test func badInputIsAClearErrorNotACrash() throws {
        let cases: [(String, String)] = [
            (#"{"embeddings": [[1, NaN]], "labels": [0]}"#, "row 0, column 1"),
            (#"{"embeddings": [[1, 2], [3]], "labels": [0, 1]}"#, "row 1 has 1 values"),
            (#"{"embeddings": [[1, 2]], "labels": [0, 1]}"#, "1 rows but there are 2 labels"),
            (#"{"embeddings": [], "labels": []}"#, "the batch is empty"),
            (#"{"labels": [0]}"#, "missing field \"embeddings\""),
            (#"{"embeddings": [[1, 2]], "labels": [0], "#, "not valid JSON"),
            (#"{"embeddings": [[1, 2], [2, 1]], "labels": [0, 0], "tuples": {"triplets": [[0, 1]]}}"#, "triplet 0 has 2 indices"),
            (#"{"embeddings": [[1, 2], [2, 1]], "labels": [0, 1], "tuples": {"pairs": {"positive": [[0, 1]], "negative": []}}}"#,
             "positive pair of different labels"),
            (#"{"embeddings": [[1, 2], [2, 1]], "labels": [0, 1], "tuples": {"pairs": {"positive": [], "negative": [[0, 5]]}}}"#,
             "outside 0..<2"),
        ]
        for (input, message) in cases {
            let run = try simile(["compute", "loss", "contrastive", "--input", "-"], stdin: input)
            #expect(run.status == 2, "\(input)")
            #expect(run.stderr.contains(message), "for \(input): \(run.stderr)")
            #expect(!run.stderr.contains("Fatal error"))
        }
        let missing = try simile(["compute", "loss", "contrastive", "--input", "/nonexistent.json"])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"))
    }

    @Test func expectComparesWithAReference() throws {
        let input = Fixtures.directory.appendingPathComponent("circle-input.json")
        let expected = Fixtures.directory.appendingPathComponent("circle-expected.json")
        guard (try? Registry.builtin.descriptor(.loss, "circle")) != nil else { return }
        let run = try simile(["compute", "loss", "circle", "--input", input.path, "--expect", expected.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("relative difference"))
    }

    @Test func benchPrintsJSONWithTheKernel() throws {
        let run = try simile(["bench", "loss", "contrastive", "--n", "32", "--d", "8"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"median_ms\"") && run.stdout.contains("kernel"))
    }

    @Test func docsMatchTheCommittedCatalogues() throws {
        let docs = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs")
        for kind in ComponentKind.allCases where !Registry.builtin.descriptors(kind).isEmpty {
            let file = kind.plural + ".md"
            let committed = try String(contentsOf: docs.appendingPathComponent(file), encoding: .utf8)
            #expect(committed == Catalogue.document(kind) + "\n",
                    "docs/\(file) is stale: run `make docs` (or `simile docs \(kind.plural) --output docs/\(file)`)")
        }
    }
}
