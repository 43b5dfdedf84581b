/// ProxyNCA (Movshovitz-Attias et al. 2017): neighbourhood component analysis against one proxy
/// per class instead of the other samples.
public struct ProxyNCALoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "proxy-nca",
        summary: "Softmax over the (negated) distances to one proxy per class: each sample must be closest to its own class's proxy.",
        formula: """
            M = the N×C matrix between the embeddings and the proxies (squared normalised L2 by default)
            zᵢ_c = −t·M[i,c] for a distance, t·M[i,c] for a similarity   (t = softmax-scale)
            ℓᵢ = −Σ_c q_c·log softmax(zᵢ)_c,  q = (1 − ε)·onehot(yᵢ) + ε/C   (ε = label-smoothing; ε = 0 is PML's −log pᵢ_y)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights from the anchors only)
            """,
        discussion: """
            The original proxy loss: cheap (one N×C matrix) and free of sampling, a good baseline for \
            many classes. PML's default distance is the squared L2 distance between normalised \
            vectors, d² = 2 − 2·cos, with softmax-scale 1, which makes a soft softmax; ProxyNCA++ \
            (Teh et al. 2020) found a low temperature, i.e. a larger softmax-scale, to matter. \
            The proxies are the trainable parameter `proxies` (C×D, one row per class, as in PML), \
            starting as PML's normal_: N(0, 1), drawn row-major from SeededGenerator(seed, stream 0); \
            their learning rate is usually about 100× the model's (`lr-multiplier`). Mined tuples \
            become per-sample weights from the **anchors** only (PML passes using_ref=True): \
            occurrences as an anchor / the largest count; no tuples or empty tuples weigh everyone 1. \
            Labels must lie in 0..<num-classes. \
            Deviation from PML: PML drops samples whose softmax probability underflows to exactly 0 \
            (only possible with a very large softmax-scale); Simile computes the log-softmax stably \
            (max-shifted, summed in Double) and keeps them, with their finite, large loss. \
            label-smoothing is Simile's addition (0 by default, PML's behaviour).
            """,
        reference: "Movshovitz-Attias et al., No Fuss Distance Metric Learning using Proxies, ICCV 2017; PML ProxyNCALoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .double("softmax-scale", 1, range: .greaterThan(0), doc: "t: multiplies the logits (an inverse temperature)"),
            ClassifierSupport.labelSmoothing,
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(
                100, "learning rate of the proxies relative to the model's (proxy losses commonly use 100×)"),
            .distance(default: "lp(power=2)"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "softmax-scale=9", "label-smoothing=0.1"],
                   ["num-classes=6", "embedding-size=5", "distance=cosine", "seed=2", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let softmaxScale: Double
    public let labelSmoothing: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    public let distance: any Distance
    public let reducer: any Reducer
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        softmaxScale = try arguments.double("softmax-scale")
        labelSmoothing = try arguments.double("label-smoothing")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        initial = ClassifierSupport.normal(rows: numClasses, columns: embeddingSize, standardDeviation: 1, seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["proxies": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: input.embeddings.columns,
                                    embeddingSize: embeddingSize, loss: name)
        let proxies = try ClassifierSupport.parameter(input, "proxies", loss: name)
        let minerWeights = ClassifierSupport.minerWeights(input.tuples, count: input.embeddings.rows, anchorsOnly: true)
        let matrix = try distance.forward(input.embeddings, proxies)
        let (values, unscaled) = ClassifierSupport.linearSoftmax(matrix.values, logitScale: -distance.sign * softmaxScale,
                                                                 labels: labels, smoothing: labelSmoothing)
        let (reduction, factors) = try ClassifierSupport.reducePerSample(values, minerWeights: minerWeights,
                                                                         reducer: reducer, labels: labels, loss: name)
        var upstream = unscaled
        upstream.scaleRows { factors[$0] }
        let (gradient, proxyGradient) = distance.backward(upstream, matrix)
        return LossAssembly.finish(input, gradient: gradient, referenceGradient: nil,
                                   terms: [("loss", reduction.value, reduction.included)],
                                   parameterGradients: ["proxies": proxyGradient!])
    }
}
