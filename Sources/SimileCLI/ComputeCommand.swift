import ArgumentParser
import Foundation
import Simile

struct ComputeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Run one component on JSON input.",
        subcommands: [ComputeLossCommand.self])
}

enum Precision: String, ExpressibleByArgument, CaseIterable {
    case float, double
}

struct ComputeLossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Compute a loss, its gradient and its sub-losses.",
        discussion: """
            Input: {"embeddings": [[…]], "labels": […]} with optional "tuples" (as `simile compute miner` \
            prints them: {"pairs": {"positive": [[a,p]…], "negative": [[a,n]…]}} or {"triplets": [[a,p,n]…]}), \
            "reference_embeddings" and "reference_labels", and "parameters": {"NAME": [[…]]} for trainable parameters.
            Output: {"loss", "sub_losses", "gradient", "reference_gradient"?, "parameter_gradients", "stats"}.
            """)

    @Argument(help: "The loss, e.g. contrastive.")
    var name: String

    @Argument(help: "Parameters as key=value, e.g. pos-margin=0.1 'distance=lp(power=2)'.")
    var parameters: [String] = []

    @Option(name: .shortAndLong, help: "Input JSON file ('-' for standard input).")
    var input: String

    @Option(name: .shortAndLong, help: "Output JSON file (default: standard output); written atomically.")
    var output: String?

    @Option(help: "Arithmetic: float (production) or double.")
    var precision: Precision = .float

    func run() throws {
        let loss = try Registry.builtin.loss(name, parameters)
        let request = try LossRequest.decode(try Console.read(input), source: input)
        let text: String
        switch precision {
        case .float: text = try Console.json(LossResponse<Float>(try request.evaluate(loss)))
        case .double: text = try Console.json(LossResponse<Double>(try request.evaluate(loss)))
        }
        try Console.write(text, to: output)
    }
}
