import RealModule

/// The Lp norm of each row raised to a power, averaged (PML's `LpRegularizer`): keeps embeddings
/// or class weights from growing without bound.
public struct LpRegularizer: Regularizer {
    public static let target = RegularizerTarget.embeddings
    public static let applicableTargets: [RegularizerTarget] = [.embeddings, .parameters]

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "lp",
        summary: "Penalise the Lp norm of each row (embeddings or class weights), raised to a power.",
        formula: """
            ℓᵢ = ‖xᵢ‖ₚ^power,  ‖x‖ₚ = (Σₖ |xₖ|ᵖ)^(1/p), on the raw (unnormalised) rows
            R = reduce over rows of ℓᵢ (mean by default)
            """,
        discussion: """
            Applies to a batch's embeddings (PML's embedding_regularizer) or to a loss's parameter matrix \
            (weight_regularizer), whose rows are classes: Simile stores proxies and class weights C×D, one row \
            per class, which is the matrix PML hands its weight regularizers (proxies, W.t(), fc.t()). \
            p=2, power=2 is the classic squared-L2 penalty (weight decay on the rows); power=1 penalises the \
            norm itself. A row of zeros has the subgradient 0 (PML's power < 1 gives NaN there). \
            p must be finite (PML also accepts p=inf).
            """,
        reference: "PML LpRegularizer",
        parameters: [
            .double("p", 2, range: .atLeast(1), doc: "the norm's exponent p ≥ 1 (2 = Euclidean, 1 = sum of absolute values)"),
            .double("power", 1, range: .greaterThan(0), doc: "the norm is raised to this power (2 = squared norm)"),
            .reducer(default: "mean", doc: RegularizerAssembly.reducerDoc),
        ],
        examples: [[], ["power=2"], ["p=1"], ["p=3", "power=0.5", "reducer=sum"]])

    public let p: Double
    public let power: Double
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        p = try arguments.double("p")
        power = try arguments.double("power")
        reducer = try arguments.reducer()
        try RegularizerAssembly.rejectDivisor(reducer, regularizer: Self.descriptor.name)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S> {
        let x = input.matrix
        let n = x.rows, d = x.columns
        let p = self.p, power = self.power
        let norms: [Double] = x.elements.withUnsafeBufferPointer { buffer in
            (0..<n).map { i in LpRegularizer.norm(buffer.baseAddress! + i * d, d, p: p) }
        }
        let values = norms.map { power == 1 ? $0 : Double.pow($0, power) }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw SimileError.numericalFailure(
                component: name,
                message: "‖x‖ₚ^power overflows for row \(bad) (norm \(norms[bad]), power \(power)); lower power or rescale the rows")
        }
        let reduction = try RegularizerAssembly.reduceRows(reducer, values, regularizer: name, labels: input.labels)
        var gradient = Matrix<S>(rows: n, columns: d)
        x.elements.withUnsafeBufferPointer { source in
            gradient.elements.withUnsafeMutableBufferPointer { target in
                for i in 0..<n {
                    let weight = reduction.weight(values[i], group: i)
                    let norm = norms[i]
                    guard weight != 0, norm > 0 else { continue }  // a zero row: subgradient 0
                    // ∂‖x‖ₚ^power/∂xₖ = power·‖x‖ₚ^(power−1) · sign(xₖ)·(|xₖ|/‖x‖ₚ)^(p−1)
                    let outer = weight * power * (power == 1 ? 1 : Double.pow(norm, power - 1))
                    let row = source.baseAddress! + i * d, out = target.baseAddress! + i * d
                    for k in 0..<d {
                        let v = Double(row[k])
                        let slope: Double
                        if p == 2 {
                            slope = v / norm
                        } else if p == 1 {
                            slope = v > 0 ? 1 : (v < 0 ? -1 : 0)
                        } else {
                            slope = v == 0 ? 0 : (v > 0 ? 1 : -1) * Double.pow(Swift.abs(v) / norm, p - 1)
                        }
                        out[k] = S(outer * slope)
                    }
                }
            }
        }
        return RegularizerOutput(value: reduction.value, gradient: gradient,
                                 stats: ["loss.active": Double(reduction.included)])
    }

    /// ‖x‖ₚ of one row, scaled by its largest entry for p ∉ {1, 2} so that |x|ᵖ cannot overflow.
    static func norm<S: SimileFloat>(_ row: UnsafePointer<S>, _ d: Int, p: Double) -> Double {
        if p == 2 {
            var sum = 0.0
            for k in 0..<d { sum += Double(row[k]) * Double(row[k]) }
            return sum.squareRoot()
        }
        if p == 1 {
            var sum = 0.0
            for k in 0..<d { sum += Swift.abs(Double(row[k])) }
            return sum
        }
        var largest = 0.0
        for k in 0..<d { largest = Swift.max(largest, Swift.abs(Double(row[k]))) }
        guard largest > 0 else { return 0 }
        var sum = 0.0
        for k in 0..<d { sum += Double.pow(Swift.abs(Double(row[k])) / largest, p) }
        return largest * Double.pow(sum, 1 / p)
    }
}
