/// Mined tuples, in PML's two forms.
///
/// `pairs` is PML's (a1, p, a2, n): positive pairs (anchor, positive) and negative pairs
/// (anchor, negative), whose lists may differ in length. `triplets` is (a, p, n). Indices of
/// positives and negatives point into the reference batch when there is one.
public enum Tuples: Sendable, Equatable {
    case pairs(positive: [IndexPair], negative: [IndexPair])
    case triplets([Triplet])

    /// True when the miner found nothing.
    public var isEmpty: Bool {
        switch self {
        case let .pairs(positive, negative): positive.isEmpty && negative.isEmpty
        case let .triplets(triplets): triplets.isEmpty
        }
    }

    /// As pairs: a triplet (a, p, n) gives the positive pair (a, p) and the negative pair (a, n).
    public var asPairs: (positive: [IndexPair], negative: [IndexPair]) {
        switch self {
        case let .pairs(positive, negative):
            return (positive, negative)
        case let .triplets(triplets):
            return (triplets.map { IndexPair($0.anchor, $0.positive) }, triplets.map { IndexPair($0.anchor, $0.negative) })
        }
    }

    /// Every index that occurs, for per-sample miner weights (PML's `convert_to_weights`).
    public var allIndices: [Int] {
        switch self {
        case let .pairs(positive, negative):
            return positive.flatMap { [$0.anchor, $0.other] } + negative.flatMap { [$0.anchor, $0.other] }
        case let .triplets(triplets):
            return triplets.flatMap { [$0.anchor, $0.positive, $0.negative] }
        }
    }
}

/// (anchor, other): a row of the batch and a row of the reference batch.
public struct IndexPair: Sendable, Equatable, Hashable {
    public var anchor: Int
    public var other: Int
    public init(_ anchor: Int, _ other: Int) {
        self.anchor = anchor
        self.other = other
    }
}

/// (anchor, positive, negative).
public struct Triplet: Sendable, Equatable, Hashable {
    public var anchor: Int
    public var positive: Int
    public var negative: Int
    public init(_ anchor: Int, _ positive: Int, _ negative: Int) {
        self.anchor = anchor
        self.positive = positive
        self.negative = negative
    }
}
