/// The epochs during which a pipeline stage is active: `1-5`, `6-20`, `21-` (open-ended) or `7`.
///
/// Epochs are 1-based. Codable as its text so that pipeline files read naturally.
public struct EpochRange: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public let first: Int
    /// The last epoch, or nil for "until the end".
    public let last: Int?

    public init(first: Int, last: Int? = nil) throws {
        guard first >= 1 else {
            throw SimileError.invalidInput("epoch range starts at \(first); epochs are numbered from 1")
        }
        if let last, last < first {
            throw SimileError.invalidInput("epoch range \(first)-\(last) ends before it starts; write \(last)-\(first)")
        }
        self.first = first
        self.last = last
    }

    /// Parses `a-b`, `a-` or `a`.
    public init(_ text: String) throws {
        let trimmed = String(text.filter { $0 != " " })
        let parts = trimmed.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        func number(_ word: String) throws -> Int {
            guard let value = Int(word) else {
                throw SimileError.invalidInput("'\(text)' is not an epoch range; write 1-5, 21- or 7")
            }
            return value
        }
        switch parts.count {
        case 1: try self.init(first: number(parts[0]), last: number(parts[0]))
        default: try self.init(first: number(parts[0]), last: parts[1].isEmpty ? nil : number(parts[1]))
        }
    }

    public func contains(_ epoch: Int) -> Bool {
        epoch >= first && (last.map { epoch <= $0 } ?? true)
    }

    public var description: String {
        switch last {
        case nil: "\(first)-"
        case let last? where last == first: "\(first)"
        case let last?: "\(first)-\(last)"
        }
    }

    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
