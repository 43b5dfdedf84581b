/// A component named in text, before its parameters are checked: `lp`, `lp(power=2)`,
/// `per-anchor(reducer=threshold(low=0.1))`.
///
/// This is the syntax of parameter values on the command line (`distance=lp(power=2)`) and,
/// later, of pipeline files. `description` prints a spec back in the same syntax.
public struct ComponentSpec: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var arguments: [Argument]

    /// `key=value`, with the value not yet typed.
    public struct Argument: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var value: RawValue
        public init(key: String, value: RawValue) {
            self.key = key
            self.value = value
        }
        public var description: String { "\(key)=\(value)" }
    }

    /// An argument's value as written: a word (number, bool, choice, name), a list, or a call.
    public indirect enum RawValue: Sendable, Equatable, CustomStringConvertible {
        case word(String)
        case list([RawValue])
        case call(ComponentSpec)

        public var description: String {
            switch self {
            case let .word(word): word
            case let .list(items): "[" + items.map(\.description).joined(separator: ", ") + "]"
            case let .call(spec): spec.description
            }
        }
    }

    public init(name: String, arguments: [Argument] = []) {
        self.name = name
        self.arguments = arguments
    }

    /// Parses `name` or `name(key=value, ...)`.
    public init(_ text: String) throws {
        var parser = SpecParser(text)
        self = try parser.parseWholeSpec()
    }

    /// Parses a spec written in Simile's own source (a default value); a typo there is a bug.
    init(literal text: String) {
        do {
            try self.init(text)
        } catch {
            preconditionFailure("invalid component literal '\(text)': \(error)")
        }
    }

    /// Parses command-line words of the form `key=value` (the value may be a spec or a list).
    public static func arguments(fromCommandLine words: [String]) throws -> [Argument] {
        try words.map { word in
            var parser = SpecParser(word)
            return try parser.parseWholeArgument()
        }
    }

    public var description: String {
        arguments.isEmpty ? name : name + "(" + arguments.map(\.description).joined(separator: ", ") + ")"
    }
}

/// A small recursive-descent parser for component specs. Errors carry the position.
struct SpecParser {
    private let text: String
    private let characters: [Character]
    private var position = 0

    init(_ text: String) {
        self.text = text
        characters = Array(text)
    }

    mutating func parseWholeSpec() throws -> ComponentSpec {
        skipSpaces()
        let spec = try parseSpec()
        try expectEnd()
        return spec
    }

    mutating func parseWholeArgument() throws -> ComponentSpec.Argument {
        skipSpaces()
        let argument = try parseArgument()
        try expectEnd()
        return argument
    }

    private mutating func parseSpec() throws -> ComponentSpec {
        let start = position
        let name = try parseWord(what: "a component name")
        try checkName(name, at: start, what: "component name")
        skipSpaces()
        guard peek == "(" else { return ComponentSpec(name: name) }
        position += 1
        var arguments: [ComponentSpec.Argument] = []
        skipSpaces()
        if peek == ")" {
            position += 1
            return ComponentSpec(name: name)
        }
        while true {
            skipSpaces()
            arguments.append(try parseArgument())
            skipSpaces()
            if peek == "," {
                position += 1
                continue
            }
            if peek == ")" {
                position += 1
                return ComponentSpec(name: name, arguments: arguments)
            }
            throw error(peek == nil ? "missing ')'" : "expected ',' or ')'")
        }
    }

    private mutating func parseArgument() throws -> ComponentSpec.Argument {
        let start = position
        let key = try parseWord(what: "a parameter name")
        try checkName(key, at: start, what: "parameter name")
        skipSpaces()
        guard peek == "=" else { throw error("expected '=' after '\(key)' (write \(key)=VALUE)") }
        position += 1
        skipSpaces()
        return ComponentSpec.Argument(key: key, value: try parseValue())
    }

    private mutating func parseValue() throws -> ComponentSpec.RawValue {
        if peek == "[" {
            position += 1
            var items: [ComponentSpec.RawValue] = []
            skipSpaces()
            if peek == "]" {
                position += 1
                return .list(items)
            }
            while true {
                skipSpaces()
                items.append(try parseValue())
                skipSpaces()
                if peek == "," {
                    position += 1
                    continue
                }
                if peek == "]" {
                    position += 1
                    return .list(items)
                }
                throw error(peek == nil ? "missing ']'" : "expected ',' or ']'")
            }
        }
        let start = position
        let word = try parseWord(what: "a value")
        skipSpaces()
        if peek == "(" {
            position = start
            return .call(try parseSpec())
        }
        return .word(word)
    }

    private mutating func parseWord(what: String) throws -> String {
        let start = position
        while let c = peek, !"()[]=, \t\n".contains(c) { position += 1 }
        guard position > start else { throw error("expected \(what)") }
        return String(characters[start..<position])
    }

    private func checkName(_ name: String, at start: Int, what: String) throws {
        let valid = name.first.map { $0.isLetter } == true
            && name.allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "-" }
        guard valid else {
            let kebab = String(name.map { $0 == "_" ? "-" : $0 }).lowercased()
            throw SimileError.syntax(
                text: text, position: start,
                message: "'\(name)' is not a valid \(what) (names are lowercase kebab-case, e.g. '\(kebab)')")
        }
    }

    private var peek: Character? { position < characters.count ? characters[position] : nil }

    private mutating func skipSpaces() {
        while let c = peek, c == " " || c == "\t" || c == "\n" { position += 1 }
    }

    private mutating func expectEnd() throws {
        skipSpaces()
        if position < characters.count { throw error("unexpected '\(characters[position])'") }
    }

    private func error(_ message: String) -> SimileError {
        .syntax(text: text, position: position, message: message)
    }
}
