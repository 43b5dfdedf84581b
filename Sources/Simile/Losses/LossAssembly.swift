/// The steps that losses computed on a pairwise matrix share: reducing sub-losses and
/// backpropagating dL/dM into the embeddings.
enum LossAssembly {
    /// Reduces one sub-loss's per-anchor bags with the loss's reducer.
    static func reduce(_ reducer: any Reducer, _ bags: [Bag], loss: String, term: String, kind: TermKind,
                       labels: Labels, divisor: Double? = nil) throws -> Reduction {
        try reducer.reduce(bags, ReductionContext(loss: loss, term: term, kind: kind, groupLabels: labels.classes,
                                                  divisor: divisor))
    }

    /// The end of a loss with one element per anchor (`nil`: the anchor has none) whose gradient
    /// rows hold dℓₐ/dM unscaled: reduce the elements, scale row a by its element's weight (times
    /// `rowFactor`), and backpropagate through the distance.
    static func outputPerAnchor<S: SimileFloat>(
        _ input: LossInput<S>, distance: any Distance, matrix: PairwiseMatrix<S>, upstream: Matrix<S>,
        values: [Double?], reducer: any Reducer, loss: String, rowFactor: Double = 1
    ) throws -> LossOutput<S> {
        let gate = reducer.gate
        let bags = values.map { value -> Bag in
            var bag = Bag()
            if let value { bag.add(value, gate: gate) }
            return bag
        }
        let reduction = try reduce(reducer, bags, loss: loss, term: "loss", kind: .element, labels: input.labels)
        var upstream = upstream
        upstream.scaleRows { a in values[a].map { reduction.weight($0, group: a) * rowFactor } ?? 0 }
        return output(input, distance: distance, matrix: matrix, upstream: upstream, terms: [("loss", reduction)])
    }

    /// Turns dL/dM into the output: gradients through the distance, sub-losses summed, stats.
    static func output<S: SimileFloat>(
        _ input: LossInput<S>, distance: any Distance, matrix: PairwiseMatrix<S>, upstream: Matrix<S>,
        terms: [(name: String, reduction: Reduction)], stats: [String: Double] = [:]
    ) -> LossOutput<S> {
        let (gradient, referenceGradient) = distance.backward(upstream, matrix)
        return finish(input, gradient: gradient, referenceGradient: referenceGradient,
                      terms: terms.map { ($0.name, $0.reduction.value, $0.reduction.included) }, stats: stats)
    }

    /// Assembles an output from gradients and reduced terms (name, value, active elements).
    static func finish<S: SimileFloat>(
        _ input: LossInput<S>, gradient: Matrix<S>, referenceGradient: Matrix<S>?,
        terms: [(name: String, value: Double, active: Int)], parameterGradients: [String: Matrix<S>] = [:],
        stats: [String: Double] = [:]
    ) -> LossOutput<S> {
        var allStats = stats
        for term in terms { allStats["\(term.name).active"] = Double(term.active) }
        var parameterGradients = parameterGradients
        for (name, value) in input.parameters where parameterGradients[name] == nil {
            parameterGradients[name] = Matrix(rows: value.rows, columns: value.columns)
        }
        return LossOutput(value: terms.reduce(0) { $0 + $1.value },
                          gradient: gradient,
                          referenceGradient: input.isSelfComparison ? nil : referenceGradient,
                          parameterGradients: parameterGradients,
                          subLosses: terms.map { SubLoss(name: $0.name, value: $0.value) },
                          stats: allStats)
    }
}
