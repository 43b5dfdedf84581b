import Foundation
@testable import Simile

/// The golden values generated from pytorch-metric-learning (see Tests/Fixtures/pml/README.md).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pml")

    struct LossFile: Decodable {
        let loss: String
        let cases: [LossCase]
    }

    struct LossCase: Decodable, Sendable, CustomStringConvertible {
        let id: String
        let parameters: [String]
        let input: LossRequest
        let expected: Expected
        var loss: String { String(id.split(separator: "/").first ?? "") }
        var description: String { id }
    }

    struct Expected: Decodable, Sendable {
        let loss: Double
        let gradient: [[Double]]
        let reference_gradient: [[Double]]?
        let parameter_gradients: [String: [[Double]]]?
        let sub_losses: [String: Double]?
    }

    struct DistanceFile: Decodable {
        let cases: [DistanceCase]
    }

    struct DistanceCase: Decodable, Sendable, CustomStringConvertible {
        struct Input: Decodable, Sendable {
            let x: [[Double]]
            let y: [[Double]]?
            let upstream: [[Double]]
        }
        struct Output: Decodable, Sendable {
            let matrix: [[Double]]
            let x_gradient: [[Double]]
            let y_gradient: [[Double]]?
        }
        let id: String
        let distance: String
        let input: Input
        let expected: Output
        var description: String { id }
    }

    static func lossFiles() -> [LossFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { $0.hasSuffix(".json") && $0 != "distances.json" && !$0.hasPrefix("circle-") }
            .compactMap { name in
                guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { return nil }
                return try? JSONDecoder().decode(LossFile.self, from: data)
            }
    }

    static func lossCases() -> [LossCase] { lossFiles().flatMap(\.cases) }

    static func distanceCases() -> [DistanceCase] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("distances.json")),
              let file = try? JSONDecoder().decode(DistanceFile.self, from: data) else { return [] }
        return file.cases
    }
}

/// The largest |a − b| over two nested arrays (infinity on a shape mismatch).
func maxDifference<S: SimileFloat>(_ a: Matrix<S>, _ b: [[Double]]) -> Double {
    guard a.rows == b.count, b.allSatisfy({ $0.count == a.columns }) else { return .infinity }
    var worst = 0.0
    for i in 0..<a.rows {
        for j in 0..<a.columns { worst = max(worst, abs(Double(a[i, j]) - b[i][j])) }
    }
    return worst
}

func maxAbsolute(_ rows: [[Double]]) -> Double {
    rows.flatMap { $0 }.reduce(0) { max($0, abs($1)) }
}
