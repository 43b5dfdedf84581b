/// The histogram loss (Ustinova & Lempitsky 2016): the probability that a random positive pair is
/// less similar than a random negative pair, estimated from soft histograms of the two
/// similarity distributions.
public struct HistogramLoss: Loss, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "histogram",
        summary: "Probability that a positive pair is less similar than a negative one, from soft histograms.",
        formula: """
            nodes tᵣ = −1 + r·Δ, r = 0 … n-bins (Δ = 2/n-bins); a similarity s in [tᵣ, tᵣ₊₁] adds
              (tᵣ₊₁ − s)/Δ to node r and (s − tᵣ)/Δ to node r + 1
            p⁺, p⁻ = the node weights of the positive and of the negative pairs, each divided by its pair count
            L = Σᵣ p⁻ᵣ · Σ_{k≤r} p⁺ₖ
            pairs: the unordered, distinct positive and negative pairs {a, b} that occur in some triplet
            (all triplets, or those made from the mined tuples); s = cosine similarity
            """,
        discussion: """
            Has no margin to tune: only the bin width. Cosine only, as in PML, so there is no distance \
            parameter; the value is already a single number, so there is no reducer. Reference embeddings \
            are not supported (PML rejects them too). Give n-bins or delta (= 2/n-bins), not both unless \
            they agree. \
            Deviations: PML computes the bin index in float32 and crashes (index out of bounds) when a \
            similarity reaches 1, e.g. for duplicated embeddings; Simile bins in the working precision \
            (which agrees with PML's bins away from the nodes) and puts s = 1 on the last node, so duplicates \
            give a finite loss. PML also computes the node positions r·Δ in float32, so its two weights of a \
            pair do not quite sum to 1 and its values differ from the exact ones by about 1e-7 (relative); \
            Simile's nodes are exact. PML accepts a delta that does not divide 2 (a partial last bin, or a \
            crash near s = 1); Simile asks for delta = 2/n with n an integer.
            """,
        reference: "Ustinova & Lempitsky, Learning Deep Embeddings with Histogram Loss, NeurIPS 2016; PML HistogramLoss",
        parameters: [
            ParameterSpec("n-bins", .int, default: .unset("100, or 2/delta when delta is given"), range: .atLeast(1),
                          doc: "number of histogram bins over the cosine range [−1, 1]"),
            ParameterSpec("delta", .double, default: .unset("2/n-bins"), range: .leftOpen(0, 2),
                          doc: "bin width in cosine units; 2/delta must be an integer"),
        ],
        examples: [[], ["n-bins=20"], ["delta=0.04"]])

    public let bins: Int
    public var delta: Double { 2 / Double(bins) }
    let distance = CosineSimilarity()

    public init(_ arguments: Arguments) throws {
        let bins = try arguments.optionalInt("n-bins")
        let delta = try arguments.optionalDouble("delta")
        switch (bins, delta) {
        case let (bins?, delta?):
            guard abs(delta - 2 / Double(bins)) <= 1e-9 * delta else {
                throw SimileError.incompatible(
                    "'histogram': n-bins=\(bins) and delta=\(ParameterValue.format(delta)) disagree; delta must be 2/n-bins "
                        + "(\(ParameterValue.format(2 / Double(bins)))); give only one of them")
            }
            self.bins = bins
        case let (bins?, nil):
            self.bins = bins
        case let (nil, delta?):
            let count = (2 / delta).rounded()
            guard abs(2 / delta - count) <= 1e-9 * count else {
                throw SimileError.parameterOutOfRange(
                    component: "histogram", parameter: "delta", value: ParameterValue.format(delta),
                    range: "2/n for an integer n, so that the bins tile [−1, 1] (2/delta = \(ParameterValue.format(2 / delta)); "
                        + "use n-bins=\(Int(count)) instead)")
            }
            self.bins = Int(count)
        case (nil, nil):
            self.bins = 100
        }
    }

    /// Where a similarity falls: its bin r and its weight (s − tᵣ)/Δ on node r + 1.
    @inline(__always)
    static func bin(_ s: Double, bins: Int, delta: Double) -> (index: Int, upper: Double) {
        let shifted = Swift.min(2, Swift.max(0, s + 1))
        let r = Swift.min(bins - 1, Int((shifted / delta).rounded(.down)))
        return (r, (shifted - Double(r) * delta) / delta)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        let n = labels.count
        // The distinct unordered pairs that occur in some triplet, as (smaller, larger) index.
        var positive = [Bool](repeating: false, count: n * n), negative = positive
        if case let .triplets(list)? = input.tuples {
            for t in list {
                positive[Swift.min(t.anchor, t.positive) * n + Swift.max(t.anchor, t.positive)] = true
                negative[Swift.min(t.anchor, t.negative) * n + Swift.max(t.anchor, t.negative)] = true
            }
        } else {
            let pairs = try PairIndex(input, loss: name)
            let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n)
            defer { scratch.deallocate() }
            for a in 0..<n where pairs.positiveCount(a) > 0 && pairs.negativeCount(a) > 0 {
                pairs.fill(a, positives: scratch, negatives: scratch + n)
                for j in 0..<n {
                    if scratch[j] > 0 { positive[Swift.min(a, j) * n + Swift.max(a, j)] = true }
                    if scratch[n + j] > 0 { negative[Swift.min(a, j) * n + Swift.max(a, j)] = true }
                }
            }
        }
        let positiveList = positive.indices.filter { positive[$0] }
        let negativeList = negative.indices.filter { negative[$0] }
        guard !positiveList.isEmpty, !negativeList.isEmpty else { return .zero(for: input, subLosses: ["loss"]) }

        let matrix = try distance.forward(input.embeddings, nil)
        let bins = self.bins, delta = self.delta
        func density(_ list: [Int]) -> [Double] {
            var nodes = [Double](repeating: 0, count: bins + 1)
            for index in list {
                let (r, upper) = Self.bin(Double(matrix.values.elements[index]), bins: bins, delta: delta)
                nodes[r] += 1 - upper
                nodes[r + 1] += upper
            }
            let count = Double(list.count)
            return nodes.map { $0 / count }
        }
        let pPositive = density(positiveList), pNegative = density(negativeList)
        var value = 0.0, cumulative = 0.0
        for r in 0...bins {
            cumulative += pPositive[r]
            value += pNegative[r] * cumulative
        }

        // ∂L/∂p⁻ᵣ = Σ_{k≤r} p⁺ₖ and ∂L/∂p⁺ₖ = Σ_{r≥k} p⁻ᵣ; a pair in bin r moves weight from node r to
        // node r + 1 at rate 1/Δ, so ∂L/∂s = −p⁻ᵣ/(Δ·#pos) for a positive pair and p⁺ᵣ₊₁/(Δ·#neg) for a
        // negative pair. A similarity clamped at ±1 gets 0.
        var upstream = Matrix<S>(rows: n, columns: n)
        func write(_ list: [Int], _ slope: (Int) -> Double) {
            for index in list {
                let s = Double(matrix.values.elements[index])
                guard s > -1, s < 1 else { continue }
                upstream.elements[index] += S(slope(Self.bin(s, bins: bins, delta: delta).index))
            }
        }
        let positiveScale = 1 / (delta * Double(positiveList.count))
        let negativeScale = 1 / (delta * Double(negativeList.count))
        write(positiveList) { -pNegative[$0] * positiveScale }
        write(negativeList) { pPositive[$0 + 1] * negativeScale }
        let reduction = Reduction(value: value, gate: .all, included: 1, scale: 1)
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)])
    }
}
