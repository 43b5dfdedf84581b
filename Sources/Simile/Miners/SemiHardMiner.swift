/// Semi-hard triplets: `triplet-margin` with type-of-triplets=semihard, under a name of its own.
public struct SemiHardMiner: TripletBandMiner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "semi-hard",
        summary: "Semi-hard triplets: the negative is farther than the positive, but by less than the margin.",
        formula: """
            keep (a, p, n) when d(a,p) < d(a,n) ≤ d(a,p) + margin
            (for a similarity: s(a,p) − margin ≤ s(a,n) < s(a,p))
            """,
        discussion: """
            Exactly `triplet-margin type-of-triplets=semihard` (the same code); a registered name of \
            its own because an alias cannot change a default. Every semi-hard triplet of every anchor \
            is returned (PML's TripletMarginMiner), not one negative per anchor–positive pair as in \
            FaceNet's online selection.
            """,
        reference: "Schroff et al. (FaceNet) 2015; PML TripletMarginMiner(type_of_triplets=\"semihard\")",
        parameters: [
            .double("margin", 0.2, range: .greaterThan(0), doc: "the width of the semi-hard band, in units of the distance"),
            .distance(default: "lp"),
        ],
        examples: [[], ["margin=0.1"], ["distance=cosine"]])

    private let miner: TripletMarginMiner

    public var margin: Double { miner.margin }
    public var distance: any Distance { miner.distance }
    public var tripletBand: TripletBand { miner.tripletBand }

    public init(_ arguments: Arguments) throws {
        miner = TripletMarginMiner(margin: try arguments.double("margin"), type: .semihard,
                                   distance: try arguments.distance())
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try miner.distance.forward(input.embeddings, input.reference).values
        return .triplets(TripletMarginMiner.select(mask, matrix, tripletBand.test(S.self)))
    }
}
