import Testing
@testable import Simile

struct SignalToNoiseRatioContrastiveLossTests {
    /// It is contrastive with distance=snr, under its own name and without a distance parameter.
    @Test func isContrastiveOnTheSNRDistance() throws {
        let snr = try Registry.builtin.loss("snr-contrastive", ["pos-margin=0.1", "neg-margin=1.5"])
        let contrastive = try Registry.builtin.loss("contrastive", ["pos-margin=0.1", "neg-margin=1.5", "distance=snr"])
        for problem in [Problems.standard(), Problems.withReference()] {
            let a: LossOutput<Double> = try snr(problem.embeddings, problem.labels, reference: problem.reference,
                                                referenceLabels: problem.referenceLabels)
            let b: LossOutput<Double> = try contrastive(problem.embeddings, problem.labels, reference: problem.reference,
                                                        referenceLabels: problem.referenceLabels)
            #expect(a.value == b.value && a.gradient == b.gradient && a.referenceGradient == b.referenceGradient)
            #expect(a.subLosses.map(\.name) == ["pos_loss", "neg_loss"])
        }
        #expect(snr.name == "snr-contrastive")
        #expect(throws: SimileError.self) { try Registry.builtin.loss("snr-contrastive", ["distance=lp"]) }
    }

    @Test func constantEmbeddingIsAClearError() throws {
        let loss = try Registry.builtin.loss("snr-contrastive", [])
        var x = Problems.gaussian(rows: 4, columns: 3, seed: 13)
        for k in 0..<3 { x[2, k] = 0.5 }
        do {
            let _: LossOutput<Double> = try loss(x, [0, 0, 1, 1])
            Issue.record("a constant embedding was accepted")
        } catch let error as SimileError {
            #expect(error.description.contains("constant"))
        }
    }
}
