/// CosFace (Wang et al. 2018): softmax over scaled cosines to class weights, with an additive
/// cosine margin on the target class.
public struct CosFaceLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "cosface", aliases: ["large-margin-cosine", "am-softmax"],
        summary: "Softmax over scaled cosines to class weights, with an additive cosine margin on the target: cos θ − m.",
        formula: """
            cosᵢ_c = x̂ᵢ·ŵ_c (W = weights, one row per class)
            zᵢ_c = s·cosᵢ_c (c ≠ yᵢ),  zᵢ_y = s·(cosᵢ_y − m)
            ℓᵢ = −Σ_c q_c·log softmax(zᵢ)_c,  q = (1 − ε)·onehot(yᵢ) + ε/C   (ε = label-smoothing)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            The large-margin cosine loss (also AM-Softmax): like arcface, but the margin is subtracted \
            from the cosine itself, so it needs no acos and has no singular points. `margin` is in \
            cosine units (0.35 as in the paper and PML), s = 64. The class weights are the trainable \
            parameter `weights`, C×D with one row per class (PML's W is D×C: Simile's is its \
            transpose), starting as PML's normal_: N(0, 1), drawn row-major from SeededGenerator(seed, \
            stream 0); they train at the model's learning rate (`lr-multiplier` 1). The cross-entropy \
            is max-shifted and summed in Double, so s = 64 is safe in Float. Mined tuples become \
            per-sample weights (occurrences / the largest count). Labels must lie in 0..<num-classes.
            """,
        reference: "Wang et al., CosFace: Large Margin Cosine Loss for Deep Face Recognition, CVPR 2018; PML CosFaceLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .double("margin", 0.35, doc: "m: subtracted from the target cosine, in cosine units"),
            .double("scale", 64, range: .greaterThan(0), doc: "s: the logits' scale (inverse temperature)"),
            ClassifierSupport.labelSmoothing,
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(1, "learning rate of the class weights relative to the model's"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "margin=0.2", "scale=16", "label-smoothing=0.1"],
                   ["num-classes=6", "embedding-size=5", "reducer=avg-non-zero", "seed=2"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let margin: Double
    public let scale: Double
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
        labelSmoothing = try arguments.double("label-smoothing")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        engine = AngularMarginSoftmax(numClasses: numClasses, embeddingSize: embeddingSize,
                                      target: .additiveCosine(margin), scale: scale,
                                      smoothing: labelSmoothing, reducer: try arguments.reducer(),
                                      loss: Self.descriptor.name)
        initial = ClassifierSupport.normal(rows: numClasses, columns: embeddingSize, standardDeviation: 1, seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["weights": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        try engine.compute(input)
    }
}
