/// The sum divided by a count that the loss supplies (PML's `DivisorReducer`).
public struct DivisorReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "divisor",
        summary: "Sum divided by a divisor that the loss computes (e.g. margin's count of active terms).",
        formula: "L = Σₖ ℓₖ / divisor  (0 when divisor = 0)",
        discussion: "Only losses that compute a divisor (margin) can use it.",
        reference: "PML DivisorReducer")

    public init(_ arguments: Arguments) throws {}
    public init() {}

    public var gate: ElementGate { .all }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        guard let divisor = context.divisor else {
            throw SimileError.incompatible(
                "reducer 'divisor' needs a loss that supplies a divisor, and '\(context.loss)' does not "
                    + "(its sub-loss '\(context.term)'); use mean, sum or avg-non-zero instead")
        }
        let all = Bag.combined(bags)
        guard divisor != 0 else { return .zero() }
        return Reduction(value: all.sum / divisor, gate: gate, included: all.count, scale: 1 / divisor)
    }
}
