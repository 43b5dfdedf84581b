/// A component's parameters after validation: every declared parameter has a value of its
/// declared type, in range (or is an unset optional). Components read them by name.
public struct Arguments: Sendable {
    /// The component these belong to.
    public let component: String
    /// The registry that builds nested components (`distance=...`, `reducer=...`).
    public let registry: Registry
    private let values: [String: ParameterValue]
    private let specs: [ParameterSpec]

    init(component: String, specs: [ParameterSpec], values: [String: ParameterValue], registry: Registry) {
        self.component = component
        self.specs = specs
        self.values = values
        self.registry = registry
    }

    /// Whether the parameter has a value (false only for unset optionals).
    public func isSet(_ name: String) throws -> Bool {
        _ = try spec(name)
        return values[name] != nil
    }

    public func double(_ name: String) throws -> Double {
        guard let value = try optionalDouble(name) else { throw unset(name) }
        return value
    }

    public func optionalDouble(_ name: String) throws -> Double? {
        switch try value(name) {
        case nil: return nil
        case let .double(value)?: return value
        case let .int(value)?: return Double(value)
        default: throw misread(name, as: "double")
        }
    }

    public func int(_ name: String) throws -> Int {
        guard let value = try optionalInt(name) else { throw unset(name) }
        return value
    }

    public func optionalInt(_ name: String) throws -> Int? {
        switch try value(name) {
        case nil: return nil
        case let .int(value)?: return value
        default: throw misread(name, as: "int")
        }
    }

    public func bool(_ name: String) throws -> Bool {
        guard case let .bool(value)? = try value(name) else { throw misread(name, as: "bool") }
        return value
    }

    /// A choice parameter's word.
    public func choice(_ name: String) throws -> String {
        guard case let .choice(value)? = try value(name) else { throw misread(name, as: "choice") }
        return value
    }

    /// An int-or-choice parameter.
    public func intOrChoice(_ name: String) throws -> IntOrChoice {
        switch try value(name) {
        case let .int(value)?: return .int(value)
        case let .choice(value)?: return .choice(value)
        default: throw misread(name, as: "int or choice")
        }
    }

    public func doubles(_ name: String) throws -> [Double] {
        guard let value = try optionalDoubles(name) else { throw unset(name) }
        return value
    }

    public func optionalDoubles(_ name: String) throws -> [Double]? {
        switch try value(name) {
        case nil: return nil
        case let .doubles(values)?: return values
        default: throw misread(name, as: "list of doubles")
        }
    }

    public func string(_ name: String) throws -> String {
        guard let value = try optionalString(name) else { throw unset(name) }
        return value
    }

    public func optionalString(_ name: String) throws -> String? {
        switch try value(name) {
        case nil: return nil
        case let .string(value)?: return value
        default: throw misread(name, as: "string")
        }
    }

    /// A list-of-words parameter; an unset one reads as empty.
    public func strings(_ name: String) throws -> [String] {
        switch try value(name) {
        case nil: return []
        case let .strings(values)?: return values
        default: throw misread(name, as: "list of strings")
        }
    }

    /// The nested component specs of a list-of-components parameter; an unset one reads as empty.
    public func componentSpecs(_ name: String) throws -> [ComponentSpec] {
        switch try value(name) {
        case nil: return []
        case let .components(specs)?: return specs
        default: throw misread(name, as: "list of components")
        }
    }

    /// The nested component spec of a component parameter.
    public func componentSpec(_ name: String) throws -> ComponentSpec {
        guard case let .component(spec)? = try value(name) else { throw misread(name, as: "component") }
        return spec
    }

    /// Builds the distance named by a parameter (default name `distance`).
    public func distance(_ name: String = "distance") throws -> any Distance {
        try registry.distance(componentSpec(name))
    }

    /// Builds the reducer named by a parameter (default name `reducer`).
    public func reducer(_ name: String = "reducer") throws -> any Reducer {
        try registry.reducer(componentSpec(name))
    }

    /// Builds the loss named by a component parameter.
    public func loss(_ name: String) throws -> any Loss {
        try registry.loss(componentSpec(name))
    }

    /// Builds the miner named by a component parameter.
    public func miner(_ name: String) throws -> any Miner {
        try registry.miner(componentSpec(name))
    }

