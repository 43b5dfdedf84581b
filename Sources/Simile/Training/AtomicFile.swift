import Foundation

/// Files that are either wholly written or not at all: the bytes go to a temporary file in the same
/// folder, which is then renamed over the destination. A run killed mid-write leaves the previous
/// file intact.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw SimileError.invalidInput("cannot write '\(url.path)': \(error.localizedDescription)")
        }
    }

    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Encodes a value as sorted, indented JSON and writes it atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try write(try encoder.encode(value), to: url)
    }

    /// Reads a JSON file into a value, with an error that names the file.
    public static func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SimileError.invalidInput("cannot read '\(url.path)': no such file")
        }
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return try decoder.decode(T.self, from: data)
        } catch {
            throw SimileError.invalidInput("'\(url.path)' is not a valid \(T.self) file: \(error)")
        }
    }
}
