import ArgumentParser
import Simile

struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs",
        abstract: "Print the generated component catalogue in Markdown (docs/losses.md is this output).")

    @Argument(help: "losses, distances or reducers.")
    var kind: String = "losses"

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        guard let parsed = ComponentKind(word: kind) else {
            throw SimileError.invalidInput("unknown kind '\(kind)'; use losses, distances or reducers")
        }
        try Console.write(Catalogue.document(parsed), to: output)
    }
}
