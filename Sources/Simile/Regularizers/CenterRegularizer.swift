import RealModule

/// The center loss (Wen et al. 2016): each embedding is pulled towards a learned center of its
/// class, which makes classes compact. The centers are the regularizer's trainable parameter.
public struct CenterRegularizer: TrainableRegularizer {
    public static let target = RegularizerTarget.embeddings
    /// The recommended ECG pipeline's λ (Wen et al. use 0.003 for faces).
    public static let defaultWeight = 1e-3

    public static let descriptor = ComponentDescriptor(
        kind: .regularizer, name: "center",
        summary: "Center loss: pull each embedding towards a learned center of its class (weight λ = 1e-3 by default).",
        formula: """
            ℓᵢ = ½ ‖xᵢ − c_{yᵢ}‖₂²,  c = the trainable C×D parameter `centers` (row c is the center of class c)
            R = reduce over the batch of ℓᵢ (mean by default)
            ∂R/∂xᵢ = (xᵢ − c_{yᵢ})/N,  ∂R/∂c_c = −(1/N) Σ_{i: yᵢ = c} (xᵢ − c_c)   (mean reducer)
            """,
        discussion: """
            Composed as loss + λ·R (RegularizedLoss); λ = 1e-3 is the default weight there (the recommended ECG \
            pipeline's; Wen et al. use 0.003 for faces). The term is averaged over the \
            batch, as in Wen et al.'s Caffe layer (the paper writes a sum). It needs integer class labels in \
            0..<num-classes and embeddings of width embedding-size; a label outside that range is an error. \
            It acts on the embeddings as given, without normalising them. \
            The centers start as N(0, 1/D) draws from `seed` (norm ≈ 1, the scale of normalised embeddings), \
            and their gradient is returned as parameter `centers` (under RegularizedLoss: `center.centers`, \
            times λ) for the trainer's optimizer, at learning-rate-multiplier × the model's learning rate. \
            Wen et al. update the centers with their own rule instead: c_j ← c_j − α·Σ_{i: yᵢ = j}(c_j − xᵢ) \
            / (1 + n_j), with the center update rate α = 0.5 and n_j the class's count in the batch. Plain \
            SGD at model learning rate η on λ·R moves c_j by η·m·λ·(1/N)·Σ_{i: yᵢ = j}(c_j − xᵢ) for multiplier \
            m, so Wen's α corresponds to m = α·N / (η·λ·(1 + n_j)), about α·P/(η·λ) for P classes per batch \
            (α = 0.5, P = 8, η = 0.01, λ = 1e-3: m ≈ 4·10⁵). Adam-style optimizers rescale each gradient, so \
            there a step is about η·m whatever λ is: m = 1 (the default) moves the centers as fast as the \
            weights; raise it if the centers lag behind the embeddings. m = 0 freezes them.
            """,
        reference: "Wen et al., A Discriminative Feature Learning Approach for Deep Face Recognition, ECCV 2016",
        parameters: [
            .int("num-classes", nil, range: .atLeast(1), doc: "number of classes C; labels must lie in 0..<C"),
            .int("embedding-size", nil, range: .atLeast(1), doc: "embedding width D"),
            .double("learning-rate-multiplier", 1, range: .atLeast(0),
                    doc: "the centers' learning rate ÷ the model's (0 freezes them); see the notes for Wen et al.'s α"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the centers' initial values"),
            .reducer(default: "mean", doc: "how the per-sample values become one number"),
        ],
        examples: [["num-classes=4", "embedding-size=5"],
                   ["num-classes=5", "embedding-size=5", "seed=3", "learning-rate-multiplier=10", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let learningRateMultiplier: Double
    public let seed: Int
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        learningRateMultiplier = try arguments.double("learning-rate-multiplier")
        seed = try arguments.int("seed")
        reducer = try arguments.reducer()
        try RegularizerAssembly.rejectDivisor(reducer, regularizer: Self.descriptor.name)
    }

    /// `centers`: C×D, N(0, 1/D) from `seed`.
    public func initialParameters() -> [String: Matrix<Double>] {
        var generator = SeededGenerator(seed: UInt64(seed))
        let scale = 1 / Double(embeddingSize).squareRoot()
        let count = numClasses * embeddingSize
        return ["centers": Matrix(rows: numClasses, columns: embeddingSize,
                                  elements: (0..<count).map { _ in scale * generator.nextGaussian() })]
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: RegularizerInput<S>) throws -> RegularizerOutput<S> {
        guard let labels = input.labels else {
            throw SimileError.unsupported(component: name, message: "needs integer class labels, one per embedding")
        }
        let x = input.matrix
        let n = x.rows, d = x.columns
        guard d == embeddingSize else {
            throw SimileError.shapeMismatch(
                "'center' has embedding-size=\(embeddingSize) but the embeddings have \(d) columns; set embedding-size=\(d)")
        }
        if let bad = labels.firstIndex(where: { !(0..<numClasses).contains($0) }) {
            throw SimileError.invalidInput(
                "'center' has num-classes=\(numClasses), one center per label 0..<\(numClasses), but row \(bad) has label \(labels[bad]); "
                    + "set num-classes to at least \((labels.max() ?? 0) + 1) or relabel the classes 0..<\(numClasses)")
        }
        guard let centers = input.parameters["centers"] else {
            throw SimileError.invalidInput("internal error: 'center' was called without its parameter 'centers'")
        }
        let values: [Double] = x.elements.withUnsafeBufferPointer { xs in
            centers.elements.withUnsafeBufferPointer { cs in
                (0..<n).map { i in
                    let row = xs.baseAddress! + i * d, center = cs.baseAddress! + labels[i] * d
                    var sum = 0.0
                    for k in 0..<d {
                        let diff = Double(row[k]) - Double(center[k])
                        sum += diff * diff
                    }
                    return sum / 2
                }
            }
        }
        let reduction = try RegularizerAssembly.reduceRows(reducer, values, regularizer: name, labels: labels)
        var gradient = Matrix<S>(rows: n, columns: d)
        var centerGradient = [Double](repeating: 0, count: numClasses * d)
        x.elements.withUnsafeBufferPointer { xs in
            centers.elements.withUnsafeBufferPointer { cs in
                gradient.elements.withUnsafeMutableBufferPointer { target in
                    for i in 0..<n {
                        let weight = reduction.weight(values[i], group: i)
                        guard weight != 0 else { continue }
                        let row = xs.baseAddress! + i * d, center = cs.baseAddress! + labels[i] * d
                        let out = target.baseAddress! + i * d
                        let c = labels[i] * d
                        for k in 0..<d {
                            let g = weight * (Double(row[k]) - Double(center[k]))
                            out[k] = S(g)
                            centerGradient[c + k] -= g
                        }
                    }
                }
            }
        }
        return RegularizerOutput(
            value: reduction.value, gradient: gradient,
            parameterGradients: ["centers": Matrix(rows: numClasses, columns: d, elements: centerGradient.map { S($0) })],
            stats: ["loss.active": Double(reduction.included)])
    }
}
