@testable import Simile

/// Central finite differences of a loss in Double, compared with its analytic gradients.
///
/// Tolerance, stated once for every gradient test: with step h = 1e-6, entry k passes when
/// |numeric − analytic| ≤ 1e-6·(1 + ‖g‖∞) + 1e-4·|analytic|, where ‖g‖∞ is the largest analytic
/// entry of that gradient. Float64 central differences are accurate to about 1e-9 here, so a
/// failure means a wrong formula, not noise.
enum GradientCheck {
    static let step = 1e-6

    struct Problem {
        var embeddings: Matrix<Double>
        var labels: Labels
        var tuples: Tuples?
        var reference: Matrix<Double>?
        var referenceLabels: Labels?
        var parameters: [String: Matrix<Double>] = [:]
    }

    /// Every disagreement, as text (empty when the gradients are right).
    static func mismatches(_ loss: any Loss, _ problem: Problem) throws -> [String] {
        func value(_ p: Problem) throws -> Double {
            try loss(p.embeddings, p.labels, tuples: p.tuples, reference: p.reference,
                     referenceLabels: p.referenceLabels, parameters: p.parameters).value
        }
        let analytic = try loss(problem.embeddings, problem.labels, tuples: problem.tuples,
                                reference: problem.reference, referenceLabels: problem.referenceLabels,
                                parameters: problem.parameters)
        var problems: [String] = []

        func compare(_ name: String, _ gradient: Matrix<Double>, _ perturb: (inout Problem, Int, Double) -> Void) throws {
            let scale = gradient.maxAbsoluteValue
            for index in gradient.elements.indices {
                var plus = problem, minus = problem
                perturb(&plus, index, step)
                perturb(&minus, index, -step)
                let numeric = (try value(plus) - value(minus)) / (2 * step)
                let exact = gradient.elements[index]
                if abs(numeric - exact) > 1e-6 * (1 + scale) + 1e-4 * abs(exact) {
                    problems.append("\(name)[\(index / gradient.columns), \(index % gradient.columns)]: analytic \(exact), numeric \(numeric)")
                }
            }
        }
        try compare("embeddings", analytic.gradient) { $0.embeddings.elements[$1] += $2 }
        if let referenceGradient = analytic.referenceGradient {
            try compare("reference", referenceGradient) { $0.reference!.elements[$1] += $2 }
        }
        for (name, gradient) in analytic.parameterGradients.sorted(by: { $0.key < $1.key }) {
            var problemWithAll = problem
            // Parameters the caller left out start at their initial values; perturb those.
            if problemWithAll.parameters[name] == nil, let trainable = loss as? any Trainable {
                problemWithAll.parameters[name] = trainable.initialParameters()[name]
            }
            let base = problemWithAll
            let scale = gradient.maxAbsoluteValue
            for index in gradient.elements.indices {
                var plus = base, minus = base
                plus.parameters[name]!.elements[index] += step
                minus.parameters[name]!.elements[index] -= step
                let numeric = (try value(plus) - value(minus)) / (2 * step)
                let exact = gradient.elements[index]
                if abs(numeric - exact) > 1e-6 * (1 + scale) + 1e-4 * abs(exact) {
                    problems.append("parameter \(name)[\(index)]: analytic \(exact), numeric \(numeric)")
                }
            }
        }
        return problems
    }
}

/// Small random problems, deterministic by seed.
enum Problems {
    static func gaussian(rows: Int, columns: Int, seed: UInt64) -> Matrix<Double> {
        var generator = SeededGenerator(seed: seed)
        return Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in generator.nextGaussian() })
    }

    /// 10 samples in 4 classes of sizes 3, 3, 2, 2.
    static let labels: [Int] = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3]

    static func standard(seed: UInt64 = 1, columns: Int = 5) -> GradientCheck.Problem {
        GradientCheck.Problem(embeddings: gaussian(rows: labels.count, columns: columns, seed: seed),
                              labels: .classes(labels))
    }

    /// 7 queries against 8 references.
    static func withReference(seed: UInt64 = 2, columns: Int = 5) -> GradientCheck.Problem {
        GradientCheck.Problem(embeddings: gaussian(rows: 7, columns: columns, seed: seed),
                              labels: .classes([0, 0, 1, 1, 2, 2, 3]),
                              reference: gaussian(rows: 8, columns: columns, seed: seed + 100),
                              referenceLabels: .classes([0, 0, 1, 1, 1, 2, 3, 3]))
    }

    /// Some valid pairs of `labels`, with a repeated one.
    static func minedPairs() -> Tuples {
        .pairs(positive: [IndexPair(0, 1), IndexPair(1, 2), IndexPair(3, 4), IndexPair(4, 3), IndexPair(6, 7), IndexPair(0, 1)],
               negative: [IndexPair(0, 3), IndexPair(0, 6), IndexPair(1, 8), IndexPair(3, 0), IndexPair(4, 9), IndexPair(6, 2),
                          IndexPair(2, 5)])
    }

    static func minedTriplets() -> Tuples {
        .triplets([Triplet(0, 1, 3), Triplet(0, 2, 6), Triplet(1, 0, 8), Triplet(3, 4, 0), Triplet(4, 5, 9),
                   Triplet(6, 7, 2), Triplet(8, 9, 1), Triplet(0, 1, 3)])
    }
}
