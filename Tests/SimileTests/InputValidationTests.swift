import Testing
@testable import Simile

/// Bad input gets a clear error, and awkward but valid input gets a correct, finite answer.
struct InputValidationTests {
    let registry = Registry.builtin
    static let losses = Registry.builtin.descriptors(.loss).map(\.name)

    /// The loss with its first example's parameters (embedding-size set to the batch's width, and a
    /// required num-classes to 80).
    func make(_ name: String, columns: Int = 4) throws -> any Loss {
        let descriptor = try registry.descriptor(.loss, name)
        var parameters = (descriptor.examples.first ?? []).filter { !$0.hasPrefix("embedding-size=") }
        if descriptor.parameter(named: "embedding-size") != nil { parameters.append("embedding-size=\(columns)") }
        // Losses with one parameter row per class need room for every label these tests use (up to 74).
        if descriptor.parameter(named: "num-classes")?.defaultValue == .required {
            parameters = parameters.filter { !$0.hasPrefix("num-classes=") } + ["num-classes=80"]
        }
        return try registry.loss(name, parameters)
    }

    @Test func nonFiniteInputNamesTheRow() throws {
        let loss = try registry.loss("contrastive")
        var x = Problems.gaussian(rows: 5, columns: 3, seed: 1)
        x[3, 2] = .nan
        do {
            _ = try loss(x, [0, 0, 1, 1, 2])
            Issue.record("NaN was accepted")
        } catch let SimileError.nonFinite(input, row, column, value) {
            #expect(input == "embeddings" && row == 3 && column == 2 && value.isNaN)
        }
        x[3, 2] = .infinity
        #expect(throws: SimileError.self) { _ = try loss(x, [0, 0, 1, 1, 2]) }
    }

