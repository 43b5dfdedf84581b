/// The typed parameters of a setting written `name(key=value, ...)` that is not a registry
/// component: the embedding model (`mlp(...)`), an optimizer (`adamw(...)`), a learning-rate
/// schedule (`cosine(...)`), gradient clipping. The text has the same syntax, and is checked
/// with the same rules and messages (unknown keys with suggestions, types, ranges, all problems
/// at once), as a component's; the parameter table in the docs is generated from it.
public struct SettingsSchema: Sendable {
    /// kebab-case, e.g. `adamw`.
    public let name: String
    /// One line.
    public let summary: String
    public let parameters: [ParameterSpec]

    public init(name: String, summary: String, parameters: [ParameterSpec]) {
        self.name = name
        self.summary = summary
        self.parameters = parameters
    }

    /// Checks a spec's arguments against the parameters and fills in defaults.
    public func resolve(_ spec: ComponentSpec) throws -> Arguments {
        guard spec.name == name else {
            throw SimileError.invalidInput("expected '\(name)(...)' but found '\(spec.name)'")
        }
        return try ArgumentResolver.resolve(spec.arguments, for: descriptor, registry: .builtin)
    }

    /// The schema as a descriptor, which is what the argument checks read (the kind is never used:
    /// these settings are not registered).
    var descriptor: ComponentDescriptor {
        ComponentDescriptor(kind: .loss, name: name, summary: summary, parameters: parameters)
    }

    /// Problems with the declaration itself (names, defaults), as the registry checks components.
    public var declarationProblems: [String] { descriptor.declarationProblems() }

    /// A Markdown table of the parameters (for docs/training.md; a test keeps it in step).
    public var markdownTable: String {
        var out = "| parameter | type | default | range | meaning |\n|---|---|---|---|---|\n"
        for p in parameters {
            out += "| `\(p.name)` | \(Self.escape(p.type.description)) | `\(p.defaultDescription)` | "
                + "\(p.range.map { Self.escape($0.description) } ?? "") | \(Self.escape(p.doc)) |\n"
        }
        return out
    }

    /// Finds the schema a spec names among several (e.g. the optimizers), or says which exist.
    static func select(_ spec: ComponentSpec, among schemas: [SettingsSchema], what: String) throws -> SettingsSchema {
        if let schema = schemas.first(where: { $0.name == spec.name }) { return schema }
        let names = schemas.map(\.name)
        var message = "unknown \(what) '\(spec.name)'"
        if let suggestion = Suggestions.closest(to: spec.name, among: names) { message += "; did you mean '\(suggestion)'?" }
        message += " (one of \(names.joined(separator: ", ")))"
        throw SimileError.invalidInput(message)
    }

    private static func escape(_ text: String) -> String {
        String(text.map { $0 == "|" ? "/" : $0 })
    }
}
