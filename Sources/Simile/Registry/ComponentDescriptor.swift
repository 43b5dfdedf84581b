/// Everything the outside world knows about a component without constructing it: its name,
/// what it does, its formula and its typed parameters. `simile list`, `simile describe`, the
/// docs and the registry's validation all read from this one value.
public struct ComponentDescriptor: Sendable {
    public let kind: ComponentKind
    /// kebab-case and unique within its kind, e.g. `multi-similarity`.
    public let name: String
    /// Other names that find this component (e.g. `infonce` for `nt-xent`).
    public let aliases: [String]
    /// One line.
    public let summary: String
    /// The formula, in plain Unicode text.
    public let formula: String
    /// When to use it, quirks, deviations from PML.
    public let discussion: String
    /// Where it comes from: the paper and, where there is one, the PML class it matches.
    public let reference: String
    public let parameters: [ParameterSpec]
    /// Parameter lists (command-line form) that must construct and run; tests try every one.
    public let examples: [[String]]

    public init(kind: ComponentKind, name: String, aliases: [String] = [], summary: String, formula: String = "",
                discussion: String = "", reference: String = "", parameters: [ParameterSpec] = [],
                examples: [[String]] = []) {
        self.kind = kind
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.formula = formula
        self.discussion = discussion
        self.reference = reference
        self.parameters = parameters
        self.examples = examples
    }

    public func parameter(named name: String) -> ParameterSpec? {
        parameters.first { $0.name == name }
    }

    /// Problems with the descriptor itself (bad names, bad defaults), all of them.
    func declarationProblems() -> [String] {
        var problems: [String] = []
        func isKebab(_ text: String) -> Bool {
            text.first.map { $0.isLetter && $0.isLowercase } == true
                && text.allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "-" }
                && !text.hasSuffix("-") && !text.contains("--")
        }
        if !isKebab(name) { problems.append("name '\(name)' is not kebab-case") }
        for alias in aliases where !isKebab(alias) { problems.append("alias '\(alias)' is not kebab-case") }
        if summary.isEmpty { problems.append("'\(name)' has no summary") }
        var seen = Set<String>()
        for parameter in parameters {
            if !isKebab(parameter.name) { problems.append("parameter '\(parameter.name)' is not kebab-case") }
            if !seen.insert(parameter.name).inserted { problems.append("parameter '\(parameter.name)' is declared twice") }
            if parameter.doc.isEmpty { problems.append("parameter '\(parameter.name)' has no doc") }
            if case let .value(value) = parameter.defaultValue,
               let problem = ArgumentResolver.check(value, against: parameter) {
                problems.append("default of '\(parameter.name)': \(problem)")
            }
        }
        return problems
    }
}
