import ArgumentParser
import Simile

struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs",
        abstract: "Print the generated component catalogue in Markdown (docs/losses.md is this output).")

    @Argument(help: "losses, miners, samplers, regularizers, distances or reducers.")
    var kind: String = "losses"

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        guard let parsed = ComponentKind(word: kind) else {
            throw SimileError.invalidInput("unknown kind '\(kind)'; use one of \(ComponentKind.allCases.map(\.plural).joined(separator: ", "))")
        }
        try Console.write(Catalogue.document(parsed), to: output)
    }
}
