/// FastAP (Cakir et al. 2019): one minus a differentiable average precision of each anchor's
/// ranking, from soft histograms of its distances.
public struct FastAPLoss: Loss, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "fast-ap", aliases: ["fastap"],
        summary: "One minus each anchor's average precision, from soft histograms of squared distances.",
        formula: """
            d = ‖x̂ₐ − x̂ⱼ‖² in [0, 4];  centres cᵦ = b·Δ, b = 0 … num-bins, Δ = 4/num-bins
            pulseᵦ(d) = [1 − |d − cᵦ|/Δ]₊;  h⁺ᵦ = Σ_{j∈P(a)} pulseᵦ(dₐⱼ),  h⁻ᵦ = Σ_{j∈N(a)} pulseᵦ(dₐⱼ)
            H⁺ᵦ = Σ_{k≤b} h⁺ₖ,  Hᵦ = Σ_{k≤b} (h⁺ₖ + h⁻ₖ)
            FastAPₐ = (1/|P(a)|) Σ_b h⁺ᵦ·H⁺ᵦ/Hᵦ   (over bins with h⁺ᵦ·H⁺ᵦ > 0 and Hᵦ > 0)
            ℓₐ = wₐ·(1 − FastAPₐ) for every anchor with a positive;  L = reduce over those anchors (mean)
            wₐ = (occurrences of a in the mined tuples) / (the largest such count); 1 without tuples
            """,
        discussion: """
            Optimises a ranking metric directly; best with large batches of several samples per class. \
            The distance is fixed to the squared L2 distance of normalised embeddings (PML requires \
            LpDistance(power=2)), so there is no distance parameter. Mined tuples do not select pairs: \
            they only weight the anchors, as in PML (an empty tuple weighs every anchor 1). Reference \
            embeddings are not supported (PML rejects them too). As in PML, bins outside the condition \
            above contribute neither value nor gradient.
            """,
        reference: "Cakir et al., Deep Metric Learning to Rank, CVPR 2019; PML FastAPLoss",
        parameters: [
            .int("num-bins", 10, range: .atLeast(1), doc: "number of histogram bins over the squared-distance range [0, 4]"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["num-bins=20"], ["reducer=sum"]])

    public let bins: Int
    public let reducer: any Reducer
    let distance = LpDistance(p: 2, power: 2, normalize: true)

    public init(_ arguments: Arguments) throws {
        bins = try arguments.int("num-bins")
        reducer = try arguments.reducer()
    }

    /// PML's `convert_to_weights`: each sample's count in the tuples over the largest count.
    static func minerWeights(_ tuples: Tuples?, count: Int) -> [Double] {
        guard let tuples, !tuples.isEmpty else { return [Double](repeating: 1, count: count) }
        var counts = [Int](repeating: 0, count: count)
        for index in tuples.allIndices { counts[index] += 1 }
        let largest = Double(counts.max() ?? 1)
        return counts.map { Double($0) / largest }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        let n = labels.count
        // The pairs are always all pairs of the labels; tuples only weight the anchors.
        let pairs = PairIndex(labels: labels, referenceLabels: labels, isSelf: true, tuples: nil)
        guard pairs.totalPositives > 0 else { return .zero(for: input, subLosses: ["loss"]) }
        let weights = Self.minerWeights(input.tuples, count: n)
        let matrix = try distance.forward(input.embeddings, nil)
        let bins = self.bins, inverseDelta = Double(bins) / 4

        // Per anchor: the two histograms, FastAP, and dℓ/dd (scaled by the reducer afterwards).
        var upstream = Matrix<S>(rows: n, columns: n)
        let values = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double? in
            let positives = (0..<row.count).reduce(0) { $0 + (row.positives[$1] > 0 ? 1 : 0) }
            guard positives > 0 else {
                for j in 0..<row.count { out[j] = 0 }
                return nil
            }
            // The two pulses a distance touches: bins k and k + 1, with their values and slopes in t = d/Δ.
            func pulses(_ d: Double) -> (k: Int, low: Double, high: Double, lowSlope: Double, highSlope: Double) {
                let t = d * inverseDelta
                let k = Swift.min(bins - 1, Swift.max(0, Int(t.rounded(.down))))
                let u = t - Double(k), v = t - Double(k + 1)
                let low = 1 - Swift.abs(u), high = 1 - Swift.abs(v)
                // The slope of [1 − |x|]₊ is −sign(x) inside the pulse, 0 at its peak and outside.
                let lowSlope = low > 0 ? (u > 0 ? -1.0 : (u < 0 ? 1 : 0)) : 0
                let highSlope = high > 0 ? (v > 0 ? -1.0 : (v < 0 ? 1 : 0)) : 0
                return (k, Swift.max(0, low), Swift.max(0, high), lowSlope, highSlope)
            }
            var hPositive = [Double](repeating: 0, count: bins + 1), hNegative = hPositive
            for j in 0..<row.count where row.positives[j] > 0 || row.negatives[j] > 0 {
                let p = pulses(Double(row.values[j]))
                if row.positives[j] > 0 {
                    hPositive[p.k] += p.low
                    hPositive[p.k + 1] += p.high
                } else {
                    hNegative[p.k] += p.low
                    hNegative[p.k + 1] += p.high
                }
            }
            // FastAP and its derivatives with respect to h⁺ and h⁻ (suffix sums over safe bins).
            var cumulativePositive = 0.0, cumulative = 0.0
            var fastAP = 0.0
            var safeRatio = [Double](repeating: 0, count: bins + 1)
            var termA = safeRatio, termB = safeRatio
            for b in 0...bins {
                cumulativePositive += hPositive[b]
                cumulative += hPositive[b] + hNegative[b]
                guard hPositive[b] * cumulativePositive > 0, cumulative > 0 else { continue }
                fastAP += hPositive[b] * cumulativePositive / cumulative
                safeRatio[b] = cumulativePositive / cumulative
                termA[b] = hPositive[b] / cumulative
                termB[b] = hPositive[b] * cumulativePositive / (cumulative * cumulative)
            }
            let count = Double(positives)
            fastAP /= count
            var gradPositive = safeRatio, gradNegative = safeRatio
            var suffixA = 0.0, suffixB = 0.0
            for b in stride(from: bins, through: 0, by: -1) {
                suffixA += termA[b]
                suffixB += termB[b]
                gradPositive[b] = safeRatio[b] + suffixA - suffixB
                gradNegative[b] = -suffixB
            }
            // ℓ = w·(1 − FastAP): dℓ/dh = −(w/|P|)·dΣ/dh, and dh/dd = slope·(1/Δ).
            let scale = -weights[row.anchor] / count * inverseDelta
            for j in 0..<row.count {
                guard row.positives[j] > 0 || row.negatives[j] > 0 else {
                    out[j] = 0
                    continue
                }
                let p = pulses(Double(row.values[j]))
                let g = row.positives[j] > 0 ? gradPositive : gradNegative
                out[j] = S(scale * (g[p.k] * p.lowSlope + g[p.k + 1] * p.highSlope))
            }
            return weights[row.anchor] * (1 - fastAP)
        }
        return try LossAssembly.outputPerAnchor(input, distance: distance, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name)
    }
}