    @Test func shapesAreChecked() throws {
        let loss = try registry.loss("contrastive")
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 1)
        #expect(throws: SimileError.self) { _ = try loss(x, [0, 1]) }
        #expect(throws: SimileError.self) { _ = try loss(Matrix<Double>(rows: 0, columns: 3), []) }
        #expect(throws: SimileError.self) { _ = try loss(Matrix<Double>(rows: 2, columns: 0), [0, 1]) }
        #expect(throws: SimileError.self) {
            _ = try loss(x, [0, 0, 1, 1], reference: Problems.gaussian(rows: 3, columns: 2, seed: 2), referenceLabels: [0, 1, 1])
        }
        #expect(throws: SimileError.self) { _ = try loss(x, [0, 0, 1, 1], reference: x) }
        #expect(throws: SimileError.self) { _ = try loss(x, [0, 0, 1, 1], referenceLabels: [0]) }
    }

    @Test func capabilitiesAreEnforced() throws {
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 1)
        for name in Self.losses {
            let loss = try make(name, columns: 3)
            if !(loss is any ReferenceCapable) {
                #expect(throws: SimileError.self, "\(name) accepted a reference") {
                    _ = try loss(x, [0, 0, 1, 1], reference: x, referenceLabels: [0, 0, 1, 1])
                }
            }
            if !(loss is any TupleCapable) {
                #expect(throws: SimileError.self, "\(name) accepted tuples") {
                    _ = try loss(x, [0, 0, 1, 1], tuples: .triplets([Triplet(0, 1, 2)]))
                }
            }
            if !(loss is any Trainable) {
                #expect(throws: SimileError.self, "\(name) accepted a parameter") {
                    _ = try loss(x, [0, 0, 1, 1], parameters: ["beta": Matrix(rows: 1, columns: 1)])
                }
            }
        }
    }

    @Test func invalidTuplesAreRejected() throws {
        let loss = try registry.loss("triplet-margin")
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 1)
        for tuples: Tuples in [.triplets([Triplet(0, 1, 7)]), .triplets([Triplet(0, 2, 3)]), .triplets([Triplet(0, 0, 2)]),
                               .pairs(positive: [IndexPair(0, 2)], negative: []), .pairs(positive: [], negative: [IndexPair(0, 1)])] {
            #expect(throws: SimileError.self, "\(tuples)") { _ = try loss(x, [0, 0, 1, 1], tuples: tuples) }
        }
    }

    /// Singleton classes, a single label, duplicate rows and empty tuples: finite values, and
    /// where nothing can be learned, exactly 0 with a zero gradient.
    @Test(arguments: losses)
    func awkwardBatchesGiveFiniteAnswers(_ name: String) throws {
        let loss = try make(name)
        let x = Problems.gaussian(rows: 7, columns: 4, seed: 21)
        // A singleton class (label 2).
        let singleton = try loss(x, [0, 0, 0, 1, 1, 1, 2])
        #expect(singleton.value.isFinite)
        // One label only: no negatives.
        let oneLabel = try loss(x, [3, 3, 3, 3, 3, 3, 3])
        #expect(oneLabel.value.isFinite && oneLabel.gradient.firstNonFinite() == nil)
        // All different labels: no positives.
        let allDifferent = try loss(x, [0, 1, 2, 3, 4, 5, 6])
        #expect(allDifferent.value.isFinite && allDifferent.gradient.firstNonFinite() == nil)
        // Duplicate rows, within and across classes.
        var duplicated = x
        for k in 0..<4 { duplicated[1, k] = duplicated[0, k]; duplicated[4, k] = duplicated[0, k] }
        let duplicates = try loss(duplicated, [0, 0, 0, 1, 1, 1, 2])
        #expect(duplicates.value.isFinite && duplicates.gradient.firstNonFinite() == nil)
        // Empty tuples: the miner found nothing.
        if loss is any TupleCapable {
            for empty: Tuples in [.triplets([]), .pairs(positive: [], negative: [])] {
                let output = try loss(x, [0, 0, 0, 1, 1, 1, 2], tuples: empty)
                #expect(output.value.isFinite && output.gradient.firstNonFinite() == nil)
            }
        }
        // Float too.
        let float = try loss(duplicated.converted(to: Float.self), [0, 0, 0, 1, 1, 1, 2])
        #expect(float.value.isFinite && float.gradient.firstNonFinite() == nil)
    }

    /// Triplet losses learn nothing from a batch without negatives, and no loss learns from
    /// empty tuples. (Contrastive and multi-similarity still pull positives together when there
    /// is no negative, as in PML.)
    @Test(arguments: ["contrastive", "triplet-margin", "multi-similarity"])
    func nothingToLearnIsExactlyZero(_ name: String) throws {
        let loss = try registry.loss(name)
        let x = Problems.gaussian(rows: 5, columns: 3, seed: 5)
        let output = try loss(x, [0, 0, 0, 0, 0])
        if name == "triplet-margin" {
            #expect(output.value == 0 && output.gradient.maxAbsoluteValue == 0)
        } else {
            #expect(output.value > 0)
        }
        let empty = try loss(x, [0, 0, 1, 1, 2], tuples: .triplets([]))
        #expect(empty.value == 0 && empty.gradient.maxAbsoluteValue == 0)
    }

    /// Same inputs, same outputs, bit for bit (including the parallel reductions).
    @Test(arguments: losses)
    func deterministic(_ name: String) throws {
        let loss = try make(name, columns: 16)
        let x = Problems.gaussian(rows: 300, columns: 16, seed: 8).converted(to: Float.self)
        let labels = (0..<300).map { $0 / 4 }
        let first = try loss(x, labels), second = try loss(x, labels)
        #expect(first.value == second.value && first.gradient == second.gradient)
    }

    /// All triplets at N = 4096 run in O(N²) memory (about 50 million triplets).
    @Test func allTripletsAtN4096Run() throws {
        let loss = try registry.loss("triplet-margin")
        var generator = SeededGenerator(seed: 3)
        let n = 4096
        let x = Matrix<Float>(rows: n, columns: 32, elements: (0..<(n * 32)).map { _ in Float(generator.nextGaussian()) })
        let output = try loss(x, (0..<n).map { $0 / 4 })
        #expect(output.value > 0 && output.value.isFinite)
        #expect(output.stats["loss.active"] ?? 0 > 1_000_000)
    }
}
