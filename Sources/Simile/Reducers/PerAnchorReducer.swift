/// Aggregates each anchor's pair (or triplet) losses first, then reduces the per-anchor values
/// with an inner reducer (PML's `PerAnchorReducer`).
public struct PerAnchorReducer: Reducer {
    public static let descriptor = ComponentDescriptor(
        kind: .reducer, name: "per-anchor",
        summary: "Aggregate each anchor's elements (mean or sum), then reduce the per-anchor values.",
        formula: "Aₐ = agg{ℓₖ : anchor(k) = a} (0 for an anchor with none);  L = inner(A₀ … A_{N−1})",
        discussion: """
            Every anchor of the batch counts as one element of the inner reduction, also anchors \
            without pairs (value 0), as in PML. Per-sample losses pass straight to the inner reducer. \
            Unlike PML, triplet losses are supported (grouped by the triplet's anchor).
            """,
        reference: "PML PerAnchorReducer",
        parameters: [
            ParameterSpec("reducer", .component(.reducer), default: .value(.component(ComponentSpec(name: "mean"))),
                          doc: "how the per-anchor values are reduced"),
            ParameterSpec("aggregation", .choice(["mean", "sum"]), default: .value(.choice("mean")),
                          doc: "how one anchor's elements are combined"),
        ],
        examples: [[], ["reducer=avg-non-zero", "aggregation=sum"]])

    public let inner: any Reducer
    public let aggregatesByMean: Bool

    public init(_ arguments: Arguments) throws {
        inner = try arguments.reducer("reducer")
        aggregatesByMean = try arguments.choice("aggregation") == "mean"
    }

    public var gate: ElementGate { .all }

    public func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction {
        if context.kind == .element { return try inner.reduce(bags, context) }
        let innerGate = inner.gate
        let anchorValues = bags.map { bag -> Double in
            guard bag.total > 0 else { return 0 }
            return aggregatesByMean ? bag.sum / Double(bag.total) : bag.sum
        }
        let innerBags = anchorValues.map { value -> Bag in
            var bag = Bag()
            bag.add(value, gate: innerGate)
            return bag
        }
        var innerContext = context
        innerContext.kind = .element
        let reduction = try inner.reduce(innerBags, innerContext)
        let scales = bags.indices.map { group -> Double in
            let bag = bags[group]
            guard bag.total > 0 else { return 0 }
            let perElement = aggregatesByMean ? 1 / Double(bag.total) : 1
            return reduction.weight(anchorValues[group], group: group) * perElement
        }
        let included = bags.reduce(0) { $0 + $1.total }
        return Reduction(value: reduction.value, gate: gate, included: included, scales: scales)
    }
}
