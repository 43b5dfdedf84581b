import Foundation
import Testing
@testable import Simile

/// `simile list regularizers` and `simile compute regularizer`.
struct RegularizerCLITests {
    func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("simile-reg-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: url, options: .atomic)
        return url
    }

    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func listShowsAllSeven() throws {
        let run = try SimileExecutable.run(["list", "regularizers"])
        #expect(run.status == 0, "\(run.stderr)")
        let names = run.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(names == ["batch-variance", "center", "center-invariant", "lp", "regular-face", "sparse-centers", "zero-mean"])
    }

    @Test func computesAValueAndGradient() throws {
        let input = try write(#"{"embeddings": [[3, 4], [1, -1], [0, 2]]}"#)
        defer { try? FileManager.default.removeItem(at: input) }
        let run = try SimileExecutable.run(["compute", "regularizer", "lp", "power=2", "--input", input.path,
                                            "--precision", "double"])
        #expect(run.status == 0, "\(run.stderr)")
        let output = try json(run.stdout)
        #expect(abs(try #require(output["value"] as? Double) - 31.0 / 3) < 1e-12)
        let gradient = try #require(output["gradient"] as? [[Double]])
        let expected: [[Double]] = [[2, 8 / 3.0], [2 / 3.0, -2 / 3.0], [0, 4 / 3.0]]
        #expect(zip(gradient.joined(), expected.joined()).allSatisfy { abs($0 - $1) < 1e-12 } && gradient.count == 3)
        #expect((output["parameter_gradients"] as? [String: Any])?.isEmpty == true)
    }

    @Test func centerTakesLabelsAndParametersFromStandardInput() throws {
        let input = #"{"embeddings": [[1, 2], [3, 4]], "labels": [0, 1], "parameters": {"centers": [[0, 0], [1, 1]]}}"#
        let run = try SimileExecutable.run(["compute", "regularizer", "center", "num-classes=2", "embedding-size=2",
                                            "--input", "-", "--precision", "double"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        let output = try json(run.stdout)
        #expect(output["value"] as? Double == (5.0 + 13) / 4)
        let centers = try #require((output["parameter_gradients"] as? [String: Any])?["centers"] as? [[Double]])
        #expect(centers == [[-0.5, -1], [-1, -1.5]])
    }

    @Test func parameterMatricesGoInAsMatrix() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("simile-reg-out-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let run = try SimileExecutable.run(["compute", "regularizer", "sparse-centers", "num-classes=2", "centers-per-class=2",
                                            "--input", "-", "--output", output.path],
                                           stdin: #"{"matrix": [[1, 0], [0, 1], [1, 1], [1, -1]]}"#)
        #expect(run.status == 0, "\(run.stderr)")
        let written = try json(String(decoding: try Data(contentsOf: output), as: UTF8.self))
        // Both pairs are at 90°: √2 each, divided by 2·2 pairs.
        let value = try #require(written["value"] as? Double)
        #expect(abs(value - 2 * 2.0.squareRoot() / 4) < 1e-6)
    }

    @Test func userErrorsExitWithStatus2() throws {
        let one = try SimileExecutable.run(["compute", "regularizer", "batch-variance", "--input", "-"],
                                           stdin: #"{"embeddings": [[1, 2]]}"#)
        #expect(one.status == 2 && one.stderr.contains("at least 2 rows"), "\(one.stderr)")
        let both = try SimileExecutable.run(["compute", "regularizer", "lp", "--input", "-"],
                                            stdin: #"{"embeddings": [[1]], "matrix": [[1]]}"#)
        #expect(both.status == 2 && both.stderr.contains("not both"), "\(both.stderr)")
        let label = try SimileExecutable.run(["compute", "regularizer", "center", "num-classes=2", "embedding-size=1",
                                              "--input", "-"], stdin: #"{"embeddings": [[1], [2]], "labels": [0, 5]}"#)
        #expect(label.status == 2 && label.stderr.contains("num-classes=2"), "\(label.stderr)")
        let unknown = try SimileExecutable.run(["compute", "regularizer", "l2", "--input", "-"], stdin: "{}")
        #expect(unknown.status == 2 && unknown.stderr.contains("did you mean 'lp'"), "\(unknown.stderr)")
        let nan = try SimileExecutable.run(["compute", "regularizer", "lp", "--input", "-"],
                                           stdin: #"{"embeddings": [[1, NaN]]}"#)
        #expect(nan.status == 2 && nan.stderr.contains("row 0, column 1"), "\(nan.stderr)")
    }
}
