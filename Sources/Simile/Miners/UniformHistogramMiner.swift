/// Pairs drawn uniformly across the range of their distances (PML's UniformHistogramMiner).
public struct UniformHistogramMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "uniform-histogram",
        summary: "Pairs spread evenly over their distance range: a fixed number drawn from every bin of a histogram.",
        formula: """
            edges = linspace(min d, max d, num-bins + 1) over the positive pairs (negatives alike)
            bin b = [edge_b, edge_b+1), the last one closed
            from every non-empty bin draw pos-per-bin positive pairs (neg-per-bin negative pairs),
            uniformly with replacement
            """,
        discussion: """
            Stochastic: draws come from `seed` mixed with the training step, so every batch draws \
            afresh and the same seed and step always draw the same pairs. Simile's generator \
            (xoshiro256**) is not torch's, so the pairs differ from PML's draw for draw; the \
            distribution is the same. The bin edges are computed as torch.linspace computes them \
            (from both ends), in double precision. Pairs can repeat (drawn with replacement), and \
            the output is ordered by bin. O(N·M) time and memory.
            """,
        reference: "PML UniformHistogramMiner",
        parameters: [
            .int("num-bins", 100, range: .atLeast(1), doc: "number of equal-width distance bins"),
            .int("pos-per-bin", 10, range: .atLeast(1), doc: "positive pairs drawn from each non-empty bin"),
            .int("neg-per-bin", 10, range: .atLeast(1), doc: "negative pairs drawn from each non-empty bin"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the draws (mixed with the training step)"),
            .distance(default: "lp"),
        ],
        examples: [[], ["num-bins=10", "pos-per-bin=2", "neg-per-bin=4"], ["seed=7", "distance=cosine"]])

    public let bins: Int
    public let positivesPerBin: Int
    public let negativesPerBin: Int
    public let seed: Int
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        bins = try arguments.int("num-bins")
        positivesPerBin = try arguments.int("pos-per-bin")
        negativesPerBin = try arguments.int("neg-per-bin")
        seed = try arguments.int("seed")
        distance = try arguments.distance()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let matrix = try distance.forward(input.embeddings, input.reference).values
        let (positive, negative) = AllPairs.of(mask).asPairs
        let m = mask.columns
        var generator = MinerRandom.generator(seed: seed, step: input.context.step)
        func values(_ pairs: [IndexPair]) -> [Double] { pairs.map { Double(matrix.elements[$0.anchor * m + $0.other]) } }
        let keptPositive = Self.draw(values(positive), bins: bins, perBin: positivesPerBin, using: &generator)
        let keptNegative = Self.draw(values(negative), bins: bins, perBin: negativesPerBin, using: &generator)
        return .pairs(positive: keptPositive.map { positive[$0] }, negative: keptNegative.map { negative[$0] })
    }

    /// The bin of every value: edges as torch.linspace(min, max, bins + 1) makes them, bins
    /// [edge_b, edge_b+1) with the last one closed.
    static func binIndices(_ values: [Double], bins: Int) -> [Int] {
        guard let low = values.min(), let high = values.max() else { return [] }
        guard high > low else { return [Int](repeating: bins - 1, count: values.count) }
        let steps = bins + 1
        let step = (high - low) / Double(bins)
        let edges = (0..<steps).map { i in
            i < steps / 2 ? low + step * Double(i) : high - step * Double(steps - 1 - i)
        }
        return values.map { v in
            var b = Swift.min(bins - 1, Swift.max(0, Int((v - low) / step)))
            while b > 0 && v < edges[b] { b -= 1 }
            while b < bins - 1 && v >= edges[b + 1] { b += 1 }
            return b
        }
    }

    /// Positions drawn `perBin` times, with replacement, from every non-empty bin, bin by bin.
    static func draw(_ values: [Double], bins: Int, perBin: Int, using generator: inout SeededGenerator) -> [Int] {
        guard !values.isEmpty else { return [] }
        let index = binIndices(values, bins: bins)
        // Members of each bin, in position order (a counting sort).
        var starts = [Int](repeating: 0, count: bins + 1)
        for b in index { starts[b + 1] += 1 }
        for b in 0..<bins { starts[b + 1] += starts[b] }
        var fill = starts
        var members = [Int](repeating: 0, count: values.count)
        for (i, b) in index.enumerated() {
            members[fill[b]] = i
            fill[b] += 1
        }
        var result: [Int] = []
        for b in 0..<bins where starts[b + 1] > starts[b] {
            let count = starts[b + 1] - starts[b]
            for _ in 0..<perBin { result.append(members[starts[b] + Int.random(in: 0..<count, using: &generator)]) }
        }
        return result
    }
}
