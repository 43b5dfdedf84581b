/// The kinds of component a registry holds.
public enum ComponentKind: String, CaseIterable, Sendable, Codable {
    case loss, miner, sampler, regularizer, distance, reducer

    /// "loss", "miner", ...
    public var singular: String { rawValue }

    /// "losses", "miners", ... (the word `simile list` takes).
    public var plural: String {
        switch self {
        case .loss: "losses"
        default: rawValue + "s"
        }
    }

    /// The kind named by a singular or plural word.
    public init?(word: String) {
        guard let kind = ComponentKind.allCases.first(where: { $0.singular == word || $0.plural == word }) else {
            return nil
        }
        self = kind
    }
}
