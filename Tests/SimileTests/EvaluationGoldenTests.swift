import Foundation
import Testing
@testable import Simile

/// Evaluation against PML's AccuracyCalculator and scikit-learn
/// (Tests/Fixtures/generate_pml_metrics.py writes the fixtures).
struct EvaluationGoldenTests {
    struct KNNFile: Decodable {
        let cases: [KNNCase]
    }

    struct KNNCase: Decodable, Sendable, CustomStringConvertible {
        enum Depth: Decodable, Sendable {
            case text(String)
            case number(Int)

            init(from decoder: Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let number = try? container.decode(Int.self) { self = .number(number) } else { self = .text(try container.decode(String.self)) }
            }

            var option: EvaluationOptions.Depth {
                switch self {
                case let .number(value): .count(value)
                case let .text(text): EvaluationOptions.Depth(text)!
                }
            }
        }

        let id: String
        let mode: String
        let k: Depth
        let avg_of_avgs: Bool
        let distance: String
        let query: [[Double]]
        let query_labels: [Int]
        let reference: [[Double]]?
        let reference_labels: [Int]?
        let expected: [String: Double?]
        var description: String { id }
    }

    struct MutualInformationFile: Decodable {
        struct Case: Decodable, Sendable, CustomStringConvertible {
            let id: String
            let labels: [Int]
            let clusters: [Int]
            let nmi: Double
            let ami: Double
            var description: String { id }
        }
        let cases: [Case]
    }

    static let directory = Fixtures.directory.appendingPathComponent("metrics")

    static func knnCases() -> [KNNCase] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("knn.json")),
              let file = try? JSONDecoder().decode(KNNFile.self, from: data) else { return [] }
        return file.cases
    }

    static func mutualInformationCases() -> [MutualInformationFile.Case] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("mutual_information.json")),
              let file = try? JSONDecoder().decode(MutualInformationFile.self, from: data) else { return [] }
        return file.cases
    }

    @Test func fixturesArePresent() {
        #expect(Self.knnCases().count >= 25)
        #expect(Self.mutualInformationCases().count >= 15)
    }

    /// PML computes MRR in float32 (its ranks are float tensors); everything else in float64.
    @Test(arguments: knnCases())
    func neighbourMetricsMatchPML(_ golden: KNNCase) throws {
        var options = EvaluationOptions(metrics: EvaluationOptions.Metric.neighbourMetrics, k: golden.k.option)
        options.averageOfAverages = golden.avg_of_avgs
        options.geometry = golden.distance == "cosine" ? .cosine : .euclidean
        options.referenceIncludesQuery = golden.mode == "reference-includes-query"
        let query = try Matrix<Float>(golden.query.map { $0.map(Float.init) })
        let reference = try golden.reference.map { try Matrix<Float>($0.map { $0.map(Float.init) }) }
        let runs: [(Int?, EvaluationOptions.Ranking)] = [(nil, .automatic), (1, .counting), (7, .selection), (nil, .selection)]
        for (blockRows, ranking) in runs {
            options.blockRows = blockRows
            options.ranking = ranking
            let report = try Evaluation.evaluate(query: query, queryLabels: golden.query_labels, reference: reference,
                                                 referenceLabels: golden.reference_labels, options: options)
            let actual: [String: Double?] = [
                "precision_at_1": report.precisionAt1, "r_precision": report.rPrecision,
                "mean_average_precision_at_r": report.mapAtR, "mean_average_precision": report.map,
                "mean_reciprocal_rank": report.mrr,
            ]
            for (name, expected) in golden.expected {
                let value = actual[name] ?? nil
                switch (expected, value) {
                case (nil, nil):
                    break
                case let (expected?, value?):
                    let tolerance = name == "mean_reciprocal_rank" ? 1e-6 : 1e-12
                    #expect(abs(value - expected) <= tolerance, "\(golden.id) \(name) block \(String(describing: blockRows)) \(ranking): \(value) vs PML \(expected)")
                default:
                    Issue.record("\(golden.id) \(name): \(String(describing: value)) vs PML \(String(describing: expected))")
                }
            }
            if golden.expected.values.allSatisfy({ $0 == nil }) {
                #expect(report.warnings.contains { $0.contains("no query label occurs among the references") })
            }
        }
    }

    @Test(arguments: mutualInformationCases())
    func mutualInformationMatchesScikitLearn(_ golden: MutualInformationFile.Case) {
        let nmi = MutualInformation.normalized(labels: golden.labels, clusters: golden.clusters)
        let ami = MutualInformation.adjusted(labels: golden.labels, clusters: golden.clusters)
        #expect(abs(nmi - golden.nmi) <= 1e-12, "\(golden.id) NMI \(nmi) vs scikit-learn \(golden.nmi)")
        #expect(abs(ami - golden.ami) <= 1e-11, "\(golden.id) AMI \(ami) vs scikit-learn \(golden.ami)")
    }
}
