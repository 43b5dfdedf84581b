import Foundation

/// A CSV file split into a header and records of text fields, each record remembering the line it
/// starts on, so that every later error can name the line and the column.
///
/// The dialect is RFC 4180 with the usual liberties: fields are separated by commas; a field in
/// double quotes may hold commas, line breaks and doubled quotes (`""`); unquoted fields are trimmed
/// of surrounding spaces and tabs; CRLF and LF line ends are both accepted; a UTF-8 byte-order mark
/// and blank lines are skipped.
public struct CSVTable: Sendable, Equatable {
    /// The file name (or "input"), for messages.
    public let source: String
    /// The column names of the first line.
    public let header: [String]
    /// The data records, each with exactly `header.count` fields.
    public let records: [[String]]
    /// The 1-based line on which each record starts (the header is line 1).
    public let lines: [Int]

    /// Parses CSV text. Throws, naming the line and column, for an empty file, an unnamed or
    /// duplicated column, a record with the wrong number of fields, or an unterminated quote.
    public init(text: String, source: String = "input") throws {
        self.source = source
        var parser = CSVParser(bytes: Array(text.utf8), source: source)
        guard let (headerFields, _) = try parser.nextRecord() else {
            throw SimileError.empty("\(source) is empty: expected a header line naming the columns")
        }
        var names: [String] = []
        var firstIndex: [String: Int] = [:]
        for (index, name) in headerFields.enumerated() {
            guard !name.isEmpty else {
                throw SimileError.invalidInput("\(source) line 1, column \(index + 1): the column has no name")
            }
            if let earlier = firstIndex[name] {
                throw SimileError.invalidInput(
                    "\(source) line 1, column \(index + 1): the column name '\(name)' appears twice (columns \(earlier + 1) and \(index + 1)); rename one")
            }
            firstIndex[name] = index
            names.append(name)
        }
        var records: [[String]] = []
        var lines: [Int] = []
        while let (fields, line) = try parser.nextRecord() {
            guard fields.count == names.count else {
                let detail = fields.count < names.count
                    ? "column \(fields.count + 1) ('\(names[fields.count])') onwards is missing"
                    : "column \(names.count + 1) is beyond the last named column ('\(names[names.count - 1])')"
                throw SimileError.shapeMismatch(
                    "\(source) line \(line): \(fields.count) fields but the header has \(names.count) columns; \(detail)")
            }
            records.append(fields)
            lines.append(line)
        }
        guard !records.isEmpty else {
            throw SimileError.empty("\(source) has a header but no data rows")
        }
        header = names
        self.records = records
        self.lines = lines
    }

    /// Reads and parses a file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SimileError.invalidInput("cannot read '\(url.path)': \(error.localizedDescription)")
        }
        try self.init(text: String(decoding: data, as: UTF8.self), source: url.lastPathComponent)
    }

    /// The index of a column, or an error with the closest name ("did you mean").
    public func columnIndex(_ name: String, role: String = "column") throws -> Int {
        if let index = header.firstIndex(of: name) { return index }
        let folded = header.filter { Suggestions.fold($0) == Suggestions.fold(name) }
        if folded.count == 1, let index = header.firstIndex(of: folded[0]) { return index }
        var message = "\(source) has no \(role) '\(name)'"
        if let suggestion = Suggestions.closest(to: name, among: header) { message += "; did you mean '\(suggestion)'?" }
        message += " (its columns are \(header.map { "'\($0)'" }.joined(separator: ", ")))"
        throw SimileError.invalidInput(message)
    }

    /// Text of a CSV file from a header and rows, quoting the fields that need it.
    public static func render(header: [String], rows: [[String]]) -> String {
        var out = header.map(quote).joined(separator: ",") + "\n"
        for row in rows { out += row.map(quote).joined(separator: ",") + "\n" }
        return out
    }

    /// A field as CSV writes it: quoted when it holds a comma, quote, line break or edge space.
    public static func quote(_ field: String) -> String {
        let needsQuotes = field.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            || field.first == " " || field.last == " "
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Splits CSV bytes into records.
struct CSVParser {
    private let bytes: [UInt8]
    private let source: String
    private var position = 0
    private var line = 1

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    private static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"),
                       carriageReturn = UInt8(ascii: "\r"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    /// The next non-blank record and the line it starts on, or nil at the end.
    mutating func nextRecord() throws -> ([String], Int)? {
        // Skip blank lines.
        while position < bytes.count {
            if bytes[position] == Self.newline {
                line += 1
                position += 1
            } else if bytes[position] == Self.carriageReturn {
                position += 1
            } else {
                break
            }
        }
        guard position < bytes.count else { return nil }
        let start = line
        var fields: [String] = []
        while true {
            let (field, ended) = try nextField(recordLine: start, column: fields.count + 1)
            fields.append(field)
            if ended { return (fields, start) }
        }
    }

    /// One field; `ended` is true when it closes its record.
    private mutating func nextField(recordLine: Int, column: Int) throws -> (String, ended: Bool) {
        // Leading spaces of an unquoted field are dropped; before a quote they are allowed too.
        var cursor = position
        while cursor < bytes.count, bytes[cursor] == Self.space || bytes[cursor] == Self.tab { cursor += 1 }
        if cursor < bytes.count, bytes[cursor] == Self.quote {
            position = cursor + 1
            let quoteLine = line
            var value: [UInt8] = []
            while true {
                guard position < bytes.count else {
                    throw SimileError.invalidInput(
                        "\(source) line \(quoteLine), column \(column): the quoted field is never closed (a '\"' is missing)")
                }
                let byte = bytes[position]
                if byte == Self.quote {
                    if position + 1 < bytes.count, bytes[position + 1] == Self.quote {
                        value.append(Self.quote)
                        position += 2
                        continue
                    }
                    position += 1
                    break
                }
                if byte == Self.newline { line += 1 }
                value.append(byte)
                position += 1
            }
            while position < bytes.count, bytes[position] == Self.space || bytes[position] == Self.tab { position += 1 }
            let text = String(decoding: value, as: UTF8.self)
            return (text, try endOfField(recordLine: recordLine, column: column, afterQuote: true))
        }
        let start = position
        while position < bytes.count, bytes[position] != Self.comma, bytes[position] != Self.newline,
              bytes[position] != Self.carriageReturn {
            position += 1
        }
        var end = position
        var first = start
        while first < end, bytes[first] == Self.space || bytes[first] == Self.tab { first += 1 }
        while end > first, bytes[end - 1] == Self.space || bytes[end - 1] == Self.tab { end -= 1 }
        let text = String(decoding: bytes[first..<end], as: UTF8.self)
        return (text, try endOfField(recordLine: recordLine, column: column, afterQuote: false))
    }

    /// Consumes the separator after a field; true at the end of a record.
    private mutating func endOfField(recordLine: Int, column: Int, afterQuote: Bool) throws -> Bool {
        guard position < bytes.count else { return true }
        switch bytes[position] {
        case Self.comma:
            position += 1
            return false
        case Self.carriageReturn:
            position += 1
            if position < bytes.count, bytes[position] == Self.newline {
                position += 1
            }
            line += 1
            return true
        case Self.newline:
            position += 1
            line += 1
            return true
        default:
            throw SimileError.invalidInput(
                "\(source) line \(line), column \(column): unexpected text after a closing quote (quote the whole field, and double any '\"' inside it)")
        }
    }
}
