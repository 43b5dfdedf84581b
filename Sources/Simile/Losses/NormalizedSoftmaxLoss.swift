/// Normalized softmax (Zhai & Wu 2019): softmax cross-entropy over the cosines to normalised
/// class weights, divided by a temperature.
public struct NormalizedSoftmaxLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "normalized-softmax", aliases: ["norm-softmax"],
        summary: "Softmax cross-entropy over the similarities to L2-normalised class weights, divided by a temperature.",
        formula: """
            ŵ_c = w_c / max(‖w_c‖, 1e-12) (W = weights, one row per class),  M = the N×C matrix between x and Ŵ
            zᵢ_c = M[i,c]/T for a similarity (dot on normalised x by default: the cosine), −M[i,c]/T for a distance
            ℓᵢ = −Σ_c q_c·log softmax(zᵢ)_c,  q = (1 − ε)·onehot(yᵢ) + ε/C   (ε = label-smoothing)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            "Classification is a strong baseline for deep metric learning": a plain classifier on \
            normalised embeddings and normalised class weights, with a low temperature (0.05, i.e. \
            logits up to ±20). No margin; add one with cosface or arcface. The class weights are the \
            trainable parameter `weights`, C×D with one row per class (PML's W is D×C, normalised by \
            column: Simile's is its transpose, normalised by row). They start as PML's normal_: N(0, 1), \
            drawn row-major from SeededGenerator(seed, stream 0), and train at the model's learning \
            rate (`lr-multiplier` 1). The weights are always L2-normalised (PML normalises them \
            with the distance's p-norm; the two differ only for an lp distance with p ≠ 2 and \
            normalize=false); the distance decides whether the embeddings are (dot normalises them by \
            default, as PML's DotProductSimilarity does). Mined tuples become per-sample weights (occurrences / the \
            largest count). Labels must lie in 0..<num-classes. label-smoothing is Simile's addition \
            (0 by default, PML's behaviour).
            """,
        reference: "Zhai & Wu, Classification is a Strong Baseline for Deep Metric Learning, BMVC 2019; PML NormalizedSoftmaxLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .double("temperature", 0.05, range: .greaterThan(0), doc: "T: the logits are similarities divided by T"),
            ClassifierSupport.labelSmoothing,
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(1, "learning rate of the class weights relative to the model's"),
            .distance(default: "dot"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "temperature=0.2", "label-smoothing=0.1"],
                   ["num-classes=6", "embedding-size=5", "distance=dot(normalize=false)", "seed=2", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let temperature: Double
    public let labelSmoothing: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    public let distance: any Distance
    public let reducer: any Reducer
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        temperature = try arguments.double("temperature")
        labelSmoothing = try arguments.double("label-smoothing")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        initial = ClassifierSupport.normal(rows: numClasses, columns: embeddingSize, standardDeviation: 1, seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["weights": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: input.embeddings.columns,
                                    embeddingSize: embeddingSize, loss: name)
        let weights = try ClassifierSupport.parameter(input, "weights", loss: name)
        let minerWeights = ClassifierSupport.minerWeights(input.tuples, count: input.embeddings.rows)
        let normalization = RowNormalization(weights)
        let matrix = try distance.forward(input.embeddings, normalization.output)
        let (values, unscaled) = ClassifierSupport.linearSoftmax(matrix.values, logitScale: -distance.sign / temperature,
                                                                 labels: labels, smoothing: labelSmoothing)
        let (reduction, factors) = try ClassifierSupport.reducePerSample(values, minerWeights: minerWeights,
                                                                         reducer: reducer, labels: labels, loss: name)
        var upstream = unscaled
        upstream.scaleRows { factors[$0] }
        let (gradient, normalizedGradient) = distance.backward(upstream, matrix)
        return LossAssembly.finish(input, gradient: gradient, referenceGradient: nil,
                                   terms: [("loss", reduction.value, reduction.included)],
                                   parameterGradients: ["weights": normalization.backward(normalizedGradient!)])
    }
}
