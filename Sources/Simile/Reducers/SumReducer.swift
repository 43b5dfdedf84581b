/// The sum over all elements (PML's `SumReducer`).
public struct SumReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "sum",
        summary: "Sum over all elements.",
        formula: "L = Σₖ ℓₖ",
        reference: "PML SumReducer")

    public init(_ arguments: Arguments) throws {}
    public init() {}

    public var gate: ElementGate { .all }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        let all = Bag.combined(bags)
        return Reduction(value: all.sum, gate: gate, included: all.count, scale: 1)
    }
}
