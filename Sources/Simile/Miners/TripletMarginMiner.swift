/// Triplets chosen by their margin d(a,n) − d(a,p): violating, hard, semi-hard or easy (PML's
/// TripletMarginMiner).
public struct TripletMarginMiner: TripletBandMiner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "triplet-margin",
        summary: "Triplets (a, p, n) selected by their margin t = d(a,n) − d(a,p): violating, hard, semi-hard or easy.",
        formula: """
            t(a,p,n) = d(a,n) − d(a,p)      (s(a,p) − s(a,n) for a similarity)
            all: t ≤ margin    hard: t ≤ min(margin, 0)    semihard: 0 < t ≤ margin    easy: t > margin
            over every a, every p ≠ a with label(p) = label(a), every n with label(n) ≠ label(a)
            """,
        discussion: """
            `all` keeps every margin-violating triplet, not every triplet (PML's naming); for every \
            triplet use `batch-all`. `semi-hard` is this miner with type-of-triplets=semihard. \
            Each anchor's row of the distance matrix is scanned once per positive, with the \
            negatives' values gathered first; a counting pass sizes the output and a second pass \
            writes it in place, so memory is the N×M matrix plus the output (no list of all \
            triplets), and the output is ordered by anchor, positive, negative as in PML.
            """,
        reference: "Schroff et al. (FaceNet) 2015 for semi-hard triplets; PML TripletMarginMiner",
        parameters: [
            .double("margin", 0.2, doc: "the margin on t = d(a,n) − d(a,p), in units of the distance"),
            ParameterSpec("type-of-triplets", .choice(TripletType.allCases.map(\.rawValue)), default: .value(.choice("all")),
                          doc: "which triplets to keep: all (violating), hard, semihard or easy"),
            .distance(default: "lp"),
        ],
        examples: [[], ["type-of-triplets=semihard"], ["type-of-triplets=hard", "margin=0.1"],
                   ["type-of-triplets=easy", "distance=cosine"]])

    /// Which triplets to keep.
    public enum TripletType: String, Sendable, CaseIterable {
        case all, hard, semihard, easy
    }

    public let margin: Double
    public let type: TripletType
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        margin = try arguments.double("margin")
        type = TripletType(rawValue: try arguments.choice("type-of-triplets")) ?? .all
        distance = try arguments.distance()
    }

    init(margin: Double, type: TripletType, distance: any Distance) {
        self.margin = margin
        self.type = type
        self.distance = distance
    }

    /// The kept interval (low, high] of t.
    public var tripletBand: TripletBand {
        let (low, high): (Double, Double) = switch type {
        case .all: (-.infinity, margin)
        case .hard: (-.infinity, Swift.min(margin, 0))
        case .semihard: (0, margin)
        case .easy: (margin, .infinity)
        }
        return TripletBand(distance: distance, low: low, high: high)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        return .triplets(Self.select(mask, matrix, tripletBand.test(S.self)))
    }

    /// Every triplet the band keeps, ordered by (a, p, n).
    static func select<S: SimileFloat>(_ mask: MiningMask, _ matrix: Matrix<S>, _ band: TripletBand.Test<S>) -> [Triplet] {
        let m = mask.columns
        let layout = ScratchLayout<S>(columns: m, extraIndexLists: 1, scalarLists: 1)
        return matrix.withSendablePointer { values in
            TupleBuilder.triplets(anchors: mask.rows, grain: 8, scratchBytes: layout.bytes) { a, scratch, out in
                let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                let kept = layout.index(2, in: scratch)
                let negativeValues = layout.scalars(0, in: scratch)
                let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                guard np > 0, nn > 0 else { return 0 }
                let row = values.pointer + a * m
                for k in 0..<nn { negativeValues[k] = row[Int(negatives[k])] }
                var total = 0
                for i in 0..<np {
                    let p = Int(positives[i])
                    let ap = row[p]
                    var count = 0
                    if let out {
                        // Branch-free compaction of the kept negatives (about half of them are kept,
                        // so a branch would mispredict), then one write per triplet.
                        for k in 0..<nn {
                            kept[count] = negatives[k]
                            count &+= band.keeps(negative: negativeValues[k], positive: ap)
                        }
                        let target = out + total
                        for r in 0..<count {
                            (target + r).initialize(to: Triplet(a, p, Int(kept[r])))
                        }
                    } else {
                        var found: Int32 = 0
                        for k in 0..<nn {
                            found &+= Int32(truncatingIfNeeded: band.keeps(negative: negativeValues[k], positive: ap))
                        }
                        count = Int(found)
                    }
                    total += count
                }
                return total
            }
        }
    }
}
