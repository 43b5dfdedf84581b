/// The mean over all elements, zeros included (PML's `MeanReducer`).
public struct MeanReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "mean",
        summary: "Mean over all elements, zeros included.",
        formula: "L = (1/n) Σₖ ℓₖ",
        reference: "PML MeanReducer")

    public init(_ arguments: Arguments) throws {}
    public init() {}

    public var gate: ElementGate { .all }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        let all = Bag.combined(bags)
        guard all.count > 0 else { return .zero() }
        return Reduction(value: all.sum / Double(all.count), gate: gate, included: all.count,
                         scale: 1 / Double(all.count))
    }
}
