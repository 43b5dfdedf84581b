import ArgumentParser
import Simile

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the registered components of one kind, or of every kind.")

    @Argument(help: "losses, miners, samplers, regularizers, distances or reducers (default: all).")
    var kind: String?

    func run() throws {
        let registry = Registry.builtin
        let kinds: [ComponentKind]
        if let kind {
            guard let parsed = ComponentKind(word: kind) else {
                let words = ComponentKind.allCases.map(\.plural)
                var message = "unknown kind '\(kind)'"
                if let suggestion = Suggestions.closest(to: kind, among: words) { message += "; did you mean '\(suggestion)'?" }
                throw SimileError.invalidInput(message + " (kinds: \(words.joined(separator: ", ")))")
            }
            kinds = [parsed]
        } else {
            kinds = [.loss, .miner, .sampler, .regularizer, .distance, .reducer]
        }
        var blocks: [String] = []
        for kind in kinds {
            let descriptors = registry.descriptors(kind)
            var lines = kinds.count > 1 ? ["\(kind.plural):"] : []
            let indent = kinds.count > 1 ? "  " : ""
            if descriptors.isEmpty {
                lines.append(indent + "(none registered yet)")
            }
            let width = descriptors.map(\.name.count).max() ?? 0
            for d in descriptors {
                lines.append(indent + d.name + String(repeating: " ", count: width - d.name.count + 2) + d.summary)
            }
            blocks.append(lines.joined(separator: "\n"))
        }
        print(blocks.joined(separator: "\n\n"))
    }
}
