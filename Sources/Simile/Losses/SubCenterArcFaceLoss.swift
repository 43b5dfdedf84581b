import RealModule

/// Sub-center ArcFace (Deng et al. 2020): ArcFace with K sub-centers per class, each sample
/// compared with its class's nearest one, which makes the loss robust to noisy labels.
public struct SubCenterArcFaceLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "sub-center-arcface",
        summary: "ArcFace with K sub-centers per class: each sample is compared with its class's closest sub-center.",
        formula: """
            cosᵢ_c = max_k x̂ᵢ·ŵ_(c·K+k)   (W = weights, K rows per class, class-major)
            θ = acos(clamp(cosᵢ_y, −1, 1)),  m = margin in radians
            ψ = cos(θ + m) if θ ≤ π − m, else cos θ − m·sin m
            zᵢ_c = s·cosᵢ_c (c ≠ yᵢ),  zᵢ_y = s·ψ
            ℓᵢ = −Σ_c q_c·log softmax(zᵢ)_c,  q = (1 − ε)·onehot(yᵢ) + ε/C   (ε = label-smoothing)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            For data with noisy labels: a mislabelled or atypical sample can settle on a sub-center of \
            its own instead of dragging the class's dominant one. After some training, `outliers(...)` \
            (PML's get_outliers) finds each class's dominant sub-center (the one most of its samples are \
            closest to) and the samples more than `threshold` degrees (75 by default) from it, to drop \
            from the data set; the paper then retrains with K = 1. The weights are the trainable \
            parameter `weights`, (C·K)×D, class-major: sub-center k of class c is row c·K + k (PML's W \
            is D×(C·K), whose columns are these rows). They start as PML's normal_: N(0, 1), drawn \
            row-major from SeededGenerator(seed, stream 0), at the model's learning rate \
            (`lr-multiplier` 1). The max over sub-centers passes the gradient to the closest one (the \
            first on a tie). `margin` is in degrees, s = 64, and the numerics are arcface's: a \
            max-shifted cross-entropy summed in Double, and the derivative of acos capped at \
            cos = ±1. Labels must lie in 0..<num-classes.
            """,
        reference: "Deng et al., Sub-center ArcFace: Boosting Face Recognition by Large-scale Noisy Web Faces, ECCV 2020; PML SubCenterArcFaceLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .double("margin", 28.6, range: .rightOpen(0, 180), doc: "m: the additive angular margin, in degrees"),
            .double("scale", 64, range: .greaterThan(0), doc: "s: the logits' scale (inverse temperature)"),
            .int("sub-centers", 3, range: .atLeast(1), doc: "K: sub-centers per class"),
            ClassifierSupport.labelSmoothing,
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(1, "learning rate of the sub-centers relative to the model's"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "sub-centers=2", "margin=10", "scale=16", "label-smoothing=0.1"],
                   ["num-classes=6", "embedding-size=5", "sub-centers=1", "seed=2", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    /// In degrees.
    public let margin: Double
    public let scale: Double
    public let subCenters: Int
    public let labelSmoothing: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    let engine: AngularMarginSoftmax
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        margin = try arguments.double("margin")
        scale = try arguments.double("scale")
        subCenters = try arguments.int("sub-centers")
        labelSmoothing = try arguments.double("label-smoothing")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        engine = AngularMarginSoftmax(numClasses: numClasses, subCenters: subCenters, embeddingSize: embeddingSize,
                                      target: .additiveAngle(margin * .pi / 180), scale: scale,
                                      smoothing: labelSmoothing, reducer: try arguments.reducer(),
                                      loss: Self.descriptor.name)
        initial = ClassifierSupport.normal(rows: numClasses * subCenters, columns: embeddingSize,
                                           standardDeviation: 1, seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["weights": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        try engine.compute(input)
    }

    /// What `outliers(_:labels:weights:threshold:)` finds.
    public struct Outliers: Sendable, Equatable {
        /// Samples whose angle to their class's dominant sub-center exceeds the threshold, class by
        /// class (classes in increasing order, samples in increasing order within a class), as PML
        /// lists them.
        public var indices: [Int]
        /// For each class, its dominant sub-center k (0..<K, row c·K + k of the weights): the one
        /// most of the class's samples are closest to (the smallest k on a tie); nil for a class
        /// with no sample in the batch.
        public var dominantSubCenters: [Int?]
        /// For each sample, the dominant sub-center of its class.
        public var sampleDominantSubCenters: [Int]
        /// For each sample, its angle to that sub-center, in degrees.
        public var angles: [Double]
    }

    /// PML's `get_outliers`: the samples more than `threshold` degrees from their class's dominant
    /// sub-center (the sub-center that most of the class's samples are closest to).
    ///
    /// - Parameters:
    ///   - embeddings: N×D, finite.
    ///   - labels: N labels in 0..<num-classes.
    ///   - weights: the (C·K)×D sub-centers; nil uses the initial ones.
    ///   - threshold: in degrees, in [0, 180]; a sample is an outlier when its angle is strictly
    ///     larger (PML: cosine < cos(threshold)). PML's default is 75.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func outliers<S: SimileFloat>(_ embeddings: Matrix<S>, labels: [Int], weights: Matrix<S>? = nil,
                                         threshold: Double = 75) throws -> Outliers {
        let name = Self.descriptor.name
        guard (0...180).contains(threshold) else {
            throw SimileError.parameterOutOfRange(component: name, parameter: "threshold",
                                                  value: "\(threshold)", range: "in [0, 180] (degrees)")
        }
        guard embeddings.rows > 0 else { throw SimileError.empty("the batch is empty: embeddings have 0 rows") }
        guard labels.count == embeddings.rows else {
            throw SimileError.shapeMismatch(
                "embeddings have \(embeddings.rows) rows but there are \(labels.count) labels; give one label per row")
        }
        try embeddings.requireFinite("embeddings")
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: embeddings.columns,
                                    embeddingSize: embeddingSize, loss: name)
        let w = weights ?? initial.converted(to: S.self)
        guard w.rows == numClasses * subCenters, w.columns == embeddingSize else {
            throw SimileError.shapeMismatch(
                "parameter 'weights' of '\(name)' must be \(numClasses * subCenters)×\(embeddingSize), but \(w.rows)×\(w.columns) was given")
        }
        try w.requireFinite("parameter 'weights'")
        let cosines = try CosineSimilarity().forward(embeddings, w).values
        let k = subCenters
        let limit = Double.cos(threshold * .pi / 180)
        var result = Outliers(indices: [], dominantSubCenters: [Int?](repeating: nil, count: numClasses),
                              sampleDominantSubCenters: [Int](repeating: 0, count: labels.count),
                              angles: [Double](repeating: 0, count: labels.count))
        for c in 0..<numClasses {
            let members = labels.indices.filter { labels[$0] == c }
            guard !members.isEmpty else { continue }
            var votes = [Int](repeating: 0, count: k)
            for i in members {
                var closest = 0
                for q in 1..<Swift.max(k, 1) where cosines[i, c * k + q] > cosines[i, c * k + closest] { closest = q }
                votes[closest] += 1
            }
            var dominant = 0
            for q in 1..<Swift.max(k, 1) where votes[q] > votes[dominant] { dominant = q }
            result.dominantSubCenters[c] = dominant
            for i in members {
                let cosine = Double(cosines[i, c * k + dominant])
                result.sampleDominantSubCenters[i] = dominant
                result.angles[i] = Double.acos(Swift.min(Swift.max(cosine, -1), 1)) * 180 / .pi
                if cosine < limit { result.indices.append(i) }
            }
        }
        return result
    }
}
