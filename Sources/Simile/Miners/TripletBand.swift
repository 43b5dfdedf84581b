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

    /// The band in the precision of a matrix of `S`.
    func test<S: SimileFloat>(_: S.Type) -> Test<S> {
        Test(sign: S(distance.sign), low: S(low), high: S(high))
    }

    /// The one test that the miner and a fused loss both run on the matrix entries, so that they
    /// keep exactly the same triplets.
    struct Test<S: SimileFloat>: Sendable {
        let sign: S, low: S, high: S

        /// 1 when the band keeps the triplet whose entries are M[a,n] and M[a,p], else 0, without
        /// a branch (both comparisons are evaluated, so loops over negatives vectorise instead of
        /// mispredicting on every other negative).
        @inline(__always)
        func keeps(negative: S, positive: S) -> Int {
            let t = sign * (negative - positive)
            return (t > low ? 1 : 0) & (t <= high ? 1 : 0)
        }
    }
}

/// A miner whose triplets are exactly a `TripletBand` of its distance matrix (within the batch,
/// or against a reference batch without item ids), so that it can be fused with a
/// `TripletBandCapable` loss.
public protocol TripletBandMiner: Miner {
    var tripletBand: TripletBand { get }
}
