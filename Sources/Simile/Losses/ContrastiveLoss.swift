/// The contrastive loss (Hadsell et al. 2006) in PML's form: positive pairs are pulled within
/// `pos-margin`, negative pairs pushed beyond `neg-margin`.
public struct ContrastiveLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "contrastive",
        summary: "Pull positive pairs within pos-margin, push negative pairs beyond neg-margin.",
        formula: """
            pos_loss = reduce over positive pairs of [m(d, pos-margin)]₊
            neg_loss = reduce over negative pairs of [m(neg-margin, d)]₊
            L = pos_loss + neg_loss, where m(x, y) = x − y for a distance, y − x for a similarity
            """,
        discussion: "The plain (not squared) distance, no ½ factor, as PML. A simple, robust baseline; pair it with a miner for speed of learning.",
        reference: "Hadsell, Chopra, LeCun, CVPR 2006; PML ContrastiveLoss",
        parameters: [
            .double("pos-margin", 0, doc: "positive pairs are penalised beyond this distance"),
            .double("neg-margin", 1, doc: "negative pairs are penalised within this distance"),
            .distance(default: "lp"),
            .reducer(default: "avg-non-zero"),
        ],
        examples: [[], ["pos-margin=0.1", "neg-margin=0.8", "distance=lp(power=2)"],
                   ["distance=cosine", "pos-margin=0.9", "neg-margin=0.3"]])

    public let posMargin: Double
    public let negMargin: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        try self.init(arguments, fixedDistance: nil)
    }

    /// Lets `snr-contrastive` reuse this loss with its distance fixed.
    init(_ arguments: Arguments, fixedDistance: (any Distance)?) throws {
        posMargin = try arguments.double("pos-margin")
        negMargin = try arguments.double("neg-margin")
        distance = try fixedDistance ?? arguments.distance()
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["pos_loss", "neg_loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let gate = reducer.gate
        let posMargin = self.posMargin, negMargin = self.negMargin
        // m(x, y) = sign·(x − y), with the orientation read once rather than per pair.
        let sign = distance.sign

        let bags = pairs.map(matrix.values) { row -> (Bag, Bag) in
            var positive = Bag(), negative = Bag()
            for j in 0..<row.count {
                let d = Double(row.values[j])
                if row.positives[j] > 0 {
                    positive.add(max(0, sign * (d - posMargin)), gate: gate, multiplicity: Int(row.positives[j]))
                }
                if row.negatives[j] > 0 {
                    negative.add(max(0, sign * (negMargin - d)), gate: gate, multiplicity: Int(row.negatives[j]))
                }
            }
            return (positive, negative)
        }
        let positive = try LossAssembly.reduce(reducer, bags.map(\.0), loss: name, term: "pos_loss", kind: .pair,
                                               labels: input.labels)
        let negative = try LossAssembly.reduce(reducer, bags.map(\.1), loss: name, term: "neg_loss", kind: .pair,
                                               labels: input.labels)

        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        pairs.accumulate(matrix.values, into: &upstream) { row, out in
            let a = row.anchor
            for j in 0..<row.count {
                let d = Double(row.values[j])
                var g = 0.0
                if row.positives[j] > 0 {
                    let v = sign * (d - posMargin)
                    if v > 0 { g += positive.weight(v, group: a) * Double(row.positives[j]) * sign }
                }
                if row.negatives[j] > 0 {
                    let v = sign * (negMargin - d)
                    if v > 0 { g -= negative.weight(v, group: a) * Double(row.negatives[j]) * sign }
                }
                out[j] = S(g)
            }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("pos_loss", positive), ("neg_loss", negative)])
    }
}
