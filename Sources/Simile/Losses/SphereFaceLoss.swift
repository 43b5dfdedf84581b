/// SphereFace / A-Softmax (Liu et al. 2017): softmax over cosines to class weights scaled by the
/// embedding's norm, with a multiplicative angular margin on the target class.
public struct SphereFaceLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "sphereface", aliases: ["a-softmax", "large-margin-softmax"],
        summary: "Softmax over cosines scaled by ‖x‖, with a multiplicative angular margin on the target: ψ(θ) ≈ cos(mθ).",
        formula: """
            cosᵢ_c = x̂ᵢ·ŵ_c (W = weights, one row per class),  θ = acos(clamp(cosᵢ_y, −1, 1)),  m = margin (an integer)
            ψ = (−1)ᵏ·cos(mθ) − 2k,  k = ⌊θ / (π/m)⌋,  cos(mθ) = Σₙ (−1)ⁿ·C(m, 2n)·cᵐ⁻²ⁿ·(1 − c²)ⁿ with c = cosᵢ_y
            zᵢ_c = s·‖xᵢ‖·(‖w_c‖ if weight-norm)·cosᵢ_c (c ≠ yᵢ),  zᵢ_y = s·‖xᵢ‖·(‖w_y‖ if weight-norm)·ψ
            ℓᵢ = −Σ_c q_c·log softmax(zᵢ)_c,  q = (1 − ε)·onehot(yᵢ) + ε/C   (ε = label-smoothing)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            SphereFace (A-Softmax) multiplies the target angle by m = 4, a much stronger margin than \
            arcface's, and scales the logits by the raw embedding norm ‖x‖ (not by a fixed s; `scale` \
            multiplies on top, 1 by default, as in PML). ψ is PML's piecewise extension of cos(mθ), \
            monotonic over [0, π]; k is held fixed in the gradient (PML computes it without gradient), \
            and cos(mθ) is the multiple-angle polynomial of the cosine, so no acos derivative is \
            needed. With weight-norm=true the logits are also multiplied by ‖w_c‖: that is the \
            large-margin softmax (L-Softmax, Liu et al. 2016) as PML's LargeMarginSoftmaxLoss computes \
            it; SphereFace, PML's SphereFaceLoss, drops the weight norm. The alias \
            `large-margin-softmax` names this component, so pass weight-norm=true to get PML's \
            LargeMarginSoftmaxLoss. The class weights are the trainable parameter `weights`, C×D with \
            one row per class (PML's W is D×C: Simile's is its transpose), starting as PML's normal_: \
            N(0, 1), drawn row-major from SeededGenerator(seed, stream 0), at the model's learning \
            rate (`lr-multiplier` 1). ‖x‖ = 0 gives zero logits and a zero gradient through the norm, \
            as torch's norm does. The original papers anneal a blend with the plain softmax during \
            training; neither PML nor Simile does. Mined tuples become per-sample weights \
            (occurrences / the largest count). Labels must lie in 0..<num-classes.
            """,
        reference: "Liu et al., SphereFace: Deep Hypersphere Embedding for Face Recognition, CVPR 2017; Liu et al., Large-Margin Softmax Loss for Convolutional Neural Networks, ICML 2016; PML SphereFaceLoss and LargeMarginSoftmaxLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .int("margin", 4, range: .atLeast(1), doc: "m: the integer multiplier of the target angle (1 = no margin)"),
            .double("scale", 1, range: .greaterThan(0), doc: "s: multiplies the logits on top of ‖x‖"),
            .bool("weight-norm", false,
                  doc: "also multiply each logit by ‖w_c‖: PML's LargeMarginSoftmaxLoss (L-Softmax) instead of SphereFace"),
            ClassifierSupport.labelSmoothing,
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(1, "learning rate of the class weights relative to the model's"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "margin=3", "scale=2", "label-smoothing=0.1"],
                   ["num-classes=6", "embedding-size=5", "weight-norm=true", "seed=2"],
                   ["num-classes=4", "embedding-size=5", "margin=1", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let margin: Int
    public let scale: Double
    public let weightNorm: Bool
    public let labelSmoothing: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    let engine: AngularMarginSoftmax
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        margin = try arguments.int("margin")
        scale = try arguments.double("scale")
        weightNorm = try arguments.bool("weight-norm")
        labelSmoothing = try arguments.double("label-smoothing")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        engine = AngularMarginSoftmax(numClasses: numClasses, embeddingSize: embeddingSize,
                                      target: .multiplicativeAngle(margin), scale: scale, embeddingNorm: true,
                                      weightNorm: weightNorm, smoothing: labelSmoothing,
                                      reducer: try arguments.reducer(), loss: Self.descriptor.name)
        initial = ClassifierSupport.normal(rows: numClasses, columns: embeddingSize, standardDeviation: 1, seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["weights": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        try engine.compute(input)
    }
}
