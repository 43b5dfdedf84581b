import RealModule

/// The instance loss (Zheng et al.): every sample is its own class, classified by its scaled cosine
/// similarities to the whole batch.
public struct InstanceLoss: Loss {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "instance",
        summary: "Instance-level cross-entropy: each sample must pick out, among the batch, the column its label indexes.",
        formula: """
            ℓᵢ = −log softmaxⱼ(γ·S[i,j])[tᵢ] = log Σⱼ exp(γ·S[i,j]) − γ·S[i,tᵢ]
            S = the N×N cosine matrix of the batch (the diagonal, S[i,i] = 1, included)
            tᵢ = the position of yᵢ among the sorted distinct labels of the batch
            L = reduce over the N samples (mean by default)
            """,
        discussion: """
            For instance-level retrieval (e.g. image–text matching) where every sample is its own class: \
            with labels 0…N−1 in any order, tᵢ = yᵢ and sample i must be most similar to sample yᵢ. \
            The target is a column index into the batch, as in PML, so the loss is meaningful only when \
            the labels are instance ids; with repeated labels, samples of the k-th smallest label all \
            target sample k. It always uses cosine similarity (no distance parameter) and takes neither \
            reference embeddings nor mined tuples, as in PML. γ = 64 makes the softmax sharp; the \
            log-sum-exp is max-shifted, so any γ stays finite.
            """,
        reference: "Zheng et al., Dual-Path Convolutional Image-Text Embeddings with Instance Loss, ACM TOMM 2020; PML InstanceLoss",
        parameters: [
            .double("gamma", 64, range: .greaterThan(0), doc: "scale applied to the cosine similarities (inverse temperature)"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["gamma=16"], ["gamma=32", "reducer=sum"]])

    public let gamma: Double
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        gamma = try arguments.double("gamma")
        reducer = try arguments.reducer()
    }

    /// tᵢ: the rank of yᵢ among the sorted distinct labels.
    static func targets(_ labels: [Int]) -> [Int] {
        let distinct = Array(Set(labels)).sorted()
        var rank: [Int: Int] = [:]
        for (index, label) in distinct.enumerated() { rank[label] = index }
        return labels.map { rank[$0]! }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let targets = InstanceLoss.targets(try input.classLabels(name))
        let cosine = CosineSimilarity()
        let matrix = try cosine.forward(input.embeddings, nil)
        let n = matrix.rows
        let gamma = self.gamma

        // One pass: each sample's value, and its unscaled gradient row γ·(softmax − onehot).
        var upstream = Matrix<S>(rows: n, columns: n)
        let values: [Double] = matrix.values.elements.withUnsafeBufferPointer { buffer in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let values = SendableConstPointer(buffer.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                let chunks = Parallel.map(n, grain: 16) { range -> [Double] in
                    range.map { i in
                        let row = values.pointer + i * n, outRow = out.pointer + i * n
                        var shift = -Double.infinity
                        for j in 0..<n { shift = Swift.max(shift, gamma * Double(row[j])) }
                        var sum = 0.0
                        for j in 0..<n { sum += Double.exp(gamma * Double(row[j]) - shift) }
                        let t = targets[i]
                        for j in 0..<n {
                            let softmax = Double.exp(gamma * Double(row[j]) - shift) / sum
                            outRow[j] = S(gamma * (softmax - (j == t ? 1 : 0)))
                        }
                        return shift + Double.log(sum) - gamma * Double(row[t])
                    }
                }
                return chunks.flatMap { $0 }
            }
        }
        return try LossAssembly.outputPerAnchor(input, distance: cosine, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name)
    }
}
