/// ArcFace (Deng et al. 2019): softmax over scaled cosines to class weights, with an additive
/// angular margin on the target class.
public struct ArcFaceLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "arcface", aliases: ["additive-angular-margin"],
        summary: "Softmax over scaled cosines to class weights, with an additive angular margin m on the target: cos(θ + m).",
        formula: """
            cosᵢ_c = x̂ᵢ·ŵ_c (W = weights, one row per class),  θ = acos(clamp(cosᵢ_y, −1, 1)),  m = margin in radians
            ψ = cos(θ + m) if θ ≤ π − m, else cos θ − m·sin m   (keeps the target logit decreasing in θ)
            zᵢ_c = s·cosᵢ_c (c ≠ yᵢ),  zᵢ_y = s·ψ
            ℓᵢ = −Σ_c q_c·log softmax(zᵢ)_c,  q = (1 − ε)·onehot(yᵢ) + ε/C   (ε = label-smoothing)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            The standard face-recognition loss and a strong classifier-style metric loss: the margin \
            makes classes compact in angle. `margin` is in **degrees**, as in PML (28.6° ≈ 0.5 rad, the \
            paper's m); s = 64 is the paper's and PML's scale. The class weights are the trainable \
            parameter `weights`, C×D with one row per class: PML stores W as D×C, so Simile's matrix is \
            its transpose. They start from `seed` as PML's normal_: N(0, 1), drawn row-major from \
            SeededGenerator(seed, stream 0); only their directions matter. They train at the model's \
            learning rate (`lr-multiplier` 1): they are the last layer of a classifier. \
            Numerics: the cross-entropy is max-shifted and summed in Double, so s = 64 is safe in Float; \
            acos is taken of the clamped cosine, and its derivative 1/sin θ, infinite at cos = ±1, \
            is capped: sin θ is held at 1e-4 below that (θ within 1e-4 rad, 0.006°, of 0 or π), where \
            the cosine's own gradient vanishes anyway, so values and gradients stay finite for \
            duplicates of a class weight. PML uses the exact derivative; the two agree elsewhere \
            (in Float no cosine other than ±1 falls that close). Mined tuples become per-sample weights (occurrences / the largest count). \
            Labels must lie in 0..<num-classes; a class without a sample in the batch is still a \
            negative for every sample.
            """,
        reference: "Deng et al., ArcFace: Additive Angular Margin Loss for Deep Face Recognition, CVPR 2019; PML ArcFaceLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .double("margin", 28.6, range: .rightOpen(0, 180), doc: "m: the additive angular margin, in degrees"),
            .double("scale", 64, range: .greaterThan(0), doc: "s: the logits' scale (inverse temperature)"),
            ClassifierSupport.labelSmoothing,
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(1, "learning rate of the class weights relative to the model's"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "margin=10", "scale=16", "label-smoothing=0.1"],
                   ["num-classes=6", "embedding-size=5", "scale=30", "reducer=sum", "seed=2"]])

    public let numClasses: Int
    public let embeddingSize: Int
    /// In degrees.
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
                                      target: .additiveAngle(margin * .pi / 180), scale: scale,
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
