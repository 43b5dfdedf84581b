/// The mean over the elements strictly between `low` and `high` (PML's `ThresholdReducer`).
public struct ThresholdReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "threshold",
        summary: "Mean over the elements with low < ℓ < high; 0 if none.",
        formula: "L = Σₖ ℓₖ·[low < ℓₖ < high] / Σₖ [low < ℓₖ < high]",
        discussion: "Give low, high or both. `avg-non-zero` is `threshold(low=0)`.",
        reference: "PML ThresholdReducer",
        parameters: [
            ParameterSpec("low", .double, default: .unset("no lower bound"), doc: "elements must exceed this"),
            ParameterSpec("high", .double, default: .unset("no upper bound"), doc: "elements must stay below this"),
        ],
        examples: [["low=0.1"], ["low=0", "high=2"]])

    public let gate: ElementGate

    public init(_ arguments: Arguments) throws {
        let low = try arguments.optionalDouble("low")
        let high = try arguments.optionalDouble("high")
        guard low != nil || high != nil else {
            throw SimileError.missingParameter(component: "threshold", parameter: "low",
                                               doc: "give low, high or both, e.g. threshold(low=0.1)")
        }
        if let low, let high, low >= high {
            throw SimileError.parameterOutOfRange(component: "threshold", parameter: "high",
                                                  value: ParameterValue.format(high), range: "> low (\(low))")
        }
        self.init(low: low ?? -.infinity, high: high ?? .infinity)
    }

    public init(low: Double = -.infinity, high: Double = .infinity) {
        gate = ElementGate(low: low, high: high)
    }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        let all = Bag.combined(bags)
        guard all.count > 0 else { return .zero(gate: gate) }
        return Reduction(value: all.sum / Double(all.count), gate: gate, included: all.count,
                         scale: 1 / Double(all.count))
    }
}

/// The mean over the positive elements (PML's `AvgNonZeroReducer`).
public struct AvgNonZeroReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "avg-non-zero",
        summary: "Mean over the elements greater than 0; 0 if none.",
        formula: "L = Σₖ ℓₖ / #{k : ℓₖ > 0}",
        discussion: "The default of margin-based losses: easy pairs (loss 0) do not dilute the mean.",
        reference: "PML AvgNonZeroReducer")

    private let threshold = ThresholdReducer(low: 0)

    public init(_ arguments: Arguments) throws {}
    public init() {}

    public var gate: ElementGate { threshold.gate }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        try threshold.reduce(bags, context)
    }
}
