/// The contrastive loss on the signal-to-noise-ratio distance (Yuan et al. 2019), as PML's
/// `SignalToNoiseRatioContrastiveLoss`: `contrastive` with its distance fixed to `snr`.
public struct SignalToNoiseRatioContrastiveLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "snr-contrastive",
        summary: "The contrastive loss on the signal-to-noise-ratio distance Var(x̂ⱼ − x̂ₐ)/Var(x̂ₐ).",
        formula: """
            d(a, j) = Var_k(x̂ⱼₖ − x̂ₐₖ) / Var_k(x̂ₐₖ)   (asymmetric: the anchor is the signal)
            pos_loss = reduce over positive pairs of [d − pos-margin]₊
            neg_loss = reduce over negative pairs of [neg-margin − d]₊
            L = pos_loss + neg_loss
            """,
        discussion: """
            Use it where the contrastive loss is used, when the SNR distance's robustness to the scale \
            of the noise matters. The distance is fixed to SNR on normalised embeddings (PML requires \
            SNRDistance), so there is no distance parameter; embeddings need at least 2 dimensions and \
            must not be constant across them. Plain distance, no square and no ½, as in PML.
            """,
        reference: "Yuan et al., Signal-to-Noise Ratio: A Robust Distance Metric for Deep Metric Learning, CVPR 2019; PML SignalToNoiseRatioContrastiveLoss",
        parameters: [
            .double("pos-margin", 0, doc: "positive pairs are penalised beyond this SNR distance"),
            .double("neg-margin", 1, doc: "negative pairs are penalised within this SNR distance"),
            .reducer(default: "avg-non-zero"),
        ],
        examples: [[], ["pos-margin=0.2", "neg-margin=2"], ["neg-margin=2", "reducer=mean"]])

    let contrastive: ContrastiveLoss
    public var posMargin: Double { contrastive.posMargin }
    public var negMargin: Double { contrastive.negMargin }
    public var reducer: any Reducer { contrastive.reducer }

    public init(_ arguments: Arguments) throws {
        contrastive = try ContrastiveLoss(arguments, fixedDistance: SNRDistance(normalize: true),
                                          reportedName: Self.descriptor.name)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        try contrastive.compute(input)
    }
}
