/// What a training-mode `MLP.forward` returns: the output, and everything `MLP.backward` needs
/// (each layer's input, pre-activations, LayerNorm statistics, dropout masks, and the parameters
/// the pass ran with). Inference (`MLP.embed`) keeps none of this.
public struct MLPForwardPass<S: SimileFloat>: Sendable {
    /// The architecture that made the pass.
    public let spec: MLPSpec
    /// The embeddings, batch × outputSize.
    public let output: Matrix<S>
    /// The parameters the pass ran with (copy-on-write: shared with the model until it changes).
    let parameters: [String: Matrix<S>]
    /// The input of each Linear layer (the batch, then each hidden layer's output).
    let inputs: [Matrix<S>]
    let hiddenLayers: [HiddenLayer]
    /// The final row normalisation (pre-normalisation output and norms), when the spec normalises.
    let normalization: RowNormalization<S>?

    struct HiddenLayer: Sendable {
        /// u, the activation's input (after LayerNorm when there is one).
        let preActivation: Matrix<S>
        /// ẑ = (z − mean)/√(var + ε), with LayerNorm.
        let normalized: Matrix<S>?
        /// 1/√(var + ε) per row, with LayerNorm.
        let inverseDeviations: [S]?
        /// 0 or 1/(1 − p) per unit, with dropout.
        let mask: Matrix<S>?
    }

    /// The dropout mask of hidden layer `layer` (0 for a dropped unit, 1/(1 − p) for a kept one),
    /// or nil without dropout.
    public func dropoutMask(layer: Int) -> Matrix<S>? {
        hiddenLayers.indices.contains(layer) ? hiddenLayers[layer].mask : nil
    }
}
