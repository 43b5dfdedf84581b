import ArgumentParser
import Foundation
import Simile

struct ComputeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Run one component on JSON input.",
        subcommands: [ComputeLossCommand.self, ComputeMinerCommand.self, ComputeRegularizerCommand.self])
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

    @Option(help: "A JSON file with the expected \"loss\" and \"gradient\" (e.g. from PML): report the relative differences, and fail if they exceed --tolerance.")
    var expect: String?

    @Option(help: "Largest relative difference --expect accepts (value: |Δ|/|v|; gradient: max|Δ|/max|g|).")
    var tolerance: Double = 1e-4

    func run() throws {
        let loss = try Registry.builtin.loss(name, parameters)
        let request = try LossRequest.decode(try Console.read(input), source: input)
        let text: String
        let value: Double, gradient: [[Double]]
        switch precision {
        case .float:
            let output = try request.evaluate(loss, as: Float.self)
            text = try Console.json(LossResponse(output))
            (value, gradient) = (output.value, output.gradient.nestedRows.map { $0.map(Double.init) })
        case .double:
            let output = try request.evaluate(loss, as: Double.self)
            text = try Console.json(LossResponse(output))
            (value, gradient) = (output.value, output.gradient.nestedRows)
        }
        try Console.write(text, to: output)
        if let expect { try compare(value, gradient, with: expect) }
    }

    struct Expected: Decodable {
        let loss: Double
        let gradient: [[Double]]?
    }

    /// Prints how far the result is from an expected one, and fails beyond the tolerance.
    private func compare(_ value: Double, _ gradient: [[Double]], with path: String) throws {
        let expected = try JSONInput.decode(Expected.self, from: try Console.read(path), source: path)
        let valueError = abs(value - expected.loss) / max(abs(expected.loss), 1e-12)
        var report = "compared with \(path): loss \(value) vs \(expected.loss), relative difference \(String(format: "%.1e", valueError))"
        var gradientError = 0.0
        if let expectedGradient = expected.gradient {
            guard expectedGradient.count == gradient.count,
                  zip(expectedGradient, gradient).allSatisfy({ $0.count == $1.count }) else {
                throw SimileError.shapeMismatch("the gradient in \(path) does not have the shape of the result")
            }
            let scale = max(expectedGradient.joined().map(abs).max() ?? 0, 1e-12)
            let worst = zip(expectedGradient.joined(), gradient.joined()).map { abs($0 - $1) }.max() ?? 0
            gradientError = worst / scale
            report += "; gradient max difference / max |g| \(String(format: "%.1e", gradientError))"
        }
        FileHandle.standardError.write(Data((report + "\n").utf8))
        guard valueError <= tolerance, gradientError <= tolerance else {
            throw SimileError.numericalFailure(component: name, message: "differs from \(path) by more than the tolerance \(tolerance)")
        }
    }
}