    /// Builds the miners named by a list-of-components parameter, in order.
    public func miners(_ name: String) throws -> [any Miner] {
        try componentSpecs(name).map { try registry.miner($0) }
    }

    /// Builds the regularizer named by a component parameter.
    public func regularizer(_ name: String) throws -> any Regularizer {
        try registry.regularizer(componentSpec(name))
    }

    /// Every parameter with its value, in declaration order, as `name(key=value, ...)`.
    public var canonicalSpec: ComponentSpec {
        ComponentSpec(name: component, arguments: specs.compactMap { spec in
            values[spec.name].map { ComponentSpec.Argument(key: spec.name, value: $0.rawValue) }
        })
    }

    private func spec(_ name: String) throws -> ParameterSpec {
        guard let spec = specs.first(where: { $0.name == name }) else {
            throw SimileError.invalidInput("internal error: '\(component)' read undeclared parameter '\(name)'")
        }
        return spec
    }

    private func value(_ name: String) throws -> ParameterValue? {
        _ = try spec(name)
        return values[name]
    }

    private func unset(_ name: String) -> SimileError {
        .missingParameter(component: component, parameter: name, doc: specs.first { $0.name == name }?.doc ?? "")
    }

    private func misread(_ name: String, as type: String) -> SimileError {
        .invalidInput("internal error: '\(component)' read parameter '\(name)' as \(type)")
    }
}

/// The value of an int-or-choice parameter.
public enum IntOrChoice: Sendable, Equatable {
    case int(Int)
    case choice(String)
}

extension ParameterValue {
    /// The value as unparsed text again (used to print canonical specs).
    var rawValue: ComponentSpec.RawValue {
        switch self {
        case let .doubles(values): return .list(values.map { .word(ParameterValue.format($0)) })
        case let .component(spec): return spec.arguments.isEmpty ? .word(spec.name) : .call(spec)
        case let .components(specs): return .list(specs.map { $0.arguments.isEmpty ? .word($0.name) : .call($0) })
        case let .strings(words): return .list(words.map { .word($0) })
        default: return .word(description)
        }
    }
}

/// Checks raw arguments against a descriptor's parameters.
enum ArgumentResolver {
    static func resolve(_ given: [ComponentSpec.Argument], for descriptor: ComponentDescriptor,
                        registry: Registry) throws -> Arguments {
        var values: [String: ParameterValue] = [:]
        var errors: [SimileError] = []
        let names = descriptor.parameters.map(\.name)
        var seen = Set<String>()
        for argument in given {
            guard let spec = descriptor.parameter(named: argument.key) else {
                errors.append(.unknownParameter(
                    component: descriptor.name, parameter: argument.key,
                    suggestion: Suggestions.closest(to: argument.key, among: names), valid: names))
                continue
            }
            guard seen.insert(argument.key).inserted else {
                errors.append(.invalidInput("'\(descriptor.name)': parameter '\(argument.key)' is given twice"))
                continue
            }
            do {
                values[spec.name] = try typed(argument.value, for: spec, component: descriptor.name)
            } catch let error as SimileError {
                errors.append(error)
            }
        }
        for spec in descriptor.parameters where values[spec.name] == nil {
            switch spec.defaultValue {
            case let .value(value): values[spec.name] = value
            case .required:
                if !given.contains(where: { $0.key == spec.name }) {
                    errors.append(.missingParameter(component: descriptor.name, parameter: spec.name, doc: spec.doc))
                }
            case .unset: break
            }
        }
        if errors.count == 1 { throw errors[0] }
        if errors.count > 1 { throw SimileError.invalidParameters(errors) }
        return Arguments(component: descriptor.name, specs: descriptor.parameters, values: values, registry: registry)
    }

