import RealModule

/// Noise-contrastive estimation (Gutmann & Hyvärinen 2010; Mnih & Teh 2012) of a softmax
/// classifier: each sample's class must be told apart from K classes drawn at random.
public struct NCELoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "nce", aliases: ["noise-contrastive-estimation"],
        summary: "Noise-contrastive estimation: logistic regression of each sample's class against K classes drawn uniformly at random.",
        formula: """
            zᵢ_c = M[i,c]/T for a similarity (cosine by default), −M[i,c]/T for a distance   (M: embeddings × weights)
            Δᵢ_c = zᵢ_c − log(K·Q(c)),  Q(c) = 1/C (uniform noise), so Δ = z + log(C/K)
            nᵢ₁ … nᵢ_K ~ Q, drawn independently (with replacement; a draw may hit yᵢ)
            ℓᵢ = −log σ(Δᵢ_(yᵢ)) − Σ_k log(1 − σ(Δᵢ_(nᵢₖ))) = softplus(−Δᵢ_(yᵢ)) + Σ_k softplus(Δᵢ_(nᵢₖ))
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            NCE turns the C-way softmax into K + 1 binary decisions (is this the sample's class, or \
            noise?), so its cost per sample grows with K, not C: the approximation used for \
            large-vocabulary softmax layers (Mnih & Teh 2012 for language models; Mnih & Teh report \
            that about 25 noise samples come close to maximum likelihood). At its optimum exp(z) is the self-normalised class \
            probability. Use it for very many classes; for a few hundred, normalized-softmax is exact \
            and as cheap. This implementation still forms the N×C matrix with one GEMM (simple and fast \
            at moderate C); only K + 1 columns per row receive a gradient. \
            The noise is deterministic: the draws of a call with `step` t come from \
            SeededGenerator(seed, stream: t + 1), K per sample in order, each ⌊u·C/2⁶⁴⌋ for a 64-bit \
            draw u; `noiseClasses(samples:step:)` returns them. Pass a new step each training step. \
            The class weights are the trainable parameter `weights`, C×D with one row per class, \
            starting as N(0, 1) drawn row-major from SeededGenerator(seed, stream 0) (like PML's \
            classification losses), at the model's learning rate (`lr-multiplier` 1). There is no \
            bias term and no label smoothing (the targets are binary, not a distribution over \
            classes). No PML counterpart. Mined tuples become per-sample weights (occurrences / the \
            largest count). Labels must lie in 0..<num-classes.
            """,
        reference: "Gutmann & Hyvärinen, Noise-contrastive estimation: A new estimation principle for unnormalized statistical models, AISTATS 2010; Mnih & Teh, A fast and simple algorithm for training neural probabilistic language models, ICML 2012",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .int("noise-samples", 25, range: .atLeast(1), doc: "K: noise classes drawn per sample"),
            .double("temperature", 0.05, range: .greaterThan(0), doc: "T: the logits are similarities divided by T"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the initial weights and of the noise draws"),
            ClassifierSupport.learningRateMultiplier(1, "learning rate of the class weights relative to the model's"),
            .distance(default: "cosine"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=8", "embedding-size=5", "noise-samples=3", "temperature=0.5", "seed=4"],
                   ["num-classes=6", "embedding-size=5", "distance=dot(normalize=false)", "temperature=1", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let noiseSamples: Int
    public let temperature: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    public let distance: any Distance
    public let reducer: any Reducer
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        noiseSamples = try arguments.int("noise-samples")
        temperature = try arguments.double("temperature")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        initial = ClassifierSupport.normal(rows: numClasses, columns: embeddingSize, standardDeviation: 1, seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["weights": initial] }

    /// The noise classes of a call with this `step`: `noise-samples` per sample, in 0..<num-classes.
    public func noiseClasses(samples: Int, step: UInt64) -> [[Int]] {
        let flat = flatNoiseClasses(samples: samples, step: step)
        return (0..<samples).map { Array(flat[($0 * noiseSamples)..<(($0 + 1) * noiseSamples)]) }
    }

    /// The same draws, sample i's at i·K ..< (i + 1)·K of one array.
    func flatNoiseClasses(samples: Int, step: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: UInt64(seed), stream: step &+ 1)
        let c = UInt64(numClasses)
        return (0..<(samples * noiseSamples)).map { _ in Int(generator.next().multipliedFullWidth(by: c).high) }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: input.embeddings.columns,
                                    embeddingSize: embeddingSize, loss: name)
        let weights = try ClassifierSupport.parameter(input, "weights", loss: name)
        let n = input.embeddings.rows, c = numClasses
        let minerWeights = ClassifierSupport.minerWeights(input.tuples, count: n)
        let noise = flatNoiseClasses(samples: n, step: input.step), draws = noiseSamples
        let matrix = try distance.forward(input.embeddings, weights)
        let logitScale = -distance.sign / temperature
        let offset = Double.log(Double(c) / Double(noiseSamples))

        var upstream = Matrix<S>(rows: n, columns: c)
        let values: [Double] = matrix.values.elements.withUnsafeBufferPointer { source in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let m = SendableConstPointer(source.baseAddress!), out = SendablePointer(target.baseAddress!)
                return Parallel.map(n, grain: 64) { range -> [Double] in
                    range.map { i in
                        let row = m.pointer + i * c, g = out.pointer + i * c
                        let y = labels[i]
                        // The data term: softplus(−Δ), slope −σ(−Δ).
                        let data = logitScale * Double(row[y]) + offset
                        let (dataLoss, dataSlope) = ClassifierSupport.softplusAndSigmoid(-data)
                        var value = dataLoss
                        g[y] += S(-dataSlope * logitScale)
                        for q in (i * draws)..<((i + 1) * draws) {
                            let k = noise[q]
                            let delta = logitScale * Double(row[k]) + offset
                            let (noiseLoss, noiseSlope) = ClassifierSupport.softplusAndSigmoid(delta)
                            value += noiseLoss
                            g[k] += S(noiseSlope * logitScale)
                        }
                        return value
                    }
                }.flatMap { $0 }
            }
        }
        let (reduction, factors) = try ClassifierSupport.reducePerSample(values, minerWeights: minerWeights,
                                                                         reducer: reducer, labels: labels, loss: name)
        upstream.scaleRows { factors[$0] }
        let (gradient, weightGradient) = distance.backward(upstream, matrix)
        return LossAssembly.finish(input, gradient: gradient, referenceGradient: nil,
                                   terms: [("loss", reduction.value, reduction.included)],
                                   parameterGradients: ["weights": weightGradient!])
    }
}
