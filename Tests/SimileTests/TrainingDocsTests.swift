import Foundation
import Testing
@testable import Simile

/// docs/training.md carries the parameter tables of the model, optimizer, schedule and clipping
/// text forms; they must match the schemas in the code.
struct TrainingDocsTests {
    static let schemas = [MLPSpec.schema] + OptimizerSettings.schemas + LearningRateSchedule.schemas + [GradientClipping.schema]

    @Test func parameterTablesMatchTheCode() throws {
        let url = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/training.md")
        let page = try String(contentsOf: url, encoding: .utf8)
        for schema in Self.schemas {
            #expect(page.contains(schema.markdownTable),
                    "docs/training.md lacks the current table of '\(schema.name)'; paste `\(schema.name)`'s SettingsSchema.markdownTable into it")
            #expect(schema.declarationProblems.isEmpty, "\(schema.name): \(schema.declarationProblems)")
        }
    }
}
