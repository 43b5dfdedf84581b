import Testing
@testable import Simile

/// Every registered loss, with every example parameter set and every distance it accepts, on every
/// input form it supports, has analytic gradients that agree with finite differences.
struct LossGradientTests {
    /// Losses whose gradient deliberately is not the derivative of their value; each has its own test.
    static let ownGradientTest: Set<String> = [
        "circle",  // α_p and α_n are held fixed (detached), as in the paper and PML: see CircleLossTests
    ]

    static let distances = ["lp", "lp(power=2)", "lp(normalize=false)", "lp(p=3)", "cosine", "dot(normalize=false)",
                            "manhattan", "snr"]

    enum Form: String, Sendable { case all, reference, pairs, triplets }

    struct Case: Sendable, CustomTestStringConvertible {
        let loss: String
        let parameters: [String]
        let form: Form
        var testDescription: String { "\(loss)(\(parameters.joined(separator: ", "))) on \(form.rawValue)" }
    }

    static var cases: [Case] {
        var result: [Case] = []
        for descriptor in Registry.builtin.descriptors(.loss) where !ownGradientTest.contains(descriptor.name) {
            guard let loss = try? Registry.builtin.loss(descriptor.name, descriptor.examples.first ?? []) else {
                continue
            }
            var forms: [Form] = [.all]
            if loss is any ReferenceCapable { forms.append(.reference) }
            if loss is any TupleCapable { forms += [.pairs, .triplets] }
            let examples = descriptor.examples.isEmpty ? [[]] : descriptor.examples
            for example in examples {
                for form in forms { result.append(Case(loss: descriptor.name, parameters: example, form: form)) }
            }
            if descriptor.parameter(named: "distance") != nil {
                let base = (examples.first ?? []).filter { !$0.hasPrefix("distance=") }
                for distance in distances {
                    result.append(Case(loss: descriptor.name, parameters: base + ["distance=\(distance)"], form: .all))
                }
            }
        }
        return result
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ testCase: Case) throws {
        let loss: any Loss
        do {
            loss = try Registry.builtin.loss(testCase.loss, testCase.parameters)
        } catch SimileError.incompatible {
            return  // e.g. a distance this loss rejects by design; RegistryTests checks the message
        }
        var problem: GradientCheck.Problem
        switch testCase.form {
        case .all: problem = Problems.standard()
        case .reference: problem = Problems.withReference()
        case .pairs:
            problem = Problems.standard()
            problem.tuples = Problems.minedPairs()
        case .triplets:
            problem = Problems.standard()
            problem.tuples = Problems.minedTriplets()
        }
        if loss is any ContinuousLabelLoss {
            problem.labels = .continuous(Problems.gaussian(rows: problem.embeddings.rows, columns: 2, seed: 9))
            problem.referenceLabels = problem.reference.map {
                .continuous(Problems.gaussian(rows: $0.rows, columns: 2, seed: 10))
            }
        }
        let output: LossOutput<Double>
        do {
            output = try loss(problem.embeddings, problem.labels, tuples: problem.tuples, reference: problem.reference,
                              referenceLabels: problem.referenceLabels)
        } catch SimileError.unsupported(_, let message) {
            // A combination the loss refuses by design (e.g. swap with reference embeddings).
            #expect(testCase.form == .reference, "unexpected refusal: \(message)")
            return
        }
        #expect(output.value.isFinite)
        let problems = try GradientCheck.mismatches(loss, problem)
        #expect(problems.isEmpty, "\(problems.prefix(8).joined(separator: "\n"))")
    }
}
