/// Components by kind and name.
///
/// A registry is a value: `Registry.builtin` holds Simile's own components, and user code or a
/// plugin loader copies it and registers more (`var registry = Registry.builtin;
/// try registry.register(MyLoss.self)`). There is no global mutable state.
public struct Registry: Sendable {
    /// How to build one kind of component from its checked arguments.
    public enum Factory: Sendable {
        case loss(@Sendable (Arguments) throws -> any Loss)
        case distance(@Sendable (Arguments) throws -> any Distance)
        case reducer(@Sendable (Arguments) throws -> any Reducer)
        case miner(@Sendable (Arguments) throws -> any Miner)
        case sampler(@Sendable (Arguments) throws -> any BatchSampler)
        case regularizer(@Sendable (Arguments) throws -> any Regularizer)

        var kind: ComponentKind {
            switch self {
            case .loss: .loss
            case .distance: .distance
            case .reducer: .reducer
            case .miner: .miner
            case .sampler: .sampler
            case .regularizer: .regularizer
            }
        }
    }

    struct Entry: Sendable {
        let descriptor: ComponentDescriptor
        let factory: Factory
    }

    private var entries: [ComponentKind: [String: Entry]] = [:]
    private var aliases: [ComponentKind: [String: String]] = [:]

    /// An empty registry.
    public init() {}

    // MARK: Registration

    public mutating func register<C: Loss>(_ type: C.Type) throws {
        try register(C.descriptor, factory: .loss { try C($0) })
    }

    public mutating func register<C: Distance>(_ type: C.Type) throws {
        try register(C.descriptor, factory: .distance { try C($0) })
    }

    public mutating func register<C: Reducer>(_ type: C.Type) throws {
        try register(C.descriptor, factory: .reducer { try C($0) })
    }

    public mutating func register<C: Miner>(_ type: C.Type) throws {
        try register(C.descriptor, factory: .miner { try C($0) })
    }

    public mutating func register<C: BatchSampler>(_ type: C.Type) throws {
        try register(C.descriptor, factory: .sampler { try C($0) })
    }

    public mutating func register<C: Regularizer>(_ type: C.Type) throws {
        try register(C.descriptor, factory: .regularizer { try C($0) })
    }

    /// Registers a descriptor with an explicit factory (the route plugins take).
    /// Rejects bad declarations (names, defaults) and duplicate names, reporting every problem.
    public mutating func register(_ descriptor: ComponentDescriptor, factory: Factory) throws {
        var problems = descriptor.declarationProblems()
        if factory.kind != descriptor.kind {
            problems.append("'\(descriptor.name)' is declared a \(descriptor.kind.singular) but built as a \(factory.kind.singular)")
        }
        guard problems.isEmpty else {
            throw SimileError.invalidInput(
                "cannot register '\(descriptor.name)': " + problems.joined(separator: "; "))
        }
        let kind = descriptor.kind
        for name in [descriptor.name] + descriptor.aliases where entries[kind]?[name] != nil || aliases[kind]?[name] != nil {
            throw SimileError.duplicateRegistration(kind: kind, name: name)
        }
        entries[kind, default: [:]][descriptor.name] = Entry(descriptor: descriptor, factory: factory)
        for alias in descriptor.aliases { aliases[kind, default: [:]][alias] = descriptor.name }
    }

    // MARK: Construction

    public func loss(_ spec: ComponentSpec) throws -> any Loss {
        let (entry, arguments) = try prepare(.loss, spec)
        guard case let .loss(make) = entry.factory else { throw kindMismatch(spec, .loss) }
        return try make(arguments)
    }

    public func distance(_ spec: ComponentSpec) throws -> any Distance {
        let (entry, arguments) = try prepare(.distance, spec)
        guard case let .distance(make) = entry.factory else { throw kindMismatch(spec, .distance) }
        return try make(arguments)
    }

    public func reducer(_ spec: ComponentSpec) throws -> any Reducer {
        let (entry, arguments) = try prepare(.reducer, spec)
        guard case let .reducer(make) = entry.factory else { throw kindMismatch(spec, .reducer) }
        return try make(arguments)
    }

    public func miner(_ spec: ComponentSpec) throws -> any Miner {
        let (entry, arguments) = try prepare(.miner, spec)
        guard case let .miner(make) = entry.factory else { throw kindMismatch(spec, .miner) }
        return try make(arguments)
    }

