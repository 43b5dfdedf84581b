import Foundation
import Testing
@testable import Simile

/// `simile compute miner` and `simile bench miner` as a user meets them.
struct MinerCLITests {
    typealias Run = SimileExecutable.Run

    func simile(_ arguments: [String], stdin: String? = nil) throws -> Run {
        try SimileExecutable.run(arguments, stdin: stdin)
    }

    static let embeddings: [[Double]] = {
        let x = Problems.gaussian(rows: 12, columns: 5, seed: 31)
        return x.nestedRows
    }()
    static let labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3, 4]

    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    /// The miner's printed tuples feed `simile compute loss --input` unchanged, and the loss equals
    /// the library's on the same tuples.
    @Test(arguments: [("semi-hard", ["margin=0.5"], "triplet-margin"), ("multi-similarity", [], "contrastive"),
                      ("batch-hard", [], "margin"), ("batch-easy-hard", ["pos-strategy=all", "neg-strategy=hard"], "lifted-structure")])
    func minedTuplesFeedTheLoss(_ configuration: (String, [String], String)) throws {
        let (minerName, parameters, lossName) = configuration
        let request = MinerRequest(embeddings: Self.embeddings, labels: Self.labels)
        let mined = try simile(["compute", "miner", minerName] + parameters + ["--input", "-", "--precision", "double"],
                               stdin: try Self.json(request))
        #expect(mined.status == 0, "\(mined.stderr)")
        let printed = try JSONDecoder().decode(TuplesJSON.self, from: Data(mined.stdout.utf8))
        let registry = Registry.builtin
        let miner = try registry.miner(try registry.spec(minerName, parameters))
        let x = try Matrix<Double>(Self.embeddings)
        let direct = try miner(x, Self.labels)
        #expect(try printed.tuples() == direct)
        #expect(!direct.isEmpty)

        // Splice the printed text into a loss request, as a shell pipeline would.
        let lossInput = "{\"embeddings\": \(try Self.json(Self.embeddings)), \"labels\": \(try Self.json(Self.labels)), \"tuples\": \(mined.stdout)}"
        let loss = try simile(["compute", "loss", lossName, "--input", "-", "--precision", "double"], stdin: lossInput)
        #expect(loss.status == 0, "\(loss.stderr)")
        struct Response: Decodable { let loss: Double }
        let value = try JSONDecoder().decode(Response.self, from: Data(loss.stdout.utf8)).loss
        // (Calling the result of `registry.loss(...)` directly crashes Swift 6.3.1's SILGen: bind it first.)
        let lossFunction = try registry.loss(lossName)
        let expected = try lossFunction(x, Self.labels, tuples: direct).value
        #expect(abs(value - expected) <= 1e-12 * max(1, abs(expected)), "\(value) vs \(expected)")
    }

    @Test func referenceBatchesItemsAndOutputFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("simile-miner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("batch.json"), output = directory.appendingPathComponent("tuples.json")
        // The reference holds the batch itself: item ids keep every row from its own copy.
        let request = MinerRequest(embeddings: Self.embeddings, labels: Self.labels, referenceEmbeddings: Self.embeddings,
                                   referenceLabels: Self.labels, batchItems: Array(0..<12), referenceItems: Array(0..<12))
        try Data(try Self.json(request).utf8).write(to: input)
        let run = try simile(["compute", "miner", "batch-easy-hard", "pos-strategy=easy", "neg-strategy=hard",
                              "--input", input.path, "--output", output.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let tuples = try JSONDecoder().decode(TuplesJSON.self, from: try Data(contentsOf: output)).tuples()
        let (positive, negative) = tuples.asPairs
        #expect(!positive.isEmpty && positive.allSatisfy { $0.anchor != $0.other })
        #expect(negative.allSatisfy { Self.labels[$0.anchor] != Self.labels[$0.other] })
    }

    @Test func unknownMinersSuggestTheClosest() throws {
        let request = try Self.json(MinerRequest(embeddings: Self.embeddings, labels: Self.labels))
        for (typed, suggestion) in [("batchhard", "batch-hard"), ("semihard", "semi-hard"), ("triplet-margn", "triplet-margin")] {
            let run = try simile(["compute", "miner", typed, "--input", "-"], stdin: request)
            #expect(run.status == 2)
            #expect(run.stderr.contains("unknown miner '\(typed)'; did you mean '\(suggestion)'?"), "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
        let parameter = try simile(["compute", "miner", "triplet-margin", "type-of-triplet=hard", "--input", "-"], stdin: request)
        #expect(parameter.status == 2 && parameter.stderr.contains("did you mean 'type-of-triplets'?"), "\(parameter.stderr)")
    }

    @Test func badInputIsAClearErrorNotACrash() throws {
        let cases: [(String, String)] = [
            (#"{"embeddings": [[1, NaN], [0, 1]], "labels": [0, 0]}"#, "row 0, column 1"),
            (#"{"embeddings": [[1, 2], [3]], "labels": [0, 1]}"#, "row 1 has 1 values"),
            (#"{"embeddings": [[1, 2]], "labels": [0, 1]}"#, "1 rows but there are 2 labels"),
            (#"{"embeddings": [], "labels": []}"#, "the batch is empty"),
            (#"{"labels": [0]}"#, "missing field \"embeddings\""),
            (#"{"embeddings": [[1, 2]], "labels": [0.5]}"#, "labels"),
            (#"{"embeddings": [[1, 2]], "labels": [0], "#, "not valid JSON"),
            (#"{"embeddings": [[1, 2], [2, 1]], "labels": [0, 1], "reference_embeddings": [[1, 2]]}"#, "without reference labels"),
            (#"{"embeddings": [[1, 2], [2, 1]], "labels": [0, 1], "reference_embeddings": [[1, 2, 3]], "reference_labels": [0]}"#,
             "3 columns but the embeddings have 2"),
            (#"{"embeddings": [[1, 2], [2, 1]], "labels": [0, 1], "batch_items": [1, 2], "reference_items": [1]}"#,
             "1 reference item ids for 2 reference rows"),
        ]
        for (input, message) in cases {
            let run = try simile(["compute", "miner", "batch-hard", "--input", "-"], stdin: input)
            #expect(run.status == 2, "\(input)")
            #expect(run.stderr.contains(message), "for \(input): \(run.stderr)")
            #expect(!run.stderr.contains("Fatal error"))
        }
        let missing = try simile(["compute", "miner", "batch-hard", "--input", "/nonexistent.json"])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"))
        let combination = try simile(["compute", "miner", "batch-easy-hard", "pos-strategy=semihard", "neg-strategy=all",
                                      "--input", "-"], stdin: #"{"embeddings": [[1, 2]], "labels": [0]}"#)
        #expect(combination.status == 2 && combination.stderr.contains("cannot be combined with all"))
    }

    @Test func benchTimesAMinerWithAndWithoutALoss() throws {
        let alone = try simile(["bench", "miner", "batch-hard", "--n", "32", "--d", "8"])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stdout.contains("\"median_ms\"") && alone.stdout.contains("\"what\" : \"miner\""), "\(alone.stdout)")
        #expect(alone.stderr.contains("batch-hard mined 32 triplets"), "\(alone.stderr)")
        let withLoss = try simile(["bench", "miner", "semi-hard", "--n", "32", "--d", "8", "--loss", "triplet-margin(margin=0.1)"])
        #expect(withLoss.status == 0, "\(withLoss.stderr)")
        #expect(withLoss.stdout.contains("\"what\" : \"miner+loss, fused\""), "\(withLoss.stdout)")
        let listed = try simile(["bench", "miner", "semi-hard", "--n", "32", "--d", "8", "--loss", "triplet-margin", "--listed"])
        #expect(listed.status == 0 && listed.stdout.contains("\"what\" : \"miner+loss\""), "\(listed.stdout)")
        let unfusable = try simile(["bench", "miner", "semi-hard", "--n", "32", "--d", "8", "--loss", "contrastive"])
        #expect(unfusable.status == 0 && unfusable.stdout.contains("\"what\" : \"miner+loss\""), "\(unfusable.stdout)")
        let badLoss = try simile(["bench", "miner", "semi-hard", "--n", "32", "--d", "8", "--loss", "triplet-margn"])
        #expect(badLoss.status == 2 && badLoss.stderr.contains("did you mean 'triplet-margin'?"))
    }

    @Test func listAndDescribeShowTheMiners() throws {
        let list = try simile(["list", "miners"])
        #expect(list.status == 0)
        for descriptor in Registry.builtin.descriptors(.miner) {
            #expect(list.stdout.contains(descriptor.name), "missing \(descriptor.name)")
        }
        let describe = try simile(["describe", "batch-easy-hard"])
        #expect(describe.status == 0 && describe.stdout.contains("pos-strategy") && describe.stdout.contains("semihard"))
    }
}
