/// The absolute sum of each row, averaged (PML's `ZeroMeanRegularizer`, from the SNR paper):
/// pushes each embedding's components to sum, and so average, to zero.
public struct ZeroMeanRegularizer: Regularizer {
    public static let target = RegularizerTarget.embeddings
    public static let applicableTargets: [RegularizerTarget] = [.embeddings, .parameters]

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "zero-mean",
        summary: "Penalise the absolute sum of each row, so every embedding's components average to zero.",
        formula: """
            ℓᵢ = |Σₖ xᵢₖ|  (the sum over the D components of row i)
            R = reduce over rows of ℓᵢ (mean by default)
            """,
        discussion: """
            The regularizer of the signal-to-noise-ratio distance paper, where it is paired with snr-contrastive: \
            the SNR distance treats each embedding as a signal, and this keeps its mean at zero. It is a row sum, \
            not a mean over the batch (each embedding is centred on its own, not the batch around the origin). \
            Where a row sums to exactly 0 the subgradient is 0, as torch's. Applies to embeddings or, like PML, \
            to any parameter matrix.
            """,
        reference: "Yuan et al., Signal-To-Noise Ratio: A Robust Distance Metric for Deep Metric Learning, CVPR 2019; PML ZeroMeanRegularizer",
        parameters: [.reducer(default: "mean", doc: RegularizerAssembly.reducerDoc)],
        examples: [[], ["reducer=sum"]])

    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        reducer = try arguments.reducer()
        try RegularizerAssembly.rejectDivisor(reducer, regularizer: Self.descriptor.name)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S> {
        let x = input.matrix
        let n = x.rows, d = x.columns
        let sums: [Double] = x.elements.withUnsafeBufferPointer { buffer in
            (0..<n).map { i in
                let row = buffer.baseAddress! + i * d
                var sum = 0.0
                for k in 0..<d { sum += Double(row[k]) }
                return sum
            }
        }
        let values = sums.map { Swift.abs($0) }
        let reduction = try RegularizerAssembly.reduceRows(reducer, values, regularizer: name, labels: input.labels)
        var gradient = Matrix<S>(rows: n, columns: d)
        gradient.elements.withUnsafeMutableBufferPointer { target in
            for i in 0..<n {
                let sign: Double = sums[i] > 0 ? 1 : (sums[i] < 0 ? -1 : 0)
                let g = S(reduction.weight(values[i], group: i) * sign)
                guard g != 0 else { continue }
                let out = target.baseAddress! + i * d
                for k in 0..<d { out[k] = g }
            }
        }
        return RegularizerOutput(value: reduction.value, gradient: gradient,
                                 stats: ["loss.active": Double(reduction.included)])
    }
}