    public func sampler(_ spec: ComponentSpec) throws -> any BatchSampler {
        let (entry, arguments) = try prepare(.sampler, spec)
        guard case let .sampler(make) = entry.factory else { throw kindMismatch(spec, .sampler) }
        return try make(arguments)
    }

    public func regularizer(_ spec: ComponentSpec) throws -> any Regularizer {
        let (entry, arguments) = try prepare(.regularizer, spec)
        guard case let .regularizer(make) = entry.factory else { throw kindMismatch(spec, .regularizer) }
        return try make(arguments)
    }

    /// A loss from text: `"contrastive"` or `"contrastive(pos-margin=0.1, distance=lp(power=2))"`.
    public func loss(_ text: String) throws -> any Loss { try loss(ComponentSpec(text)) }

    /// A loss from a name and command-line words such as `["pos-margin=0.1"]`.
    public func loss(_ name: String, _ commandLine: [String]) throws -> any Loss {
        try loss(ComponentSpec(name: name, arguments: ComponentSpec.arguments(fromCommandLine: commandLine)))
    }

    public func distance(_ text: String) throws -> any Distance { try distance(ComponentSpec(text)) }
    public func reducer(_ text: String) throws -> any Reducer { try reducer(ComponentSpec(text)) }
    public func miner(_ text: String) throws -> any Miner { try miner(ComponentSpec(text)) }
    public func sampler(_ text: String) throws -> any BatchSampler { try sampler(ComponentSpec(text)) }
    public func regularizer(_ text: String) throws -> any Regularizer { try regularizer(ComponentSpec(text)) }

    /// A component of any kind from a name and command-line words such as `["pos-margin=0.1"]`.
    public func spec(_ name: String, _ commandLine: [String]) throws -> ComponentSpec {
        ComponentSpec(name: name, arguments: try ComponentSpec.arguments(fromCommandLine: commandLine))
    }

    /// The checked arguments a spec would construct with (all parameters, defaults filled in).
    public func arguments(_ kind: ComponentKind, _ spec: ComponentSpec) throws -> Arguments {
        try prepare(kind, spec).1
    }

    // MARK: Lookup

    /// The descriptor of a name (or alias) of the given kind.
    public func descriptor(_ kind: ComponentKind, _ name: String) throws -> ComponentDescriptor {
        try entry(kind, name).descriptor
    }

    /// All descriptors of a kind, sorted by name.
    public func descriptors(_ kind: ComponentKind) -> [ComponentDescriptor] {
        (entries[kind] ?? [:]).values.map(\.descriptor).sorted { $0.name < $1.name }
    }

    /// Descriptors of every kind registered under a name or alias (a name may be both a loss and a miner).
    public func descriptors(named name: String) -> [ComponentDescriptor] {
        ComponentKind.allCases.compactMap { try? entry($0, name).descriptor }
    }

    /// Every name and alias of every kind, for suggestions.
    public var allNames: [String] {
        ComponentKind.allCases.flatMap { kind in
            Array((entries[kind] ?? [:]).keys) + Array((aliases[kind] ?? [:]).keys)
        }
    }

    private func entry(_ kind: ComponentKind, _ name: String) throws -> Entry {
        let canonical = aliases[kind]?[name] ?? name
        if let entry = entries[kind]?[canonical] { return entry }
        let names = Array((entries[kind] ?? [:]).keys) + Array((aliases[kind] ?? [:]).keys)
        let suggestion = Suggestions.closest(to: name, among: names).map { aliases[kind]?[$0] ?? $0 }
        throw SimileError.unknownComponent(kind: kind, name: name, suggestion: suggestion)
    }

    private func prepare(_ kind: ComponentKind, _ spec: ComponentSpec) throws -> (Entry, Arguments) {
        let entry = try entry(kind, spec.name)
        let arguments = try ArgumentResolver.resolve(spec.arguments, for: entry.descriptor, registry: self)
        return (entry, arguments)
    }

    private func kindMismatch(_ spec: ComponentSpec, _ kind: ComponentKind) -> SimileError {
        .invalidInput("internal error: '\(spec.name)' is registered as a \(kind.singular) with another factory")
    }
}
