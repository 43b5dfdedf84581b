extension Miner {
    /// Mines a batch: `try miner(embeddings, labels)`, or against a reference batch.
    ///
    /// - Parameters:
    ///   - embeddings: N×D, finite.
    ///   - labels: N class labels.
    ///   - reference: M×D reference embeddings (e.g. a cross-batch memory), with `referenceLabels`;
    ///     positives and negatives then index the reference.
    ///   - context: the training step (stochastic miners draw afresh each step) and item ids.
    /// - Throws: `SimileError` naming the offending input.
    public func callAsFunction<S: SimileFloat>(
        _ embeddings: Matrix<S>, _ labels: [Int], reference: Matrix<S>? = nil, referenceLabels: [Int]? = nil,
        context: MiningContext = MiningContext()
    ) throws -> Tuples {
        try mine(MinerInput(embeddings: embeddings, labels: labels, reference: reference, referenceLabels: referenceLabels,
                            context: context))
    }
}
