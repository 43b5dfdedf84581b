import Testing
@testable import Simile

/// The pieces together: an MLP, a registered loss and an optimizer learn a tiny separable data set.
struct TrainingSmokeTests {
    /// 4 classes × 8 samples in 6 features: class means ±1.5 on two features each, plus noise.
    static func toyData() -> (Matrix<Float>, [Int]) {
        var generator = SeededGenerator(seed: 2024)
        var elements: [Float] = []
        var labels: [Int] = []
        for label in 0..<4 {
            for _ in 0..<8 {
                for feature in 0..<6 {
                    let mean: Double = feature / 2 == label % 3 ? (label < 3 ? 1.5 : -1.5) : 0
                    elements.append(Float(mean + 0.6 * generator.nextGaussian()))
                }
                labels.append(label)
            }
        }
        return (Matrix(rows: 32, columns: 6, elements: elements), labels)
    }

    /// Mean cosine similarity of positive pairs minus that of negative pairs (rows are unit length).
    static func similarityGap(_ y: Matrix<Float>, _ labels: [Int]) -> Double {
        var positive = 0.0, negative = 0.0, positives = 0, negatives = 0
        for i in 0..<y.rows {
            for j in 0..<y.rows where j != i {
                let s = zip(y.row(i), y.row(j)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                if labels[i] == labels[j] { positive += s; positives += 1 } else { negative += s; negatives += 1 }
            }
        }
        return positive / Double(positives) - negative / Double(negatives)
    }

    @Test(arguments: ["contrastive", "multi-similarity"])
    func modelLossAndAdamReduceTheLoss(_ lossName: String) throws {
        let (x, labels) = Self.toyData()
        let loss = try Registry.builtin.loss(lossName, [])
        let spec = try MLPSpec("mlp(hidden=[32], output=8, activation=gelu, layer-norm=true, dropout=0.1)", inputSize: 6)
        var model = MLP<Float>(spec, seed: 1)
        var optimizer = try Optimizer<Float>(
            "adam(lr=0.01)",
            groups: [ParameterGroup(name: "weights", parameters: spec.weightNames),
                     ParameterGroup(name: "rest", parameters: model.parameterNames.filter { !spec.weightNames.contains($0) },
                                    weightDecay: 0)],
            clipping: GradientClipping(maxNorm: 5))
        let schedule = try LearningRateSchedule("cosine(steps=40, min-lr=0.001, warmup=5)")
        func evaluate() throws -> Double { try loss(model.embed(x), labels).value }
        let before = try evaluate()
        let gapBefore = Self.similarityGap(try model.embed(x), labels)
        for step in 0..<45 {
            let pass = try model.forward(x, step: UInt64(step))
            let output = try loss(pass.output, labels)
            let gradients = try model.backward(pass, outputGradient: output.gradient, inputGradient: false)
            #expect(NonFiniteGradient.first(in: gradients.parameters) == nil)
            try optimizer.step(&model.parameters, gradients: gradients.parameters,
                               learningRate: schedule.learningRate(base: optimizer.settings.learningRate, at: optimizer.state.steps))
        }
        let after = try evaluate()
        #expect(before > 0.05, "the untrained model should have something to learn (\(before))")
        // (Multi-similarity cannot go far below 0.6 here: its positive term is at least
        // log(1 + 7e^{−α(1−λ)})/α ≈ 0.64 for 7 positives at similarity 1.)
        #expect(after < 0.7 * before, "\(lossName): \(before) → \(after)")
        // Positives end up much closer than negatives (untrained: a gap of about 0.5).
        let gapAfter = Self.similarityGap(try model.embed(x), labels)
        #expect(gapAfter > gapBefore + 0.4, "\(lossName): similarity gap \(gapBefore) → \(gapAfter)")
    }
}
