import Foundation
import Testing
@testable import Simile

/// Numerical safety of arcface, sub-center-arcface, cosface and sphereface: acos at ±1, scale 64 in
/// Float, near-duplicate embeddings, classes without samples, and a few hundred training steps.
struct AngularMarginLossTests {
    static let family = ["arcface", "sub-center-arcface", "cosface", "sphereface"]

    /// Embeddings lying exactly on their class's weight row (cos = 1, or 1 + 1 ulp after rounding)
    /// or exactly opposite it (cos = −1) give finite values and gradients, in Double and Float.
    @Test(arguments: family)
    func cosinesOfPlusAndMinusOne(_ name: String) throws {
        let loss = try #require(try Registry.builtin.loss(name, ["num-classes=5", "embedding-size=6"]) as? any Trainable)
        let weights = loss.initialParameters()["weights"]!
        let perClass = weights.rows / 5
        var x = Matrix<Double>(rows: 6, columns: 6)
        let labels = [0, 1, 2, 0, 1, 3]
        for (i, label) in labels.enumerated() {
            let row = label * perClass
            for d in 0..<6 {
                // Rows 0–2 on their weight row (scaled), rows 3–5 opposite it.
                x[i, d] = (i < 3 ? 2.5 : -0.7) * weights[row, d]
            }
        }
        let double: LossOutput<Double> = try loss(x, .classes(labels))
        let float: LossOutput<Float> = try loss(x.converted(to: Float.self), .classes(labels))
        for output in [double.value, float.value] { #expect(output.isFinite) }
        #expect(double.gradient.firstNonFinite() == nil && double.parameterGradients["weights"]!.firstNonFinite() == nil)
        #expect(float.gradient.firstNonFinite() == nil && float.parameterGradients["weights"]!.firstNonFinite() == nil)
        #expect(abs(Double(float.value) - double.value) <= 1e-3 * max(1, abs(double.value)))
    }

    /// The derivative of cos(acos(c) + m) is capped where sin θ < 1e-4, and exact elsewhere.
    @Test func arcfaceTargetDerivativeIsCappedOnlyAtTheEnds() {
        let engine = AngularMarginSoftmax(numClasses: 2, embeddingSize: 2, target: .additiveAngle(0.5), scale: 64,
                                          smoothing: 0, reducer: MeanReducer(), loss: "arcface")
        for c in [1.0, 1 + 1e-7, -1.0, -1 - 1e-7, 0.999_999_999_9] {
            let (value, slope) = engine.modified(c)
            #expect(value.isFinite && slope.isFinite && abs(slope) <= 0.5 / 1e-4 + 1, "c = \(c): \(value), \(slope)")
        }
        for c in [0.9, 0.3, -0.2, -0.85] {
            let h = 1e-7
            let numeric = (engine.modified(c + h).value - engine.modified(c - h).value) / (2 * h)
            #expect(abs(engine.modified(c).slope - numeric) < 1e-6, "c = \(c)")
        }
        // θ > π − m: cos θ − m·sin m, slope 1 (PML's branch for a monotonic target logit).
        let (value, slope) = engine.modified(-0.95)
        #expect(abs(value - (-0.95 - 0.5 * sin(0.5))) < 1e-15 && slope == 1)
    }

    /// SphereFace's ψ is PML's piecewise cos(mθ): continuous and decreasing over [0, π].
    @Test func spherefaceTargetIsContinuousAndDecreasing() {
        for m in 1...5 {
            let engine = AngularMarginSoftmax(numClasses: 2, embeddingSize: 2, target: .multiplicativeAngle(m), scale: 1,
                                              embeddingNorm: true, smoothing: 0, reducer: MeanReducer(), loss: "sphereface")
            var previous = Double.infinity
            for step in 0...2000 {
                let theta = Double.pi * Double(step) / 2000
                let psi = engine.modified(cos(theta)).value
                #expect(psi <= previous + 1e-9, "m = \(m), θ = \(theta)")
                if step > 0 { #expect(abs(psi - previous) < 0.02, "m = \(m) jumps at θ = \(theta)") }
                previous = psi
                if step % 97 == 0 {
                    // ψ = (−1)ᵏ cos(mθ) − 2k.
                    let k = (theta / (Double.pi / Double(m))).rounded(.down)
                    let expected = (Int(k) % 2 == 0 ? 1 : -1) * cos(Double(m) * theta) - 2 * k
                    #expect(abs(psi - expected) < 1e-9)
                }
            }
        }
    }

    /// A zero embedding: sphereface's logits are all 0 and the gradient through ‖x‖ is 0 (torch's norm).
    @Test func spherefaceZeroEmbedding() throws {
        let loss = try Registry.builtin.loss("sphereface", ["num-classes=3", "embedding-size=4"])
        var x = Problems.gaussian(rows: 4, columns: 4, seed: 3)
        for d in 0..<4 { x[1, d] = 0 }
        let output: LossOutput<Double> = try loss(x, [0, 1, 2, 0])
        #expect(output.value.isFinite && output.gradient.firstNonFinite() == nil)
        // Row 1 contributes log 3 (uniform softmax) to the mean.
        let alone: LossOutput<Double> = try loss(Matrix(rows: 1, columns: 4), [1])
        #expect(abs(alone.value - log(3.0)) < 1e-12 && alone.gradient.maxAbsoluteValue == 0)
    }

    /// A few hundred SGD steps at scale 64 in Float on near-duplicate embeddings (one of them exactly
    /// on its class's weight row), updating both the embeddings and the weights from the returned
    /// gradients: every value and gradient stays finite, and the loss goes down.
    @Test(arguments: family)
    func trainingAtScale64OnNearDuplicatesStaysFinite(_ name: String) throws {
        let extra = ["scale=64"]
        let loss = try #require(try Registry.builtin.loss(name, ["num-classes=6", "embedding-size=8"] + extra)
            as? any Trainable)
        var weights = loss.initialParameters()["weights"]!.converted(to: Float.self)
        let labels = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 4, 4, 4, 4]  // class 5 never occurs
        var generator = SeededGenerator(seed: 11)
        let base = (0..<8).map { _ in Float(generator.nextGaussian()) }
        var x = Matrix<Float>(rows: labels.count, columns: 8)
        for i in 0..<labels.count {
            for d in 0..<8 { x[i, d] = base[d] + 1e-4 * Float(generator.nextGaussian()) }
        }
        // Sample 3 starts exactly on its class's (first) weight row.
        let perClass = weights.rows / 6
        for d in 0..<8 { x[3, d] = weights[3 * perClass, d] }
        let learningRate: Float = 0.01
        var first = 0.0, last = 0.0
        for step in 0..<300 {
            let output = try loss(x, .classes(labels), parameters: ["weights": weights], step: UInt64(step))
            #expect(output.value.isFinite)
            let g = output.gradient, gw = output.parameterGradients["weights"]!
            #expect(g.firstNonFinite() == nil && gw.firstNonFinite() == nil, "step \(step)")
            if step == 0 { first = output.value }
            last = output.value
            x.add(g, scaledBy: -learningRate)
            weights.add(gw, scaledBy: -learningRate)
            #expect(x.firstNonFinite() == nil && weights.firstNonFinite() == nil)
        }
        #expect(last < first, "\(name): loss \(first) → \(last)")
    }
}
