/// Pulls every row's squared norm towards their mean (PML's `CenterInvariantRegularizer`): class
/// weights (or embeddings) of equal length, so that no class dominates by its norm.
public struct CenterInvariantRegularizer: Regularizer {
    public static let target = RegularizerTarget.parameters
    public static let applicableTargets: [RegularizerTarget] = [.parameters, .embeddings]

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "center-invariant",
        summary: "Pull every row's squared norm towards the mean squared norm, so class weights have equal length.",
        formula: """
            qᵢ = ‖xᵢ‖₂²  (raw rows),  q̄ = (1/C) Σⱼ qⱼ
            ℓᵢ = (qᵢ − q̄)² / 4
            R = reduce over rows of ℓᵢ (mean by default)
            """,
        discussion: """
            From the center-invariant loss, which keeps the class centers of a face classifier at equal norms so \
            that frequent classes do not grow longer weights than rare ones. Meant for a loss's class-weight \
            or proxy matrix (rows are classes: Simile stores them C×D, the matrix PML hands its weight \
            regularizers); like PML it also accepts embeddings. The mean q̄ depends on every row, and the \
            gradient includes that path. PML computes the norms with a distance it requires to be \
            lp(power=1, normalize=false); Simile has no distance parameter here and always uses the raw L2 norm.
            """,
        reference: "Wu et al., Deep Face Recognition with Center Invariant Loss, ACM MM Workshops 2017; PML CenterInvariantRegularizer",
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
        let squares: [Double] = x.elements.withUnsafeBufferPointer { buffer in
            (0..<n).map { i in
                let row = buffer.baseAddress! + i * d
                var sum = 0.0
                for k in 0..<d { sum += Double(row[k]) * Double(row[k]) }
                return sum
            }
        }
        let mean = squares.reduce(0, +) / Double(n)
        let values = squares.map { ($0 - mean) * ($0 - mean) / 4 }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw SimileError.numericalFailure(
                component: name, message: "the squared norms overflow at row \(bad); rescale the rows")
        }
        let reduction = try RegularizerAssembly.reduceRows(reducer, values, regularizer: name, labels: input.labels)
        // R = Σᵢ wᵢ(qᵢ − q̄)²/4, so ∂R/∂qₖ = tₖ − (1/C)Σᵢ tᵢ with tᵢ = wᵢ(qᵢ − q̄)/2, and ∂qₖ/∂xₖ = 2xₖ.
        let t = (0..<n).map { reduction.weight(values[$0], group: $0) * (squares[$0] - mean) / 2 }
        let meanT = t.reduce(0, +) / Double(n)
        var gradient = Matrix<S>(rows: n, columns: d)
        x.elements.withUnsafeBufferPointer { source in
            gradient.elements.withUnsafeMutableBufferPointer { target in
                for i in 0..<n {
                    let factor = S(2 * (t[i] - meanT))
                    guard factor != 0 else { continue }
                    let row = source.baseAddress! + i * d, out = target.baseAddress! + i * d
                    for k in 0..<d { out[k] = factor * row[k] }
                }
            }
        }
        return RegularizerOutput(value: reduction.value, gradient: gradient,
                                 stats: ["loss.active": Double(reduction.included), "mean_squared_norm": mean])
    }
}
