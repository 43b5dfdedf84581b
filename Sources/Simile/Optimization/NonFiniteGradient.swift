/// A NaN or infinite gradient entry, found before an update so that a trainer can skip the step.
public struct NonFiniteGradient: Sendable, Equatable, CustomStringConvertible {
    public var parameter: String
    public var row: Int
    public var column: Int
    public var value: Double

    public var description: String {
        "the gradient of '\(parameter)' is \(value) at row \(row), column \(column)"
    }

    /// The first non-finite entry over the gradients, parameters taken in name order; nil when
    /// every entry is finite.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func first<S: SimileFloat>(in gradients: [String: Matrix<S>]) -> NonFiniteGradient? {
        for name in gradients.keys.sorted() {
            if let bad = gradients[name]!.firstNonFinite() {
                return NonFiniteGradient(parameter: name, row: bad.row, column: bad.column, value: Double(bad.value))
            }
        }
        return nil
    }
}