    /// Reads a raw value as the parameter's type and checks its range.
    static func typed(_ raw: ComponentSpec.RawValue, for spec: ParameterSpec, component: String) throws
        -> ParameterValue {
        func invalid(_ expected: String) -> SimileError {
            .invalidParameterValue(component: component, parameter: spec.name, value: raw.description,
                                   expected: expected)
        }
        let value: ParameterValue
        switch (spec.type, raw) {
        case (.int, .word(let word)):
            guard let number = Int(word) else { throw invalid("an integer") }
            value = .int(number)
        case (.double, .word(let word)):
            guard let number = Double(word), number.isFinite else { throw invalid("a finite number") }
            value = .double(number)
        case (.bool, .word(let word)):
            switch word.lowercased() {
            case "true", "yes", "on", "1": value = .bool(true)
            case "false", "no", "off", "0": value = .bool(false)
            default: throw invalid("true or false")
            }
        case (.choice(let words), .word(let word)):
            guard words.contains(word) else { throw choiceError(word, words, spec, component) }
            value = .choice(word)
        case (.intOrChoice(let words), .word(let word)):
            if let number = Int(word) {
                value = .int(number)
            } else if words.contains(word) {
                value = .choice(word)
            } else {
                throw invalid("an integer or one of \(words.joined(separator: ", "))")
            }
        case (.doubles, .list(let items)):
            var numbers: [Double] = []
            for item in items {
                guard case let .word(word) = item, let number = Double(word), number.isFinite else {
                    throw invalid("a list of finite numbers, e.g. [1, 0.5]")
                }
                numbers.append(number)
            }
            value = .doubles(numbers)
        case (.doubles, .word(let word)):
            guard let number = Double(word), number.isFinite else { throw invalid("a list of numbers, e.g. [1, 0.5]") }
            value = .doubles([number])
        case (.component, .word(let word)):
            value = .component(ComponentSpec(name: word))
        case (.component, .call(let spec)):
            value = .component(spec)
        case (.component(let kind), .list):
            throw invalid("a \(kind.singular) name, e.g. name or name(key=value)")
        case (.components(let kind), .list(let items)):
            var specs: [ComponentSpec] = []
            for item in items {
                switch item {
                case let .word(word): specs.append(ComponentSpec(name: word))
                case let .call(spec): specs.append(spec)
                case .list: throw invalid("a list of \(kind.plural), e.g. [name, name(key=value)]")
                }
            }
            value = .components(specs)
        case (.components, .word(let word)):
            value = .components([ComponentSpec(name: word)])
        case (.components, .call(let spec)):
            value = .components([spec])
        case (.string, .word(let word)):
            value = .string(word)
        case (.strings, .list(let items)):
            var words: [String] = []
            for item in items {
                guard case let .word(word) = item else { throw invalid("a list of words, e.g. [sex, qt-bucket]") }
                words.append(word)
            }
            value = .strings(words)
        case (.strings, .word(let word)):
            value = .strings([word])
        default:
            throw invalid(spec.type.description == "double" ? "a number" : "of type \(spec.type)")
        }
        if let problem = check(value, against: spec) {
            throw SimileError.parameterOutOfRange(component: component, parameter: spec.name,
                                                  value: value.description, range: problem)
        }
        return value
    }

    /// nil if the value fits the spec's type and range, else the expected range as text.
    static func check(_ value: ParameterValue, against spec: ParameterSpec) -> String? {
        switch (spec.type, value) {
        case (.int, .int(let number)), (.intOrChoice, .int(let number)):
            if let range = spec.range, !range.contains(Double(number)) { return range.description }
        case (.double, .double(let number)):
            if let range = spec.range, !range.contains(number) { return range.description }
        case (.doubles, .doubles(let numbers)):
            if let range = spec.range, let bad = numbers.first(where: { !range.contains($0) }) {
                return "\(range.description) (got \(ParameterValue.format(bad)))"
            }
        case (.bool, .bool), (.component, .component), (.components, .components), (.string, .string),
             (.strings, .strings): break
        case (.choice(let words), .choice(let word)), (.intOrChoice(let words), .choice(let word)):
            if !words.contains(word) { return "one of \(words.joined(separator: ", "))" }
        default:
            return "of type \(spec.type)"
        }
        return nil
    }

    private static func choiceError(_ word: String, _ words: [String], _ spec: ParameterSpec,
                                    _ component: String) -> SimileError {
        var expected = "one of \(words.joined(separator: ", "))"
        if let suggestion = Suggestions.closest(to: word, among: words) { expected += "; did you mean '\(suggestion)'?" }
        return .invalidParameterValue(component: component, parameter: spec.name, value: word, expected: expected)
    }
}
