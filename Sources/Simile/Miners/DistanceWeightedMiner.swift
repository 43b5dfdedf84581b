import RealModule

/// Negatives drawn with probability inverse to the density of distances on the sphere (Wu et al.
/// 2017; PML's DistanceWeightedMiner).
public struct DistanceWeightedMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "distance-weighted",
        summary: "Triplets whose negatives are drawn with weight 1/q(d), the inverse density of distances on the unit sphere.",
        formula: """
            d = max(‖â − n̂‖, cutoff),   q(d) ∝ d^(D−2) · (1 − d²/4)^((D−3)/2)   (D = embedding size)
            w(a,n) = 1/q(d) if d < nonzero-loss-cutoff else 0, normalised over a's negatives
            for every anchor a: as many triplets as the reference has rows of a's class, each with a
            uniformly drawn positive and a negative drawn with probability w(a,n)
            """,
        discussion: """
            Wu et al. 2017 (Sampling Matters): sampling by inverse density spreads the negatives \
            over all distances instead of the concentration near √2 of random points in high \
            dimension; the nonzero-loss cutoff drops negatives too far to contribute to a margin \
            loss. Distances are PML's required ones, L2 on normalised embeddings, so there is no \
            distance parameter. Stochastic: draws come from `seed` mixed with the training step \
            (every batch draws afresh; the same seed and step draw the same) and from the anchor's \
            index, so anchors are drawn in parallel and the result does not depend on the number \
            of cores. Simile's generator (xoshiro256**, inverse-CDF draws) is not torch's \
            multinomial, so the triplets differ from PML's draw for draw, with the same \
            distribution. Where PML subtracts one maximum log-weight over the whole matrix, Simile \
            subtracts each anchor's own maximum, in double precision: in float32, PML's weights of \
            a whole row can underflow to 0 and that anchor is then silently dropped. An anchor \
            with no positive, or whose negatives all lie beyond the nonzero-loss cutoff, gives no \
            triplet (as in PML). Output grouped by anchor.
            """,
        reference: "Wu, Manmatha, Smola & Krähenbühl 2017 (Sampling Matters in Deep Embedding Learning); PML DistanceWeightedMiner",
        parameters: [
            .double("cutoff", 0.5, range: .open(0, 2), doc: "distances below this count as this (bounds the weights), in normalised L2 units"),
            .double("nonzero-loss-cutoff", 1.4, range: .greaterThan(0), doc: "negatives at this distance or farther get weight 0, in normalised L2 units"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the draws (mixed with the training step)"),
        ],
        examples: [[], ["cutoff=0.3", "nonzero-loss-cutoff=1.6"], ["seed=11"]])

    public let cutoff: Double
    public let nonzeroLossCutoff: Double
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        cutoff = try arguments.double("cutoff")
        nonzeroLossCutoff = try arguments.double("nonzero-loss-cutoff")
        seed = try arguments.int("seed")
        guard nonzeroLossCutoff > cutoff else {
            throw SimileError.incompatible(
                "'\(Self.descriptor.name)': nonzero-loss-cutoff (\(nonzeroLossCutoff)) must be larger than cutoff (\(cutoff)), otherwise every negative has weight 0; raise nonzero-loss-cutoff or lower cutoff")
        }
    }

    /// The unnormalised log-weight of a negative at distance d in D dimensions (nil: weight 0).
    @inline(__always)
    static func logWeight(_ distance: Double, dimensions: Double, cutoff: Double, nonzeroLossCutoff: Double) -> Double? {
        let d = Swift.max(distance, cutoff)
        guard d < nonzeroLossCutoff else { return nil }
        let value = (2 - dimensions) * Double.log(d) - ((dimensions - 3) / 2) * Double.log(1 - 0.25 * d * d)
        return value.isFinite ? value : nil
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try LpDistance(p: 2, power: 1, normalize: true).forward(input.embeddings, input.reference).values
        let dimensions = Double(input.embeddings.columns)
        let cutoff = self.cutoff, nonzeroLossCutoff = self.nonzeroLossCutoff
        let base = MinerRandom.anchorSeed(seed: seed, step: input.context.step)
        let m = mask.columns
        let layout = ScratchLayout<Double>(columns: m, scalarLists: 1)
        return .triplets(matrix.withSendablePointer { values in
            TupleBuilder.triplets(anchors: mask.rows, grain: 16, scratchBytes: layout.bytes) { a, scratch, out in
                let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
                let cumulative = layout.scalars(0, in: scratch)
                let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
                guard np > 0, nn > 0 else { return 0 }
                let row = values.pointer + a * m
                // Log-weights first (into the cumulative buffer), then the row's maximum.
                var largest = -Double.infinity
                for k in 0..<nn {
                    let w = Self.logWeight(Double(row[Int(negatives[k])]), dimensions: dimensions, cutoff: cutoff,
                                      nonzeroLossCutoff: nonzeroLossCutoff) ?? -Double.infinity
                    cumulative[k] = w
                    largest = Swift.max(largest, w)
                }
                guard largest > -Double.infinity else { return 0 }
                var total = 0.0
                for k in 0..<nn {
                    total += cumulative[k] == -Double.infinity ? 0 : Double.exp(cumulative[k] - largest)
                    cumulative[k] = total
                }
                let draws = mask.classSize(a)
                guard let out else { return draws }
                var generator = SeededGenerator(seed: base, stream: UInt64(a))
                for t in 0..<draws {
                    let p = Int(positives[Int.random(in: 0..<np, using: &generator)])
                    let u = Double.random(in: 0..<total, using: &generator)
                    // The first negative whose cumulative weight exceeds u.
                    var low = 0, high = nn - 1
                    while low < high {
                        let mid = (low + high) / 2
                        if cumulative[mid] > u { high = mid } else { low = mid + 1 }
                    }
                    (out + t).initialize(to: Triplet(a, p, Int(negatives[low])))
                }
                return draws
            }
        })
    }
}
