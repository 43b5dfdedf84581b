/// The type of a parameter.
public enum ParameterType: Sendable, Equatable, CustomStringConvertible {
    case int
    case double
    case bool
    /// One word out of a fixed list.
    case choice([String])
    /// An integer or one of the listed words (e.g. `triplets-per-anchor`: a count or `all`).
    case intOrChoice([String])
    /// A list of numbers, written `[1, 2.5, 3]`.
    case doubles
    /// A component of the given kind, written `name` or `name(key=value, ...)`.
    case component(ComponentKind)
    /// A list of components of the given kind, written `[name, name(key=value), ...]` (e.g. a chain of miners).
    case components(ComponentKind)
    /// A free word, e.g. a data column's name.
    case string
    /// A list of free words, written `[sex, qt-bucket]`.
    case strings

    public var description: String {
        switch self {
        case .int: "int"
        case .double: "double"
        case .bool: "bool"
        case let .choice(words): words.joined(separator: "|")
        case let .intOrChoice(words): (["int"] + words).joined(separator: "|")
        case .doubles: "[double]"
        case let .component(kind): kind.singular
        case let .components(kind): "[\(kind.singular)]"
        case .string: "string"
        case .strings: "[string]"
        }
    }
}

/// What happens when a parameter is not given.
public enum ParameterDefault: Sendable, Equatable {
    /// This value is used.
    case value(ParameterValue)
    /// The parameter must be given.
    case required
    /// The parameter stays unset, and the text says what that means (e.g. "1 + margin/2").
    case unset(String)
}

/// One typed, documented parameter of a component: the unit from which construction, validation,
/// `simile describe`, the docs and (later) shell completion are all generated.
public struct ParameterSpec: Sendable, Equatable {
    /// kebab-case, e.g. `pos-margin` (PML's name with hyphens).
    public let name: String
    public let type: ParameterType
    public let defaultValue: ParameterDefault
    /// For numbers (and each element of a number list); nil means any finite value.
    public let range: ValueRange?
    /// One line: what it does, with its unit (degrees, radians, ...) where it has one.
    public let doc: String

    public init(_ name: String, _ type: ParameterType, default defaultValue: ParameterDefault,
                range: ValueRange? = nil, doc: String) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.range = range
        self.doc = doc
    }

    public static func double(_ name: String, _ value: Double?, range: ValueRange? = nil, doc: String) -> ParameterSpec {
        ParameterSpec(name, .double, default: value.map { .value(.double($0)) } ?? .required, range: range, doc: doc)
    }

    public static func int(_ name: String, _ value: Int?, range: ValueRange? = nil, doc: String) -> ParameterSpec {
        ParameterSpec(name, .int, default: value.map { .value(.int($0)) } ?? .required, range: range, doc: doc)
    }

    public static func bool(_ name: String, _ value: Bool, doc: String) -> ParameterSpec {
        ParameterSpec(name, .bool, default: .value(.bool(value)), doc: doc)
    }

    /// A free-text parameter (a column name); nil makes it optional and unset by default, meaning `unsetMeaning`.
    public static func string(_ name: String, _ value: String?, unsetMeaning: String = "none", doc: String)
        -> ParameterSpec {
        ParameterSpec(name, .string, default: value.map { .value(.string($0)) } ?? .unset(unsetMeaning), doc: doc)
    }

    /// A distance parameter with the given default (e.g. `"cosine"`, `"lp(power=2)"`).
    public static func distance(default text: String, doc: String = "how pairs are compared") -> ParameterSpec {
        ParameterSpec("distance", .component(.distance), default: .value(.component(ComponentSpec(literal: text))),
                      doc: doc)
    }

    /// A reducer parameter with the given default (e.g. `"avg-non-zero"`).
    public static func reducer(default text: String, doc: String = "how per-element losses become one number")
        -> ParameterSpec {
        ParameterSpec("reducer", .component(.reducer), default: .value(.component(ComponentSpec(literal: text))),
                      doc: doc)
    }

    /// The default as text, for `describe` and the docs.
    public var defaultDescription: String {
        switch defaultValue {
        case let .value(value): return value.description
        case .required: return "required"
        case let .unset(meaning): return "unset (\(meaning))"
        }
    }
}
