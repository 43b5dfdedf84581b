import Testing
@testable import Simile

/// The parameter types that samplers and composite miners need: free words (column names), lists
/// of words, and lists of components.
struct ParameterTypesTests {
    /// A sampler that only records its arguments.
    struct EchoSampler: BatchSampler {
        static let descriptor = ComponentDescriptor(
            kind: .sampler, name: "echo", summary: "Records its arguments.",
            parameters: [
                .string("column", nil, unsetMeaning: "no column", doc: "a column name"),
                ParameterSpec("by", .strings, default: .unset("no stratification"), doc: "columns"),
                ParameterSpec("chain", .components(.distance), default: .unset("none"), doc: "distances"),
            ])
        let column: String?
        let by: [String]
        let chain: [any Distance]
        init(_ arguments: Arguments) throws {
            column = try arguments.optionalString("column")
            by = try arguments.strings("by")
            chain = try arguments.componentSpecs("chain").map { try arguments.registry.distance($0) }
        }
        func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] { [SampledBatch(rows: Array(0..<data.count))] }
    }

    @Test func wordsListsAndComponentListsParseAndPrintBack() throws {
        var registry = Registry.builtin
        try registry.register(EchoSampler.self)
        let spec = try ComponentSpec("echo(column=exam_date, by=[sex, qt-bucket], chain=[cosine, lp(power=2)])")
        let sampler = try #require(try registry.sampler(spec) as? EchoSampler)
        #expect(sampler.column == "exam_date")
        #expect(sampler.by == ["sex", "qt-bucket"])
        #expect(sampler.chain.count == 2 && sampler.chain[1] is LpDistance)
        let canonical = try registry.arguments(.sampler, spec).canonicalSpec
        #expect(canonical.description == "echo(column=exam_date, by=[sex, qt-bucket], chain=[cosine, lp(power=2)])")
        #expect(try registry.sampler("echo(by=sex)") is EchoSampler)

        let defaults = try #require(try registry.sampler("echo") as? EchoSampler)
        #expect(defaults.column == nil && defaults.by.isEmpty && defaults.chain.isEmpty)
    }

    @Test func wrongShapesAreNamed() throws {
        var registry = Registry.builtin
        try registry.register(EchoSampler.self)
        #expect(throws: SimileError.self) { try registry.sampler("echo(by=[sex, [a]])") }
        #expect(throws: SimileError.unknownComponent(kind: .distance, name: "cosin", suggestion: "cosine")) {
            try registry.sampler("echo(chain=[cosin])")
        }
        #expect(throws: SimileError.unknownComponent(kind: .sampler, name: "ecko", suggestion: "echo")) {
            try registry.sampler("ecko")
        }
    }
}
