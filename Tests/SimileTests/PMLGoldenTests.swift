import Testing
@testable import Simile

/// Simile reproduces pytorch-metric-learning 2.9.0's values and gradients on the committed fixtures.
struct PMLGoldenTests {
    /// Cases where Simile deliberately differs from PML; docs/losses.md says why.
    static let deviations: [String: String] = [
        // PML's multi-similarity losses have shape (N, 1); ClassWeightedReducer multiplies them by
        // weights of shape (N,), broadcasting to N×N, so PML returns mean(ℓ)·mean(w) instead of
        // mean(w·ℓ). ReducerTests checks Simile's per-element weighting.
        "multi-similarity/class-weighted": "PML broadcasts (N,1) losses against (N,) class weights",
        // The same (N, 1) broadcast: GeneralizedLiftedStructureLoss's per-anchor losses come from
        // logsumexp(keepdim=True). GeneralizedLiftedStructureLossTests checks the per-element weighting.
        "generalized-lifted-structure/class-weighted": "PML broadcasts (N,1) losses against (N,) class weights",
        // With reference embeddings PML takes the positive end p's negatives from query row p, comparing a
        // reference index with a query index; Simile uses column p. LiftedStructureLossTests pins it.
        "lifted-structure/reference": "PML matches reference index p against query indices",
        // Circle's per-anchor losses also have shape (N, 1) (from logsumexp(keepdim=True)): the same
        // broadcast. CircleLossTests checks Simile's mean(w·ℓ).
        "circle/class-weighted": "PML broadcasts (N,1) losses against (N,) class weights",
        // PML computes the node positions r·Δ in float32 (a long tensor times a Python float), so its bin
        // weights are off by up to ~1e-5 and a + b ≠ 1. Simile uses exact nodes. HistogramLossTests
        // compares these cases with PML at a tolerance that allows for that, and tightly with an
        // exact float64 reference.
        "histogram/default": "PML places the histogram nodes in float32",
        "histogram/bins-20": "PML places the histogram nodes in float32",
        "histogram/delta": "PML places the histogram nodes in float32",
        "histogram/mined-triplets": "PML places the histogram nodes in float32",
        "histogram/mined-pairs": "PML places the histogram nodes in float32",
        "histogram/singleton": "PML places the histogram nodes in float32",
        // PML's angular loss normalises anchors and positives but not the negatives in (x̂ₐ + x̂ₚ)·xₙ;
        // Simile normalises all of them, as the paper does, so the two agree only on unit-norm rows.
        // AngularLossTests compares Simile with PML on the same cases with unit-normalised rows.
        "angular/default": "PML leaves the negatives unnormalised",
        "angular/alpha": "PML leaves the negatives unnormalised",
        "angular/avg-non-zero": "PML leaves the negatives unnormalised",
        "angular/mined-pairs": "PML leaves the negatives unnormalised",
        "angular/mined-triplets": "PML leaves the negatives unnormalised",
        "angular/singleton": "PML leaves the negatives unnormalised",
        "angular/one-label": "PML leaves the negatives unnormalised",
        "angular/duplicates": "PML leaves the negatives unnormalised",
        "angular/reference": "PML leaves the negatives unnormalised",
    ]

    static var cases: [Fixtures.LossCase] {
        Fixtures.lossCases().filter { (try? Registry.builtin.descriptor(.loss, $0.loss)) != nil }
    }

    @Test func everyFixtureHasARegisteredLoss() {
        let missing = Set(Fixtures.lossCases().map(\.loss)).filter { (try? Registry.builtin.descriptor(.loss, $0)) == nil }
        #expect(!Fixtures.lossCases().isEmpty, "no fixtures found in \(Fixtures.directory.path)")
        #expect(missing.isEmpty, "fixtures for unregistered losses: \(missing.sorted())")
    }

    /// Double precision: value within 1e-9 + 1e-7·|v|, gradients within 1e-9 + 1e-6·max|g|.
    @Test(arguments: cases)
    func matchesPMLInDouble(_ fixture: Fixtures.LossCase) throws {
        guard Self.deviations[fixture.id] == nil else { return }
        let loss = try Registry.builtin.loss(fixture.loss, fixture.parameters)
        let output: LossOutput<Double> = try fixture.input.evaluate(loss)
        let expected = fixture.expected
        #expect(abs(output.value - expected.loss) <= 1e-9 + 1e-7 * abs(expected.loss),
                "value \(output.value), PML \(expected.loss)")
        let gradientScale = maxAbsolute(expected.gradient)
        #expect(maxDifference(output.gradient, expected.gradient) <= 1e-9 + 1e-6 * gradientScale,
                "gradient differs by \(maxDifference(output.gradient, expected.gradient)) (scale \(gradientScale))")
        if let reference = expected.reference_gradient {
            let got = try #require(output.referenceGradient)
            #expect(maxDifference(got, reference) <= 1e-9 + 1e-6 * maxAbsolute(reference))
        }
        for (name, gradient) in expected.parameter_gradients ?? [:] {
            let got = try #require(output.parameterGradients[name])
            #expect(maxDifference(got, gradient) <= 1e-9 + 1e-6 * maxAbsolute(gradient), "parameter \(name)")
        }
        for (name, value) in expected.sub_losses ?? [:] {
            let got = try #require(output.subLosses.first { $0.name == name }?.value, "sub-loss \(name) missing")
            #expect(abs(got - value) <= 1e-9 + 1e-7 * abs(value), "sub-loss \(name): \(got) vs \(value)")
        }
    }

    /// Float precision, the production path: value within 1e-5 + 1e-4·|v|, gradients (of the embeddings and
    /// of trainable parameters) within 1e-6 + 1e-3·max|g|.
    @Test(arguments: cases)
    func matchesPMLInFloat(_ fixture: Fixtures.LossCase) throws {
        guard Self.deviations[fixture.id] == nil else { return }
        let loss = try Registry.builtin.loss(fixture.loss, fixture.parameters)
        let output: LossOutput<Float> = try fixture.input.evaluate(loss)
        let expected = fixture.expected
        #expect(abs(output.value - expected.loss) <= 1e-5 + 1e-4 * abs(expected.loss),
                "value \(output.value), PML \(expected.loss)")
        let gradientScale = maxAbsolute(expected.gradient)
        #expect(maxDifference(output.gradient, expected.gradient) <= 1e-6 + 1e-3 * gradientScale,
                "gradient differs by \(maxDifference(output.gradient, expected.gradient)) (scale \(gradientScale))")
        for (name, gradient) in expected.parameter_gradients ?? [:] {
            let got = try #require(output.parameterGradients[name])
            #expect(maxDifference(got, gradient) <= 1e-6 + 1e-3 * maxAbsolute(gradient),
                    "parameter \(name) differs by \(maxDifference(got, gradient)) (scale \(maxAbsolute(gradient)))")
        }
    }
}
