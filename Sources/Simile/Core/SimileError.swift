/// Every error Simile throws. Each one names the offending thing and, where it can, says how to fix it.
///
/// `description` is the full message meant for a person; the cases carry the facts so that code
/// (and tests) can match on them.
public enum SimileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A component name that no registry entry has.
    case unknownComponent(kind: ComponentKind, name: String, suggestion: String?)
    /// A parameter that the component's schema does not declare.
    case unknownParameter(component: String, parameter: String, suggestion: String?, valid: [String])
    /// A required parameter (one without a default) was not given.
    case missingParameter(component: String, parameter: String, doc: String)
    /// A value that cannot be read as the parameter's type.
    case invalidParameterValue(component: String, parameter: String, value: String, expected: String)
    /// A value of the right type outside the parameter's range.
    case parameterOutOfRange(component: String, parameter: String, value: String, range: String)
    /// Several parameter problems, reported together.
    case invalidParameters([SimileError])
    /// A component or parameter text that does not parse, with the position (0-based) of the problem.
    case syntax(text: String, position: Int, message: String)
    /// Two components, or a component and its parameters, that cannot work together.
    case incompatible(String)
    /// NaN or infinity in an input.
    case nonFinite(input: String, row: Int, column: Int, value: Double)
    /// Inputs whose shapes do not agree.
    case shapeMismatch(String)
    /// An input with no rows or no columns.
    case empty(String)
    /// Mined tuples that do not fit the batch.
    case invalidTuples(String)
    /// A component asked to do something it does not support (reference embeddings, tuples, ...).
    case unsupported(component: String, message: String)
    /// Two registrations under one name.
    case duplicateRegistration(kind: ComponentKind, name: String)
    /// No BLAS library could be loaded.
    case blasUnavailable(String)
    /// A computation produced NaN or infinity from finite inputs.
    case numericalFailure(component: String, message: String)
    /// Any other bad input, with a full message.
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .unknownComponent(kind, name, suggestion):
            var text = "unknown \(kind.singular) '\(name)'"
            if let suggestion { text += "; did you mean '\(suggestion)'?" }
            text += " (run `simile list \(kind.plural)` to see them all)"
            return text
        case let .unknownParameter(component, parameter, suggestion, valid):
            var text = "'\(component)' has no parameter '\(parameter)'"
            if let suggestion {
                text += "; did you mean '\(suggestion)'?"
            } else if valid.isEmpty {
                text += "; it takes no parameters"
            } else {
                text += "; its parameters are \(valid.map { "'\($0)'" }.joined(separator: ", "))"
            }
            return text
        case let .missingParameter(component, parameter, doc):
            return "'\(component)' needs a value for '\(parameter)' (\(doc)); pass \(parameter)=VALUE"
        case let .invalidParameterValue(component, parameter, value, expected):
            return "'\(component)': \(parameter)=\(value) is not \(expected)"
        case let .parameterOutOfRange(component, parameter, value, range):
            return "'\(component)': \(parameter)=\(value) is out of range; it must be \(range)"
        case let .invalidParameters(errors):
            return errors.map(\.description).joined(separator: "\n")
        case let .syntax(text, position, message):
            let caret = String(repeating: " ", count: max(0, position)) + "^"
            return "\(message) at position \(position + 1) in '\(text)'\n  \(text)\n  \(caret)"
        case let .incompatible(message):
            return message
        case let .nonFinite(input, row, column, value):
            return "\(input) row \(row), column \(column) is \(value) (NaN or infinite); remove or repair that row"
        case let .shapeMismatch(message):
            return message
        case let .empty(message):
            return message
        case let .invalidTuples(message):
            return "invalid tuples: \(message)"
        case let .unsupported(component, message):
            return "'\(component)' \(message)"
        case let .duplicateRegistration(kind, name):
            return "a \(kind.singular) named '\(name)' is already registered; choose another name"
        case let .blasUnavailable(message):
            return message
        case let .numericalFailure(component, message):
            return "'\(component)' \(message)"
        case let .invalidInput(message):
            return message
        }
    }
}
