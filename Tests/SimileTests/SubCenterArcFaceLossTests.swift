import Foundation
import Testing
@testable import Simile

/// Sub-center ArcFace's outlier detection (PML's get_outliers).
struct SubCenterArcFaceLossTests {
    struct OutlierFile: Decodable {
        struct Case: Decodable {
            struct Input: Decodable {
                let embeddings: [[Double]]
                let labels: [Int]
                let parameters: [String: [[Double]]]
            }
            struct Expected: Decodable {
                let outliers: [Int]
                let dominant_sub_centers: [Int?]
            }
            let id: String
            let threshold: Double
            let input: Input
            let expected: Expected
        }
        let cases: [Case]
    }

    static func cases() throws -> [OutlierFile.Case] {
        let url = Fixtures.directory.appendingPathComponent("proxy/sub-center-outliers.json")
        return try JSONDecoder().decode(OutlierFile.self, from: Data(contentsOf: url)).cases
    }

    func make() throws -> SubCenterArcFaceLoss {
        try #require(try Registry.builtin.loss("sub-center-arcface", ["num-classes=5", "embedding-size=8"])
            as? SubCenterArcFaceLoss)
    }

    /// The outliers and dominant sub-centers PML finds, in Double and in Float.
    @Test func matchesPML() throws {
        let cases = try Self.cases()
        #expect(cases.count == 3)
        let loss = try make()
        for testCase in cases {
            let x = try Matrix<Double>(testCase.input.embeddings)
            let w = try Matrix<Double>(testCase.input.parameters["weights"]!)
            let labels = testCase.input.labels
            let isDefault = testCase.threshold == 75
            let found = isDefault ? try loss.outliers(x, labels: labels, weights: w)
                : try loss.outliers(x, labels: labels, weights: w, threshold: testCase.threshold)
            #expect(found.indices == testCase.expected.outliers, "\(testCase.id)")
            #expect(found.dominantSubCenters == testCase.expected.dominant_sub_centers, "\(testCase.id)")
            let float = try loss.outliers(x.converted(to: Float.self), labels: labels, weights: w.converted(to: Float.self),
                                          threshold: testCase.threshold)
            #expect(float.indices == found.indices && float.dominantSubCenters == found.dominantSubCenters, "\(testCase.id)")
            // Per sample: its class's dominant sub-center, and an angle beyond the threshold exactly for outliers.
            for i in labels.indices {
                #expect(found.sampleDominantSubCenters[i] == found.dominantSubCenters[labels[i]])
                #expect((found.angles[i] > testCase.threshold) == found.indices.contains(i), "\(testCase.id) sample \(i)")
            }
            // Absent class 4 has none; the outliers are listed class by class.
            #expect(found.dominantSubCenters[4] == nil)
            let classes = found.indices.map { labels[$0] }
            #expect(classes == classes.sorted())
        }
    }

    @Test func thresholdsAndDefaults() throws {
        let loss = try make()
        let problem = Problems.standard(columns: 8)
        let labels = Problems.labels
        // Without weights, the initial sub-centers are used.
        let initial = loss.initialParameters()["weights"]!
        #expect(try loss.outliers(problem.embeddings, labels: labels)
            == loss.outliers(problem.embeddings, labels: labels, weights: initial))
        // 180° keeps everyone; 0° flags everyone not exactly on the dominant sub-center.
        #expect(try loss.outliers(problem.embeddings, labels: labels, threshold: 180).indices.isEmpty)
        #expect(try loss.outliers(problem.embeddings, labels: labels, threshold: 0).indices.count == labels.count)
        // A sample on its class's only voted sub-center is not an outlier at any threshold.
        var x = problem.embeddings
        let row = 2 * 3 + 1  // class 2, sub-center 1
        for i in [6, 7] { for d in 0..<8 { x[i, d] = (i == 6 ? 1 : 3) * initial[row, d] } }
        let found = try loss.outliers(x, labels: labels, threshold: 1)
        #expect(found.dominantSubCenters[2] == 1 && !found.indices.contains(6) && !found.indices.contains(7))
    }

    @Test func badInputIsNamed() throws {
        let loss = try make()
        let x = Problems.gaussian(rows: 4, columns: 8, seed: 2)
        #expect(throws: SimileError.self) { _ = try loss.outliers(x, labels: [0, 1, 2, 3], threshold: 181) }
        #expect(throws: SimileError.self) { _ = try loss.outliers(x, labels: [0, 1, 2]) }
        #expect(throws: SimileError.self) { _ = try loss.outliers(x, labels: [0, 1, 2, 5]) }
        #expect(throws: SimileError.self) {
            _ = try loss.outliers(x, labels: [0, 1, 2, 3], weights: Matrix<Double>(rows: 5, columns: 8))
        }
        #expect(throws: SimileError.self) { _ = try loss.outliers(Problems.gaussian(rows: 4, columns: 3, seed: 2), labels: [0, 1, 2, 3]) }
    }
}
