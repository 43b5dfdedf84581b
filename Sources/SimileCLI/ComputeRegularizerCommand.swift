import ArgumentParser
import Foundation
import Simile

struct ComputeRegularizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regularizer",
        abstract: "Compute a regularizer, its gradient and the gradients of its own parameters.",
        discussion: """
            Input: {"embeddings": [[…]]} or {"matrix": [[…]]} (a loss's C×D parameter matrix, one row per class), \
            with "labels": […] for regularizers that need them (center) and "parameters": {"NAME": [[…]]} for \
            the regularizer's own trainable parameters (center's "centers"; missing ones take their initial values).
            Output: {"value", "gradient", "parameter_gradients", "stats"}.
            """)

    @Argument(help: "The regularizer, e.g. lp.")
    var name: String

    @Argument(help: "Parameters as key=value, e.g. power=2.")
    var parameters: [String] = []

    @Option(name: .shortAndLong, help: "Input JSON file ('-' for standard input).")
    var input: String

    @Option(name: .shortAndLong, help: "Output JSON file (default: standard output); written atomically.")
    var output: String?

    @Option(help: "Arithmetic: float (production) or double.")
    var precision: Precision = .float

    func run() throws {
        let regularizer = try Registry.builtin.regularizer(Registry.builtin.spec(name, parameters))
        let request = try RegularizerRequest.decode(try Console.read(input), source: input)
        let text: String
        switch precision {
        case .float: text = try Console.json(RegularizerResponse(try request.evaluate(regularizer, as: Float.self)))
        case .double: text = try Console.json(RegularizerResponse(try request.evaluate(regularizer, as: Double.self)))
        }
        try Console.write(text, to: output)
    }
}
