import ArgumentParser
import Simile

struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a component's formula, then each parameter with its type, default and range.")

    @Argument(help: "A component name, e.g. multi-similarity, lp, avg-non-zero.")
    var name: String

    @Option(help: "Only this kind (loss, miner, distance, ...), when a name exists in several.")
    var kind: String?

    func run() throws {
        let registry = Registry.builtin
        var found = registry.descriptors(named: name)
        if let kind {
            guard let parsed = ComponentKind(word: kind) else {
                throw SimileError.invalidInput("unknown kind '\(kind)'; use one of \(ComponentKind.allCases.map(\.singular).joined(separator: ", "))")
            }
            found = found.filter { $0.kind == parsed }
        }
        guard !found.isEmpty else {
            var message = "no component is named '\(name)'"
            if let suggestion = Suggestions.closest(to: name, among: registry.allNames) {
                message += "; did you mean '\(suggestion)'?"
            }
            throw SimileError.invalidInput(message + " (run `simile list` to see them all)")
        }
        print(found.map(Catalogue.describe).joined(separator: "\n\n"))
    }
}
