import RealModule

/// The N-pair loss (Sohn 2016) in PML's form: one anchor–positive pair per label, and a
/// cross-entropy over the anchors × positives similarity matrix.
public struct NPairsLoss: Loss, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "n-pairs", aliases: ["npairs"],
        summary: "One positive pair per label; each anchor must pick its own positive among all labels' positives.",
        formula: """
            pairs (a₁,p₁) … (a_P,p_P): per label, the first positive pair (in row-major order, or in the
            mined tuple's order), sorted by label
            Zᵢⱼ = S(aᵢ, pⱼ) for a similarity, −d(aᵢ, pⱼ) for a distance
            ℓᵢ = −log( e^{Zᵢᵢ} / Σⱼ e^{Zᵢⱼ} )
            L = reduce over the P anchors (mean by default)
            """,
        discussion: """
            A multi-class generalisation of the triplet loss: with P labels in the batch, each anchor \
            is contrasted with P − 1 negatives at once. Built for batches of exactly two samples per \
            label (N-pair sampling); with larger classes it uses only the first pair of each label \
            and ignores the other samples. Without tuples a label's pair is its two lowest indices; \
            with mined tuples it is the label's first positive pair in the tuple's order (triplets \
            give their (anchor, positive) pairs), so the order of the tuple matters. Labels with one \
            sample have no pair and take no part. No temperature and no L2 term, as PML (pass an \
            embedding regularizer for the paper's L2 term). It does not take reference embeddings \
            (PML does not support them either).
            """,
        reference: "Sohn, Improved Deep Metric Learning with Multi-class N-pair Loss Objective, NeurIPS 2016; PML NPairsLoss",
        parameters: [
            .distance(default: "dot"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["distance=dot(normalize=false)"], ["distance=lp", "reducer=sum"]])

    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    /// PML's `convert_to_pos_pairs_with_unique_labels`: the first positive pair of each label, by label.
    static func uniquePairs(labels: [Int], tuples: Tuples?) -> [IndexPair] {
        var first: [Int: IndexPair] = [:]
        if let tuples {
            for pair in tuples.asPairs.positive where first[labels[pair.anchor]] == nil {
                first[labels[pair.anchor]] = pair
            }
        } else {
            // Row-major order: the label's lowest index with its second-lowest.
            var lowest: [Int: Int] = [:]
            for (i, label) in labels.enumerated() {
                if let a = lowest[label] {
                    if first[label] == nil { first[label] = IndexPair(a, i) }
                } else {
                    lowest[label] = i
                }
            }
        }
        return first.keys.sorted().map { first[$0]! }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        let selected = Self.uniquePairs(labels: labels, tuples: input.tuples)
        guard !selected.isEmpty else { return .zero(for: input, subLosses: ["loss"]) }
        let count = selected.count, columns = input.embeddings.columns
        var anchors = Matrix<S>(rows: count, columns: columns)
        var positives = Matrix<S>(rows: count, columns: columns)
        for (i, pair) in selected.enumerated() {
            for k in 0..<columns {
                anchors[i, k] = input.embeddings[pair.anchor, k]
                positives[i, k] = input.embeddings[pair.other, k]
            }
        }
        let matrix = try distance.forward(anchors, positives)
        let logitSign = -distance.sign  // Z = −sign·M
        let gate = reducer.gate

        // Row i: ℓᵢ = LSEⱼ Zᵢⱼ − Zᵢᵢ, dℓᵢ/dZᵢⱼ = softmaxᵢⱼ − δᵢⱼ.
        var upstream = Matrix<S>(rows: count, columns: count)
        let values: [Double] = matrix.values.elements.withUnsafeBufferPointer { buffer in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let logits = SendableConstPointer(buffer.baseAddress!), out = SendablePointer(target.baseAddress!)
                return Parallel.map(count, grain: 16) { range -> [Double] in
                    range.map { i -> Double in
                        let z = logits.pointer + i * count, g = out.pointer + i * count
                        var maxZ = -Double.infinity
                        for j in 0..<count { maxZ = Swift.max(maxZ, logitSign * Double(z[j])) }
                        var sum = 0.0
                        for j in 0..<count {
                            let e = S.exp(S(logitSign * Double(z[j]) - maxZ))
                            g[j] = e
                            sum += Double(e)
                        }
                        let inverse = S(1 / sum)
                        for j in 0..<count { g[j] *= inverse }
                        g[i] -= 1
                        return maxZ + Double.log(sum) - logitSign * Double(z[i])
                    }
                }.flatMap { $0 }
            }
        }
        var bags = [Bag](repeating: Bag(), count: labels.count)
        for (i, pair) in selected.enumerated() { bags[pair.anchor].add(values[i], gate: gate) }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .element,
                                                labels: input.labels)
        upstream.scaleRows { reduction.weight(values[$0], group: selected[$0].anchor) * logitSign }

        let (anchorGradient, positiveGradient) = distance.backward(upstream, matrix)
        var gradient = Matrix<S>(rows: input.embeddings.rows, columns: columns)
        for (i, pair) in selected.enumerated() {
            for k in 0..<columns {
                gradient[pair.anchor, k] += anchorGradient[i, k]
                if let positiveGradient { gradient[pair.other, k] += positiveGradient[i, k] }
            }
        }
        return LossAssembly.finish(input, gradient: gradient, referenceGradient: nil,
                                   terms: [("loss", reduction.value, reduction.included)])
    }
}
