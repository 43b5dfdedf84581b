extension Regularizer {
    /// Computes the regularizer and its gradients after checking every input.
    ///
    /// - Parameters:
    ///   - matrix: the N×D embeddings or a loss's C×D parameter matrix (one row per class, or per
    ///     center for SoftTriple's C·K×D centers), finite and non-empty.
    ///   - labels: one class label per row of embeddings, for regularizers that need them (`center`).
    ///   - parameters: values of the regularizer's own trainable parameters (`TrainableRegularizer`);
    ///     missing ones start at `initialParameters()`.
    /// - Throws: `SimileError` naming the offending input; never returns NaN.
    public func callAsFunction<S: SimileFloat>(
        _ matrix: Matrix<S>, labels: [Int]? = nil, parameters: [String: Matrix<S>] = [:]
    ) throws -> RegularizerOutput<S> {
        try RegularizerInputValidator.run(self, matrix, labels, parameters,
                                          what: Self.target == .embeddings ? "embeddings" : "matrix")
    }
}

/// The checks every regularizer call goes through.
enum RegularizerInputValidator {
    /// Validate, compute, check the result. `what` names the matrix in messages.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func run<S: SimileFloat>(
        _ regularizer: any Regularizer, _ matrix: Matrix<S>, _ labels: [Int]?, _ parameters: [String: Matrix<S>],
        what: String
    ) throws -> RegularizerOutput<S> {
        let name = regularizer.name
        guard matrix.rows > 0 else {
            throw SimileError.empty("'\(name)': the \(what) have 0 rows; a regularizer needs at least one row")
        }
        guard matrix.columns > 0 else {
            throw SimileError.empty("'\(name)': the \(what) have 0 columns; each row needs at least one dimension")
        }
        if let labels, labels.count != matrix.rows {
            throw SimileError.shapeMismatch(
                "'\(name)': the \(what) have \(matrix.rows) rows but there are \(labels.count) labels; give one label per row")
        }
        try matrix.requireFinite(what)
        let own = try checkParameters(parameters, regularizer: regularizer)
        let output = try regularizer.compute(RegularizerInput(matrix: matrix, labels: labels, parameters: own))
        try checkOutput(output, matrix: matrix, parameters: own, regularizer: name)
        return output
    }

    private static func checkParameters<S: SimileFloat>(_ given: [String: Matrix<S>], regularizer: any Regularizer)
        throws -> [String: Matrix<S>] {
        guard let trainable = regularizer as? any TrainableRegularizer else {
            if let name = given.keys.sorted().first {
                throw SimileError.unsupported(component: regularizer.name,
                                              message: "has no trainable parameter '\(name)'; it has none")
            }
            return [:]
        }
        let initial = trainable.initialParameters()
        for name in given.keys.sorted() where initial[name] == nil {
            throw SimileError.unsupported(
                component: regularizer.name,
                message: "has no trainable parameter '\(name)'; its parameters are \(initial.keys.sorted().joined(separator: ", "))")
        }
        var result: [String: Matrix<S>] = [:]
        for (name, start) in initial {
            if let value = given[name] {
                guard value.rows == start.rows, value.columns == start.columns else {
                    throw SimileError.shapeMismatch(
                        "parameter '\(name)' of '\(regularizer.name)' must be \(start.rows)×\(start.columns), but \(value.rows)×\(value.columns) was given")
                }
                try value.requireFinite("parameter '\(name)'")
                result[name] = value
            } else {
                result[name] = start.converted(to: S.self)
            }
        }
        return result
    }

    /// A regularizer must never hand back NaN or infinity silently, nor a gradient of the wrong shape.
    private static func checkOutput<S: SimileFloat>(_ output: RegularizerOutput<S>, matrix: Matrix<S>,
                                                    parameters: [String: Matrix<S>], regularizer: String) throws {
        guard output.value.isFinite else {
            throw SimileError.numericalFailure(
                component: regularizer,
                message: "produced a non-finite value (\(output.value)) from finite inputs; this is a bug, please report it with the input")
        }
        var matrices = [("gradient", output.gradient, matrix.rows, matrix.columns)]
        for (name, gradient) in output.parameterGradients.sorted(by: { $0.key < $1.key }) {
            let shape = parameters[name].map { ($0.rows, $0.columns) } ?? (gradient.rows, gradient.columns)
            matrices.append(("gradient of '\(name)'", gradient, shape.0, shape.1))
        }
        for (what, gradient, rows, columns) in matrices {
            guard gradient.rows == rows, gradient.columns == columns else {
                throw SimileError.numericalFailure(
                    component: regularizer,
                    message: "returned a \(what) of shape \(gradient.rows)×\(gradient.columns) for \(rows)×\(columns); this is a bug")
            }
            if let bad = gradient.firstNonFinite() {
                throw SimileError.numericalFailure(
                    component: regularizer,
                    message: "produced a non-finite \(what) (\(bad.value) at row \(bad.row), column \(bad.column)) from finite inputs; this is a bug, please report it with the input")
            }
        }
    }
}

/// Steps the regularizers share.
enum RegularizerAssembly {
    /// Reduces one element per row with the regularizer's reducer. Each row is its own group; its
    /// label is the row's class label for embeddings, else the row index (for a C×D parameter
    /// matrix, the row's class).
    static func reduceRows(_ reducer: any Reducer, _ values: [Double], regularizer: String, labels: [Int]?)
        throws -> Reduction {
        let gate = reducer.gate
        let bags = values.map { value -> Bag in
            var bag = Bag()
            bag.add(value, gate: gate)
            return bag
        }
        return try reducer.reduce(bags, ReductionContext(loss: regularizer, term: "loss", kind: .element,
                                                         groupLabels: labels ?? Array(values.indices)))
    }

    /// Rejects the divisor reducer for regularizers that supply no divisor, at construction time.
    static func rejectDivisor(_ reducer: any Reducer, regularizer: String) throws {
        if reducer is DivisorReducer {
            throw SimileError.incompatible(
                "reducer 'divisor' needs a regularizer that supplies a divisor (sparse-centers), and '\(regularizer)' "
                    + "does not; use mean (its default), sum or avg-non-zero instead")
        }
    }

    /// The reducer parameter of the regularizers that have one.
    static let reducerDoc = "how the per-row values become one number"
}
