import ArgumentParser
import Foundation
import Simile

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Retrieval and clustering metrics of labelled embeddings (PML's AccuracyCalculator and more); prints JSON.",
        discussion: """
            Input: {"embeddings": [[…]], "labels": […]} evaluates leave-one-out: every embedding is a query \
            against all the others (its own row is left out). Add "query_embeddings" and "query_labels" to \
            rank those queries against "embeddings", or "reference_embeddings" and "reference_labels" to rank \
            "embeddings" against them.

            Output: precision_at_1, r_precision, map_at_r, map, mrr and recall_at_k (PML's definitions; \
            queries without a same-label reference are left out), nmi and ami (seeded k-means++ with k = the \
            number of query labels), intra_inter_ratio_l1/l2 with the mean same- and different-label pair \
            distances, pair_distance_std_l1/l2, dimension_variance and mean_dimension_variance, and what was \
            evaluated. docs/metrics.md defines every metric.
            """)

    @Option(name: .shortAndLong, help: "Input JSON file ('-' for standard input).")
    var input: String

    @Option(name: .shortAndLong, help: "Output JSON file (default: standard output); written atomically.")
    var output: String?

    @Option(help: "PML's k, the neighbours the PML metrics use: all (PML's default), max-bin-count, or a number.")
    var k: String = "all"

    @Option(help: "The cut-offs of recall@k, comma-separated.")
    var recallAt: String = "1,2,4,8"

    @Option(help: "euclidean (PML's default) or cosine (everything on L2-normalised embeddings).")
    var distance: String = "euclidean"

    @Flag(help: "Average each metric per query class first, then over classes (PML's avg_of_avgs).")
    var avgOfAvgs = false

    @Option(help: "Only these metrics, comma-separated (precision_at_1, r_precision, map_at_r, map, mrr, recall_at_k, nmi, ami, pair_distances, dimension_variance).")
    var metrics: String?

    @Option(help: "Leave out these metrics, comma-separated (e.g. nmi,ami to skip the clustering).")
    var exclude: String?

    @Flag(help: "The reference starts with the query rows (PML's ref_includes_query): query i's own row is left out.")
    var referenceIncludesQuery = false

    @Option(help: "Seed of the k-means starts and of the sampled L1 pairs.")
    var seed: UInt64 = 0

    @Option(help: "k-means++ starts (the lowest inertia wins).")
    var clusteringRestarts: Int = 1

    @Option(help: "Most Lloyd iterations per k-means start.")
    var clusteringIterations: Int = 20

    @Option(help: "L1 pair statistics are exact up to this many pairs and sampled above.")
    var exactL1Pairs: Int = 1 << 20

    @Option(help: "Pairs of each kind (same label, different label) sampled for the L1 statistics above that.")
    var l1SamplePairs: Int = 1 << 16

    /// The input file's fields.
    struct Request: Decodable {
        var embeddings: [[Double]]
        var labels: [Int]
        var queryEmbeddings: [[Double]]?
        var queryLabels: [Int]?
        var referenceEmbeddings: [[Double]]?
        var referenceLabels: [Int]?

        enum CodingKeys: String, CodingKey {
            case embeddings, labels
            case queryEmbeddings = "query_embeddings"
            case queryLabels = "query_labels"
            case referenceEmbeddings = "reference_embeddings"
            case referenceLabels = "reference_labels"
        }
    }

    func run() throws {
        let options = try makeOptions()
        let request = try JSONInput.decode(Request.self, from: try Console.read(input), source: input)
        func matrix(_ rows: [[Double]], _ name: String) throws -> Matrix<Float> {
            try Matrix<Float>(rows.map { $0.map { Float($0) } }, name: name)
        }
        func pair(_ rows: [[Double]]?, _ labels: [Int]?, _ name: String) throws -> (Matrix<Float>, [Int])? {
            switch (rows, labels) {
            case (nil, nil): return nil
            case let (rows?, labels?): return (try matrix(rows, "\(name)_embeddings"), labels)
            case (_?, nil): throw SimileError.invalidInput("\(input): \"\(name)_embeddings\" needs \"\(name)_labels\"")
            case (nil, _?): throw SimileError.invalidInput("\(input): \"\(name)_labels\" needs \"\(name)_embeddings\"")
            }
        }
        let main = try matrix(request.embeddings, "embeddings")
        let queries = try pair(request.queryEmbeddings, request.queryLabels, "query")
        let references = try pair(request.referenceEmbeddings, request.referenceLabels, "reference")
        let report: EvaluationReport
        switch (queries, references) {
        case (nil, nil):
            report = try Evaluation.evaluate(query: main, queryLabels: request.labels, options: options)
        case let (query?, nil):
            report = try Evaluation.evaluate(query: query.0, queryLabels: query.1, reference: main,
                                             referenceLabels: request.labels, options: options)
        case let (nil, reference?):
            report = try Evaluation.evaluate(query: main, queryLabels: request.labels, reference: reference.0,
                                             referenceLabels: reference.1, options: options)
        case (_?, _?):
            throw SimileError.invalidInput("\(input): give either query_embeddings (then embeddings are the reference) or reference_embeddings (then embeddings are the queries), not both")
        }
        try Console.write(try Console.json(report), to: output)
    }

    func makeOptions() throws -> EvaluationOptions {
        guard let depth = EvaluationOptions.Depth(k) else {
            throw SimileError.invalidInput("--k \(k) is not 'all', 'max-bin-count' or a positive number")
        }
        guard let geometry = EvaluationOptions.Geometry(rawValue: distance.lowercased()) else {
            throw SimileError.invalidInput("--distance \(distance) is not 'euclidean' or 'cosine'")
        }
        let recall = try recallAt.split(separator: ",").map { text -> Int in
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 1 else {
                throw SimileError.invalidInput("--recall-at: '\(text)' is not a positive number")
            }
            return value
        }
        func metricList(_ text: String, _ option: String) throws -> Set<EvaluationOptions.Metric> {
            Set(try text.split(separator: ",").map { word in
                let name = word.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "-", with: "_")
                guard let metric = EvaluationOptions.Metric(rawValue: name) else {
                    let names = EvaluationOptions.Metric.allCases.map(\.rawValue)
                    let hint = Suggestions.closest(to: name, among: names).map { "; did you mean '\($0)'?" } ?? ""
                    throw SimileError.invalidInput("\(option): unknown metric '\(word)'\(hint) (metrics: \(names.joined(separator: ", ")))")
                }
                return metric
            })
        }
        var chosen = Set(EvaluationOptions.Metric.allCases)
        if let metrics { chosen = try metricList(metrics, "--metrics") }
        if let exclude { chosen.subtract(try metricList(exclude, "--exclude")) }
        return EvaluationOptions(
            metrics: chosen, k: depth, recallAt: recall, geometry: geometry, averageOfAverages: avgOfAvgs,
            referenceIncludesQuery: referenceIncludesQuery,
            clustering: .init(restarts: clusteringRestarts, iterations: clusteringIterations), seed: seed,
            exactL1PairLimit: exactL1Pairs, l1SamplePairs: l1SamplePairs)
    }
}
