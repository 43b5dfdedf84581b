/// The triplets a margin miner keeps, stated as a rule instead of a list: every (a, p, n) with
/// label(p) = label(a), p ≠ a, label(n) ≠ label(a), whose margin
/// t = sign · (M[a,n] − M[a,p]) under `distance` lies in the band `low < t ≤ high`.
///
/// `triplet-margin` and `semi-hard` select exactly such a band, so a loss that streams triplets
/// (`TripletBandCapable`) can apply the rule while it goes over every positive and negative of an
/// anchor, and never list the triplets: at N = 1024 the semi-hard band holds about 1.5 million of
/// them, and writing, checking and reading them back costs more than the loss itself.
/// `Objective` and `simile bench miner --loss` fuse a band miner with such a loss on their own;
/// research code calls `loss(embeddings, labels, tripletsIn: band)`. Either way the value and the
/// gradient are bit for bit those of `miner.mine` followed by `loss(..., tuples:)`.
public struct TripletBand: Sendable {
    /// The miner's distance: the band is tested on its matrix, which may differ from the loss's.
    public let distance: any Distance
    /// The band's exclusive lower bound on t.
    public let low: Double
    /// The band's inclusive upper bound on t.
    public let high: Double

    public init(distance: any Distance, low: Double, high: Double) {
        self.distance = distance
        self.low = low
        self.high = high
    }

    /// Whether triplets with margin t are kept, evaluated in the miner's precision.
    @inline(__always)
    static func contains<S: SimileFloat>(_ t: S, low: S, high: S) -> Int {
        (t > low ? 1 : 0) & (t <= high ? 1 : 0)
    }
}

/// A miner whose triplets are exactly a `TripletBand` of its distance matrix (within the batch,
/// or against a reference batch without item ids), so that it can be fused with a
/// `TripletBandCapable` loss.
public protocol TripletBandMiner: Miner {
    var tripletBand: TripletBand { get }
}
