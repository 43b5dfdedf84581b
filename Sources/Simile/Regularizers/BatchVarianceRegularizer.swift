/// VICReg's variance term: a hinge that keeps the standard deviation of every embedding
/// dimension over the batch above a floor, so that the embedding cannot collapse to a point.
public struct BatchVarianceRegularizer: Regularizer {
    public static let target = RegularizerTarget.embeddings

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "batch-variance",
        summary: "Keep every embedding dimension's standard deviation over the batch above a floor (VICReg's variance term).",
        formula: """
            μⱼ = (1/N) Σᵢ xᵢⱼ,  Varⱼ = Σᵢ (xᵢⱼ − μⱼ)² / (N − 1)  (Bessel's correction, as VICReg)
            σⱼ = √(Varⱼ + ε)
            R = (1/D) Σⱼ max(0, γ − σⱼ)
            """,
        discussion: """
            Guards against collapse: a loss that only pulls positives together (or a center loss) can be \
            minimised by mapping everything to one point, and this term is then at its maximum γ − √ε. It \
            acts per dimension over the batch, so it needs at least 2 rows (a batch of one has no variance and \
            is an error), and its value depends on the batch size through the sample variance. ε keeps the \
            square root away from 0: constant embeddings give the maximum penalty γ − √ε with a finite (zero) \
            gradient, and any spread then pushes the dimensions apart. A dimension exactly at the floor \
            gets the subgradient 0. γ is in the embeddings' units: for L2-normalised embeddings the D variances sum to at most \
            about 1, so γ = 1 never switches off and a floor near 1/√D suits them better (VICReg uses γ = 1 on \
            unnormalised projections, with weight 25 against its invariance term). Not in PML.
            """,
        reference: "Bardes, Ponce, LeCun, VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning, ICLR 2022 (the variance term)",
        parameters: [
            .double("gamma", 1, range: .greaterThan(0), doc: "the floor γ on each dimension's standard deviation, in embedding units"),
            .double("epsilon", 1e-4, range: .greaterThan(0), doc: "ε added to the variance under the square root"),
        ],
        examples: [[], ["gamma=0.5", "epsilon=1e-3"]])

    public let gamma: Double
    public let epsilon: Double

    public init(_ arguments: Arguments) throws {
        gamma = try arguments.double("gamma")
        epsilon = try arguments.double("epsilon")
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S> {
        let x = input.matrix
        let n = x.rows, d = x.columns
        guard n >= 2 else {
            throw SimileError.invalidInput(
                "'batch-variance' needs at least 2 rows to measure each dimension's variance over the batch, but the batch has \(n)")
        }
        var means = [Double](repeating: 0, count: d)
        var squares = [Double](repeating: 0, count: d)
        x.elements.withUnsafeBufferPointer { buffer in
            for i in 0..<n {
                let row = buffer.baseAddress! + i * d
                for k in 0..<d { means[k] += Double(row[k]) }
            }
            for k in 0..<d { means[k] /= Double(n) }
            for i in 0..<n {
                let row = buffer.baseAddress! + i * d
                for k in 0..<d {
                    let centred = Double(row[k]) - means[k]
                    squares[k] += centred * centred
                }
            }
        }
        let deviations = squares.map { ($0 / Double(n - 1) + epsilon).squareRoot() }
        var value = 0.0
        var active = 0
        // ∂R/∂xᵢⱼ = −(1/D)·(xᵢⱼ − μⱼ) / ((N − 1)·σⱼ) where σⱼ < γ (the mean's path cancels).
        var slopes = [Double](repeating: 0, count: d)
        for k in 0..<d where deviations[k] < gamma {
            value += gamma - deviations[k]
            active += 1
            slopes[k] = -1 / (Double(d) * Double(n - 1) * deviations[k])
        }
        var gradient = Matrix<S>(rows: n, columns: d)
        x.elements.withUnsafeBufferPointer { source in
            gradient.elements.withUnsafeMutableBufferPointer { target in
                let activeDimensions = (0..<d).filter { slopes[$0] != 0 }
                for i in 0..<n {
                    let row = source.baseAddress! + i * d, out = target.baseAddress! + i * d
                    for k in activeDimensions { out[k] = S(slopes[k] * (Double(row[k]) - means[k])) }
                }
            }
        }
        let meanDeviation = deviations.reduce(0, +) / Double(d)
        return RegularizerOutput(value: value / Double(d), gradient: gradient,
                                 stats: ["active_dimensions": Double(active), "mean_std": meanDeviation])
    }
}
