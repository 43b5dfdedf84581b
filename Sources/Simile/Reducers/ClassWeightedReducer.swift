/// The mean of the elements, each weighted by the class of its anchor (PML's `ClassWeightedReducer`).
public struct ClassWeightedReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "class-weighted",
        summary: "Mean of the elements, each multiplied by the weight of its anchor's class.",
        formula: "L = (1/n) Σₖ w[y(anchor(k))] · ℓₖ",
        discussion: "For imbalanced data: weights[c] is the weight of class label c, so labels must lie in 0..<weights.count.",
        reference: "PML ClassWeightedReducer",
        parameters: [
            ParameterSpec("weights", .doubles, default: .required, range: .atLeast(0),
                          doc: "one weight per class label, indexed by label value"),
        ],
        examples: [["weights=[1, 2, 1, 0.5]"]])

    public let weights: [Double]

    public init(_ arguments: Arguments) throws {
        weights = try arguments.doubles("weights")
        guard !weights.isEmpty else {
            throw SimileError.invalidParameterValue(component: "class-weighted", parameter: "weights", value: "[]",
                                                    expected: "a non-empty list, one weight per class")
        }
    }

    public var gate: ElementGate { .all }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        guard let labels = context.groupLabels else {
            throw SimileError.incompatible("reducer 'class-weighted' needs class labels; '\(context.loss)' has none")
        }
        let all = Bag.combined(bags)
        guard all.count > 0 else { return .zero() }
        var scales = [Double](repeating: 0, count: bags.count)
        var value = 0.0
        for (group, bag) in bags.enumerated() where bag.total > 0 {
            let label = labels[group]
            guard label >= 0, label < weights.count else {
                throw SimileError.invalidInput(
                    "reducer 'class-weighted' has \(weights.count) weights but class label \(label) occurs; "
                        + "give one weight for each label 0...\(max(label, labels.max() ?? 0))")
            }
            scales[group] = weights[label] / Double(all.count)
            value += weights[label] * bag.sum
        }
        return Reduction(value: value / Double(all.count), gate: gate, included: all.count, scales: scales)
    }
}
