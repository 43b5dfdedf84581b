import RealModule

/// The ranked list loss (Wang et al. 2019) as PML computes it: each sample ranks the rest of the
/// batch, positives should lie within α − margin and negatives beyond α, with soft weights.
public struct RankedListLoss: Loss {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "ranked-list",
        summary: "Each anchor ranks the batch: positives within α − margin, negatives beyond α, weighted by hardness.",
        formula: """
            for anchor i, with d = the distance matrix and c = α − margin:
            P* = {j ≠ i, same label, d_ij > c, d_ij > 0},  N* = {j, other label, d_ij < α, d_ij > 0}
            wⱼ = exp(Tp·(d_ij − c)) on P*,  wⱼ = exp(Tn·(α − d_ij)) on N*
            L_P(i) = Σ_{P*} wⱼ·(d_ij − c) / (Σ_{P*} wⱼ + 1e-5·N)
            L_N(i) = Σ_{N*} wⱼ·(α − d_ij) / (Σ_{N*} wⱼ + 1e-5·N)
            ℓᵢ = (1 − imbalance)·L_P(i) + imbalance·L_N(i);  L = reduce over the N anchors (mean by default)
            """,
        discussion: """
            A listwise loss that uses every sample of the batch: each anchor pulls its positives inside a \
            sphere of radius α − margin and pushes its negatives outside radius α, weighting violating \
            negatives by exp(Tn·violation). With Tp = 0 (the default) it is the paper's RLL-Simpler. \
            margin and tn have no default, as in PML, so they must be given. \
            Follows PML exactly: the weights wⱼ are not detached (the gradient flows through them), each \
            of the N columns adds 1e-5 to the denominators (so an anchor without active pairs gives 0, \
            never NaN), and a pair at distance exactly 0 (or below, for a similarity) is ignored, so an \
            exact duplicate of another class does not count as a negative. PML applies the same \
            comparisons to similarities as to distances, and so does Simile; the loss is meant for \
            distances. PML warns when Tp or Tn exceeds 5 because its weights may overflow; Simile shifts \
            the exponents before exponentiating, so large temperatures stay finite.
            """,
        reference: "Wang, Hua, Kodirov, Hu, Garnier, Robertson, Ranked List Loss for Deep Metric Learning, CVPR 2019; PML RankedListLoss",
        parameters: [
            .double("margin", nil, range: .greaterThan(0), doc: "gap between the positive boundary α − margin and the negative boundary α"),
            .double("tn", nil, range: .atLeast(0), doc: "temperature Tn of the negative weights exp(Tn·(α − d))"),
            .double("imbalance", 0.5, range: .closed(0, 1), doc: "weight of the negative term; 1 − imbalance weighs the positive term"),
            ParameterSpec("alpha", .double, default: .unset("1 + margin/2"), range: .greaterThan(0),
                          doc: "the negative boundary α (a distance)"),
            .double("tp", 0, range: .atLeast(0), doc: "temperature Tp of the positive weights exp(Tp·(d − α + margin))"),
            .distance(default: "lp"),
            .reducer(default: "mean"),
        ],
        examples: [["margin=0.4", "tn=10"], ["margin=0.4", "tn=1", "imbalance=0.3", "alpha=1.1", "tp=2"],
                   ["margin=0.8", "tn=2", "distance=lp(power=2)"]])

    public let margin: Double
    public let tn: Double
    public let imbalance: Double
    public let alpha: Double
    public let tp: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        margin = try arguments.double("margin")
        tn = try arguments.double("tn")
        imbalance = try arguments.double("imbalance")
        alpha = try arguments.optionalDouble("alpha") ?? 1 + margin / 2
        tp = try arguments.double("tp")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    /// One side's weighted mean over its active pairs: the value Σ w·v / (Σ w + floor) and, for each
    /// active pair, ∂value/∂vⱼ where v is the pair's violation and w = exp(T·v).
    /// The exponents are shifted by their maximum, which scales numerator and denominator alike
    /// (the floor is scaled with them).
    @inline(__always)
    static func side(count: Int, violation: (Int) -> Double?, temperature: Double, floor: Double,
                     slope: (Int, Double) -> Void) -> Double {
        var shift = 0.0
        var any = false
        for j in 0..<count {
            if let v = violation(j) {
                shift = any ? Swift.max(shift, temperature * v) : temperature * v
                any = true
            }
        }
        guard any else { return 0 }
        var numerator = 0.0, denominator = floor * Double.exp(-shift)
        for j in 0..<count {
            if let v = violation(j) {
                let w = Double.exp(temperature * v - shift)
                numerator += w * v
                denominator += w
            }
        }
        let value = numerator / denominator
        // ∂value/∂vⱼ = wⱼ·(1 + T·(vⱼ − value)) / denominator
        for j in 0..<count {
            if let v = violation(j) {
                let w = Double.exp(temperature * v - shift)
                slope(j, w * (1 + temperature * (v - value)) / denominator)
            }
        }
        return value
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        let matrix = try distance.forward(input.embeddings, nil)
        let n = matrix.rows
        let alpha = self.alpha, margin = self.margin, tp = self.tp, tn = self.tn, imbalance = self.imbalance
        let floor = 1e-5 * Double(n)

        // One pass: each anchor's value, and its unscaled gradient row.
        var upstream = Matrix<S>(rows: n, columns: n)
        let values: [Double] = matrix.values.elements.withUnsafeBufferPointer { buffer in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let values = SendableConstPointer(buffer.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                let chunks = Parallel.map(n, grain: 16) { range -> [Double] in
                    range.map { i in
                        let row = values.pointer + i * n, outRow = out.pointer + i * n
                        let label = labels[i]
                        let boundary = alpha - margin
                        // Positive violation d − (α − margin) on P*; ∂ℓ/∂d = (1 − imbalance)·slope.
                        let positive = RankedListLoss.side(
                            count: n,
                            violation: { j in
                                let d = Double(row[j])
                                return j != i && labels[j] == label && d > boundary && d > 0 ? d - boundary : nil
                            },
                            temperature: tp, floor: floor,
                            slope: { j, s in outRow[j] += S((1 - imbalance) * s) })
                        // Negative violation α − d on N*; ∂ℓ/∂d = −imbalance·slope.
                        let negative = RankedListLoss.side(
                            count: n,
                            violation: { j in
                                let d = Double(row[j])
                                return labels[j] != label && d < alpha && d > 0 ? alpha - d : nil
                            },
                            temperature: tn, floor: floor,
                            slope: { j, s in outRow[j] -= S(imbalance * s) })
                        return (1 - imbalance) * positive + imbalance * negative
                    }
                }
                return chunks.flatMap { $0 }
            }
        }
        return try LossAssembly.outputPerAnchor(input, distance: distance, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name)
    }
}
