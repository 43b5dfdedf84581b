/// RegularFace's exclusive regularization (PML's `RegularFaceRegularizer`): each class weight is
/// pushed away from its most similar other class weight.
public struct RegularFaceRegularizer: Regularizer {
    public static let target = RegularizerTarget.parameters

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "regular-face",
        summary: "Push each class weight away from its nearest other class weight (exclusive regularization).",
        formula: """
            for each row i of the C×D weight matrix W: jᵢ = argmax_{j ≠ i} s(wᵢ, wⱼ)  (chosen without gradient)
            ℓᵢ = s(wᵢ, w_{jᵢ}),  s = cosine by default
            R = reduce over rows of ℓᵢ (mean by default)
            """,
        discussion: """
            For classifier and proxy losses: it spreads the class weights apart on the sphere, which a softmax \
            loss alone does not do for classes that never meet in a batch. The nearest neighbour is picked \
            without gradient and the gradient flows through that one similarity (to both rows), as in PML; on \
            ties the lowest index wins. The value can be negative (a spread-out set has negative nearest \
            cosines). Applies to a loss's parameter matrix only: rows are classes. Simile stores proxies and \
            class weights C×D (one row per class), the matrix PML hands its weight regularizers (W.t() of \
            its D×C weights). It needs at least two rows, and the full C×C similarity matrix (O(C²) memory).
            """,
        reference: "Zhao et al., RegularFace: Deep Face Recognition via Exclusive Regularization, CVPR 2019; PML RegularFaceRegularizer",
        parameters: [
            .distance(default: "cosine", doc: "a similarity between class weights (cosine or dot); a distance is rejected"),
            .reducer(default: "mean", doc: RegularizerAssembly.reducerDoc),
        ],
        examples: [[], ["distance=dot(normalize=false)"], ["reducer=sum"]])

    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        guard distance.isSimilarity else {
            throw SimileError.incompatible(
                "'regular-face' needs a similarity (larger = closer) to find each class's nearest neighbour, "
                    + "but '\(distance.name)' is a distance; use distance=cosine (the default) or distance=dot")
        }
        try RegularizerAssembly.rejectDivisor(reducer, regularizer: Self.descriptor.name)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S> {
        let n = input.matrix.rows
        guard n >= 2 else {
            throw SimileError.invalidInput(
                "'regular-face' needs at least 2 rows (classes) to find each row's nearest other row, but the matrix has \(n)")
        }
        let matrix = try distance.forward(input.matrix, nil)
        let similarities = matrix.values
        var nearest = [Int](repeating: 0, count: n)
        var values = [Double](repeating: 0, count: n)
        similarities.elements.withUnsafeBufferPointer { buffer in
            for i in 0..<n {
                let row = buffer.baseAddress! + i * n
                var best = i == 0 ? 1 : 0
                for j in 0..<n where j != i && row[j] > row[best] { best = j }
                nearest[i] = best
                values[i] = Double(row[best])
            }
        }
        let reduction = try RegularizerAssembly.reduceRows(reducer, values, regularizer: name, labels: input.labels)
        var upstream = Matrix<S>(rows: n, columns: n)
        for i in 0..<n { upstream[i, nearest[i]] = S(reduction.weight(values[i], group: i)) }
        let gradient = distance.backward(upstream, matrix).x
        return RegularizerOutput(value: reduction.value, gradient: gradient,
                                 stats: ["loss.active": Double(reduction.included)])
    }
}
