import ArgumentParser
import Foundation
import Simile

struct ComputeMinerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miner",
        abstract: "Mine pairs or triplets from a batch.",
        discussion: """
            Input: {"embeddings": [[…]], "labels": […]} with optional "reference_embeddings" and \
            "reference_labels" (positives and negatives then index the reference), "step" (stochastic \
            miners mix it into their seed), and "batch_items" / "reference_items" (item ids: a row is \
            never paired with a reference row of its own id).
            Output: {"pairs": {"positive": [[a,p]…], "negative": [[a,n]…]}} or {"triplets": [[a,p,n]…]}, \
            the form `simile compute loss` reads under "tuples".
            """)

    @Argument(help: "The miner, e.g. batch-hard or triplet-margin.")
    var name: String

    @Argument(help: "Parameters as key=value, e.g. type-of-triplets=semihard margin=0.1.")
    var parameters: [String] = []

    @Option(name: .shortAndLong, help: "Input JSON file ('-' for standard input).")
    var input: String

    @Option(name: .shortAndLong, help: "Output JSON file (default: standard output); written atomically.")
    var output: String?

    @Option(help: "Arithmetic: float (production) or double.")
    var precision: Precision = .float

    func run() throws {
        let registry = Registry.builtin
        let miner = try registry.miner(try registry.spec(name, parameters))
        let request = try MinerRequest.decode(try Console.read(input), source: input)
        let tuples: Tuples
        switch precision {
        case .float: tuples = try request.mine(miner, as: Float.self)
        case .double: tuples = try request.mine(miner, as: Double.self)
        }
        try Console.write(TuplesJSON(tuples).text, to: output)
    }
}
