import ArgumentParser
import Foundation
import Simile

struct BenchMinerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miner",
        abstract: "Time one miner (with --loss: the miner, then that loss forward+backward on its tuples) on random embeddings with labels i/4; prints JSON.",
        discussion: """
            The number of mined tuples is printed on standard error. A band miner (triplet-margin, \
            semi-hard) with a loss that can apply its band (triplet-margin) is timed fused, as \
            training runs it: the loss applies the band while it streams the triplets and none is \
            listed ("what": "miner+loss, fused"). --listed times the miner's list passed to the loss instead.
            """)

    @Argument(help: "The miner.") var name: String
    @Argument(help: "Parameters as key=value.") var parameters: [String] = []
    @Option(help: "Batch size N.") var n: Int = 1024
    @Option(help: "Embedding size D.") var d: Int = 128
    @Option(help: "A loss to run on the mined tuples, e.g. triplet-margin or 'contrastive(pos-margin=0.1)'.")
    var loss: String?
    @Flag(help: "With --loss: list the mined tuples and pass them to the loss even when the two can be fused.")
    var listed = false

    func run() throws {
        guard n > 0, d > 0 else { throw SimileError.invalidInput("--n and --d must be positive") }
        let registry = Registry.builtin
        let miner = try registry.miner(try registry.spec(name, parameters))
        let lossFunction = try loss.map { try registry.loss($0) }
        let (x, labels) = Timing.batch(n: n, d: d)
        let tuples = try miner(x, labels)
        let band = listed || !(lossFunction is any TripletBandCapable) ? nil : (miner as? any TripletBandMiner)?.tripletBand
        let timing = try Timing.measure {
            if let lossFunction, let band {
                _ = try lossFunction(x, labels, tripletsIn: band)
            } else {
                let tuples = try miner(x, labels)
                if let lossFunction { _ = try lossFunction(x, labels, tuples: tuples) }
            }
        }
        let count: String
        switch tuples {
        case let .pairs(positive, negative): count = "\(positive.count) positive and \(negative.count) negative pairs"
        case let .triplets(triplets): count = "\(triplets.count) triplets"
        }
        FileHandle.standardError.write(Data("\(name) mined \(count)\n".utf8))
        print(try Console.json(BenchResult(
            what: lossFunction == nil ? "miner" : band == nil ? "miner+loss" : "miner+loss, fused", name: name,
            parameters: parameters + (loss.map { ["--loss", $0] } ?? []), n: n, d: d,
            medianMs: timing.median, minMs: timing.min, runs: timing.runs, blas: Timing.backendLine())))
    }
}
