import Foundation
import Testing
@testable import Simile

/// nce has no PML counterpart: it is checked against its formula evaluated directly in Double, with
/// the noise draw fixed, and its gradients against central differences of that reference.
struct NCELossTests {
    func make(_ extra: [String] = []) throws -> NCELoss {
        try #require(try Registry.builtin.loss("nce", ["num-classes=6", "embedding-size=5"] + extra) as? NCELoss)
    }

    /// The formula, written out: cosine logits / T, Δ = z − log(K/C), softplus terms, mean.
    static func reference(_ x: Matrix<Double>, _ w: Matrix<Double>, labels: [Int], noise: [[Int]], k: Int,
                          temperature: Double, minerWeights: [Double]) -> Double {
        let c = w.rows
        func cosine(_ i: Int, _ j: Int) -> Double {
            var dot = 0.0, a = 0.0, b = 0.0
            for d in 0..<x.columns {
                dot += x[i, d] * w[j, d]
                a += x[i, d] * x[i, d]
                b += w[j, d] * w[j, d]
            }
            return dot / (a.squareRoot() * b.squareRoot())
        }
        // −log σ(v) = log(1 + e^(−v)) and −log(1 − σ(v)) = log(1 + e^v), directly (|v| stays far below 700).
        var total = 0.0
        for i in 0..<x.rows {
            let delta = { (j: Int) in cosine(i, j) / temperature - log(Double(k) / Double(c)) }
            var loss = log(1 + exp(-delta(labels[i])))
            for j in noise[i] { loss += log(1 + exp(delta(j))) }
            total += minerWeights[i] * loss
        }
        return total / Double(x.rows)
    }

    @Test(arguments: [["noise-samples=4", "temperature=0.5"], ["noise-samples=1", "temperature=2", "seed=9"], []])
    func matchesTheFormula(_ extra: [String]) throws {
        let loss = try make(extra)
        let problem = Problems.standard()
        let labels = Problems.labels
        let w = loss.initialParameters()["weights"]!
        let step: UInt64 = 17
        let noise = loss.noiseClasses(samples: 10, step: step)
        #expect(noise.count == 10 && noise.allSatisfy { $0.count == loss.noiseSamples })
        for tuples in [nil, Problems.minedPairs()] as [Tuples?] {
            let weights = ClassifierSupport.minerWeights(tuples, count: 10)
            let output: LossOutput<Double> = try loss(problem.embeddings, problem.labels, tuples: tuples, step: step)
            func value(_ x: Matrix<Double>, _ w: Matrix<Double>) -> Double {
                Self.reference(x, w, labels: labels, noise: noise, k: loss.noiseSamples, temperature: loss.temperature,
                               minerWeights: weights)
            }
            #expect(abs(output.value - value(problem.embeddings, w)) < 1e-12 * max(1, output.value))
            // Gradients: central differences of the reference.
            let h = 1e-6
            for (gradient, perturbEmbeddings) in [(output.gradient, true), (output.parameterGradients["weights"]!, false)] {
                for index in gradient.elements.indices {
                    var xp = problem.embeddings, xm = problem.embeddings, wp = w, wm = w
                    if perturbEmbeddings {
                        xp.elements[index] += h
                        xm.elements[index] -= h
                    } else {
                        wp.elements[index] += h
                        wm.elements[index] -= h
                    }
                    let numeric = (value(xp, wp) - value(xm, wm)) / (2 * h)
                    #expect(abs(numeric - gradient.elements[index]) < 1e-6 * (1 + gradient.maxAbsoluteValue))
                }
            }
        }
    }

    @Test func noiseIsDeterministicPerStepAndUniform() throws {
        let loss = try make(["noise-samples=8"])
        #expect(loss.noiseClasses(samples: 5, step: 3) == loss.noiseClasses(samples: 5, step: 3))
        #expect(loss.noiseClasses(samples: 5, step: 3) != loss.noiseClasses(samples: 5, step: 4))
        let other = try make(["noise-samples=8", "seed=1"])
        #expect(loss.noiseClasses(samples: 5, step: 3) != other.noiseClasses(samples: 5, step: 3))
        // Every class about equally often: 48 000 draws over 6 classes.
        let draws = loss.noiseClasses(samples: 6000, step: 0).flatMap { $0 }
        #expect(draws.allSatisfy { (0..<6).contains($0) })
        let counts = (0..<6).map { c in draws.filter { $0 == c }.count }
        #expect(counts.allSatisfy { abs(Double($0) - 8000) < 400 }, "\(counts)")
        // The step of the call picks the noise: different steps, different values.
        let problem = Problems.standard()
        let a: LossOutput<Double> = try loss(problem.embeddings, problem.labels, step: 3)
        let b: LossOutput<Double> = try loss(problem.embeddings, problem.labels, step: 3)
        let c: LossOutput<Double> = try loss(problem.embeddings, problem.labels, step: 4)
        #expect(a.value == b.value && a.value != c.value)
    }

    /// Only the target and the drawn noise classes of a sample receive a gradient.
    @Test func onlyDrawnClassesGetAGradient() throws {
        let loss = try make(["noise-samples=2"])
        let x = Problems.gaussian(rows: 1, columns: 5, seed: 3)
        let output: LossOutput<Double> = try loss(x, [2], step: 5)
        let drawn = Set(loss.noiseClasses(samples: 1, step: 5)[0] + [2])
        let g = output.parameterGradients["weights"]!
        for c in 0..<6 {
            let touched = g.row(c).contains { $0 != 0 }
            #expect(touched == drawn.contains(c), "class \(c)")
        }
    }
}
