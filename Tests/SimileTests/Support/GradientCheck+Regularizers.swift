@testable import Simile

/// Finite differences for regularizers and for `RegularizedLoss`, with the step and tolerance
/// stated in GradientCheck.swift.
extension GradientCheck {
    /// Every disagreement between `gradients` and central differences of `value` at `point`, where both
    /// name the matrices they hold (empty when the gradients are right). Every matrix of `point`
    /// must have a gradient.
    static func mismatches(of value: ([String: Matrix<Double>]) throws -> Double,
                           at point: [String: Matrix<Double>],
                           gradients: [String: Matrix<Double>]) throws -> [String] {
        var problems: [String] = []
        for name in point.keys.sorted() {
            guard let gradient = gradients[name] else {
                problems.append("no gradient for \(name)")
                continue
            }
            let scale = gradient.maxAbsoluteValue
            for index in gradient.elements.indices {
                var plus = point, minus = point
                plus[name]!.elements[index] += step
                minus[name]!.elements[index] -= step
                let numeric = (try value(plus) - value(minus)) / (2 * step)
                let exact = gradient.elements[index]
                if abs(numeric - exact) > 1e-6 * (1 + scale) + 1e-4 * abs(exact) {
                    let columns = gradient.columns
                    problems.append("\(name)[\(index / columns), \(index % columns)]: analytic \(exact), numeric \(numeric)")
                }
            }
        }
        return problems
    }

    /// A regularizer's gradients with respect to its matrix (`matrix`) and its own parameters.
    static func mismatches(_ regularizer: any Regularizer, _ matrix: Matrix<Double>, labels: [Int]?,
                           parameters: [String: Matrix<Double>]) throws -> [String] {
        let output = try regularizer(matrix, labels: labels, parameters: parameters)
        var point = parameters
        point["matrix"] = matrix
        var gradients = output.parameterGradients
        gradients["matrix"] = output.gradient
        return try mismatches(of: { point in
            var own = point
            let x = own.removeValue(forKey: "matrix")!
            return try regularizer(x, labels: labels, parameters: own).value
        }, at: point, gradients: gradients)
    }

    /// A composition's gradients with respect to the embeddings and every parameter it has.
    static func mismatches(_ loss: RegularizedLoss, _ embeddings: Matrix<Double>, _ labels: [Int],
                           parameters: [String: Matrix<Double>]) throws -> [String] {
        let output = try loss(embeddings, labels, parameters: parameters)
        var point = parameters
        point["embeddings"] = embeddings
        var gradients = output.parameterGradients
        gradients["embeddings"] = output.gradient
        return try mismatches(of: { point in
            var own = point
            let x = own.removeValue(forKey: "embeddings")!
            return try loss(x, labels, parameters: own).value
        }, at: point, gradients: gradients)
    }
}
