/// A typed parameter value after it has been checked against its `ParameterSpec`.
public indirect enum ParameterValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case bool(Bool)
    /// One of a parameter's named choices (e.g. `all` for `triplets-per-anchor`).
    case choice(String)
    case doubles([Double])
    /// A nested component, e.g. `lp(power=2)` for `distance`.
    case component(ComponentSpec)
    /// A list of nested components, e.g. `[batch-all, triplet-margin(type-of-triplets=hard)]`.
    case components([ComponentSpec])
    /// A free word (a column name).
    case string(String)
    /// A list of free words.
    case strings([String])

    /// The value in the text form that `ComponentSpec` parses back.
    public var description: String {
        switch self {
        case let .int(value): return String(value)
        case let .double(value): return ParameterValue.format(value)
        case let .bool(value): return value ? "true" : "false"
        case let .choice(value): return value
        case let .doubles(values): return "[" + values.map(ParameterValue.format).joined(separator: ", ") + "]"
        case let .component(spec): return spec.description
        case let .components(specs): return "[" + specs.map(\.description).joined(separator: ", ") + "]"
        case let .string(word): return word
        case let .strings(words): return "[" + words.joined(separator: ", ") + "]"
        }
    }

    /// Shortest text that reads back as the same Double.
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}
