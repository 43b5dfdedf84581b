/// Turns a sub-loss's many per-element values (one per pair, triplet or anchor) into one number,
/// and says how much each element's gradient counts.
///
/// Every reducer Simile has is linear in the element values once two things are fixed: which
/// elements take part (the `gate`, e.g. "loss > 0" for `avg-non-zero`) and a scale per group
/// (`1/count` for a mean, a class weight, ...). Losses therefore stream their elements into one
/// `Bag` per anchor — O(N) memory even for O(N³) triplets — the reducer turns the bags into a
/// `Reduction`, and the loss weights each element's gradient by `Reduction.weight(value, group:)`.
public protocol Reducer: Component {
    /// Which element values take part.
    var gate: ElementGate { get }
    /// The reduced value and the per-group gradient scales.
    func reduce(_ bags: [Bag], _ context: ReductionContext) throws -> Reduction
}

/// An element-wise filter: values strictly between `low` and `high` pass (PML's `ThresholdReducer`).
public struct ElementGate: Sendable, Equatable {
    public let low: Double
    public let high: Double

    public init(low: Double = -.infinity, high: Double = .infinity) {
        self.low = low
        self.high = high
    }

    /// Every finite value passes.
    public static let all = ElementGate()
    /// Only positive values pass.
    public static let positive = ElementGate(low: 0)

    @inline(__always)
    public func includes(_ value: Double) -> Bool { value > low && value < high }
}

/// The running statistics of one group's elements. A group is an anchor (the first index of a
/// pair or triplet, or the sample of a per-sample loss).
public struct Bag: Sendable, Equatable {
    /// Sum of the values that passed the gate.
    public var sum: Double = 0
    /// Number of elements that passed the gate.
    public var count: Int = 0
    /// Number of elements, passed or not.
    public var total: Int = 0

    public init(sum: Double = 0, count: Int = 0, total: Int = 0) {
        self.sum = sum
        self.count = count
        self.total = total
    }

    /// Adds `multiplicity` elements of value `value`.
    @inline(__always)
    public mutating func add(_ value: Double, gate: ElementGate, multiplicity: Int = 1) {
        total += multiplicity
        if gate.includes(value) {
            sum += value * Double(multiplicity)
            count += multiplicity
        }
    }

    /// Sums bags (in order).
    public static func combined(_ bags: [Bag]) -> Bag {
        var result = Bag()
        for bag in bags {
            result.sum += bag.sum
            result.count += bag.count
            result.total += bag.total
        }
        return result
    }
}

/// What the elements of a sub-loss are, which some reducers care about.
public enum TermKind: String, Sendable {
    /// One element per sample (per-anchor losses such as multi-similarity).
    case element
    /// One element per pair; the group is the pair's anchor.
    case pair
    /// One element per triplet; the group is the triplet's anchor.
    case triplet
}

/// Facts about the sub-loss being reduced.
public struct ReductionContext: Sendable {
    /// The loss, for error messages.
    public var loss: String
    /// The sub-loss name (`loss`, `pos_loss`, ...).
    public var term: String
    public var kind: TermKind
    /// The class label of each group (the anchor's label), for class weighting; nil for continuous labels.
    public var groupLabels: [Int]?
    /// The divisor a loss supplies for `divisor` reduction (PML's loss-dict "divisor").
    public var divisor: Double?

    public init(loss: String, term: String, kind: TermKind, groupLabels: [Int]?, divisor: Double? = nil) {
        self.loss = loss
        self.term = term
        self.kind = kind
        self.groupLabels = groupLabels
        self.divisor = divisor
    }
}

/// The outcome of a reduction: the value, and the weight of each element in the gradient.
public struct Reduction: Sendable {
    public let value: Double
    public let gate: ElementGate
    /// Elements that took part.
    public let included: Int
    private let uniformScale: Double
    private let groupScales: [Double]?

    /// Every included element weighs `scale`.
    public init(value: Double, gate: ElementGate, included: Int, scale: Double) {
        self.value = value
        self.gate = gate
        self.included = included
        uniformScale = scale
        groupScales = nil
    }

    /// An included element of group g weighs `scales[g]`.
    public init(value: Double, gate: ElementGate, included: Int, scales: [Double]) {
        self.value = value
        self.gate = gate
        self.included = included
        uniformScale = 0
        groupScales = scales
    }

    /// A reduction with nothing in it: value 0, every weight 0.
    public static func zero(gate: ElementGate = .all) -> Reduction {
        Reduction(value: 0, gate: gate, included: 0, scale: 0)
    }

    /// ∂(reduced value)/∂(element value) for an element of the given value and group.
    @inline(__always)
    public func weight(_ value: Double, group: Int) -> Double {
        guard gate.includes(value) else { return 0 }
        if let groupScales { return groupScales[group] }
        return uniformScale
    }

    /// The weight of a group's included elements (ignoring the gate).
    @inline(__always)
    public func scale(group: Int) -> Double {
        groupScales?[group] ?? uniformScale
    }
}

extension Reducer {
    /// The registered name, for messages.
    public var name: String { Self.descriptor.name }
}
