import ArgumentParser
import Foundation
import Simile

/// `simile`: inspect components, compute losses on JSON input, and benchmark.
@main
struct SimileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simile",
        abstract: "Deep metric learning: losses, distances and reducers, with analytic gradients.",
        discussion: """
            Components are named in kebab-case and take key=value parameters, e.g.
              simile compute loss multi-similarity alpha=2 'distance=lp(power=2)' --input batch.json
            """,
        version: "0.1.0",
        subcommands: [ListCommand.self, DescribeCommand.self, ComputeCommand.self, BenchCommand.self, DocsCommand.self,
                      SampleCommand.self, DataCommand.self, EvaluateCommand.self, TrainCommand.self, EmbedCommand.self])

    /// Runs the command; user errors go to stderr with exit code 2, never as a stack trace.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SimileError {
            Console.error(error.description)
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit {
                exit(withError: error)
            }
            Console.error(fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

enum Console {
    /// A line on standard error as it is (warnings and notes).
    static func line(_ text: String) {
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static func error(_ message: String) {
        var text = message.hasPrefix("error:") || message.hasPrefix("Error:") ? message : "error: " + message
        if !text.hasSuffix("\n") { text += "\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Reads a file, or standard input for "-".
    static func read(_ path: String) throws -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        guard FileManager.default.fileExists(atPath: path) else {
            throw SimileError.invalidInput("cannot read '\(path)': no such file")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SimileError.invalidInput("cannot read '\(path)': \(error.localizedDescription)")
        }
    }

    /// Writes to a file atomically (temporary file, then rename), or to standard output for nil or "-".
    static func write(_ text: String, to path: String?, trailingNewline: Bool = true) throws {
        guard let path, path != "-" else {
            print(text, terminator: trailingNewline ? "\n" : "")
            return
        }
        do {
            try Data((trailingNewline ? text + "\n" : text).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SimileError.invalidInput("cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
