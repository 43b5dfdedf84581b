import Foundation
import Testing
@testable import Simile

/// Simile's regularizers reproduce pytorch-metric-learning 2.9.0's values and gradients on the
/// committed fixtures (Tests/Fixtures/pml/regularizers, from generate_pml_regularizers.py).
struct RegularizerGoldenTests {
    struct File: Decodable {
        let regularizer: String
        let cases: [Case]
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        struct Expected: Decodable, Sendable {
            let value: Double
            let gradient: [[Double]]
        }
        let id: String
        let parameters: [String]
        let pml: String
        let input: RegularizerRequest
        let expected: Expected
        var regularizer: String { String(id.split(separator: "/").first ?? "") }
        var testDescription: String { id }
    }

    static let directory = Fixtures.directory.appendingPathComponent("regularizers")

    static var cases: [Case] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { $0.hasSuffix(".json") }.flatMap { name -> [Case] in
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)),
                  let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
            return file.cases
        }
    }

    @Test func everyPMLRegularizerHasFixtures() {
        let covered = Set(Self.cases.map(\.regularizer))
        #expect(covered == ["lp", "zero-mean", "center-invariant", "regular-face", "sparse-centers"],
                "fixtures found for \(covered.sorted()) in \(Self.directory.path)")
        #expect(Self.cases.count >= 20)
    }

    /// Cases where Simile is more accurate than PML, with the absolute tolerance that allows for PML's error.
    static let deviations: [String: Double] = [
        // Two parallel centers: PML's √(2 + tiny − 2·cos) keeps the rounding of cos (2 − 2·cos ≈ 2e-16, so
        // about 1.5e-8 per pair); Simile's ‖x̂ᵢ − x̂ⱼ‖ is ~0 there. SparseCentersRegularizer's notes say so.
        "sparse-centers/scaled-copy": 1e-8,
    ]

    /// Double precision: value within 1e-10 + 1e-9·|v|, gradient within 1e-10 + 1e-8·max|g|.
    @Test(arguments: cases)
    func matchesPMLInDouble(_ fixture: Case) throws {
        let regularizer = try Registry.builtin.regularizer(Registry.builtin.spec(fixture.regularizer, fixture.parameters))
        let output: RegularizerOutput<Double> = try fixture.input.evaluate(regularizer)
        let slack = Self.deviations[fixture.id] ?? 0
        #expect(abs(output.value - fixture.expected.value) <= 1e-10 + 1e-9 * abs(fixture.expected.value) + slack,
                "value \(output.value), PML \(fixture.expected.value)")
        let scale = maxAbsolute(fixture.expected.gradient)
        let difference = maxDifference(output.gradient, fixture.expected.gradient)
        #expect(difference <= 1e-10 + 1e-8 * scale + slack, "gradient differs by \(difference) (scale \(scale))")
    }

    /// Float precision, the production path: value within 1e-5·(1 + |v|), gradient within 1e-4·(1 + max|g|).
    @Test(arguments: cases)
    func matchesPMLInFloat(_ fixture: Case) throws {
        let regularizer = try Registry.builtin.regularizer(Registry.builtin.spec(fixture.regularizer, fixture.parameters))
        let output: RegularizerOutput<Float> = try fixture.input.evaluate(regularizer)
        #expect(abs(output.value - fixture.expected.value) <= 1e-5 * (1 + abs(fixture.expected.value)),
                "value \(output.value), PML \(fixture.expected.value)")
        let scale = maxAbsolute(fixture.expected.gradient)
        let difference = maxDifference(output.gradient, fixture.expected.gradient)
        #expect(difference <= 1e-4 * (1 + scale), "gradient differs by \(difference) (scale \(scale))")
    }
}
