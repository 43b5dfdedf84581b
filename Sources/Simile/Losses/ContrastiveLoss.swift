import RealModule

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
        discussion: """
            The plain (not squared) distance, no ½ factor, as PML. A simple, robust baseline; pair it with             a miner for speed of learning. Unlike PML, a batch whose tuples hold at most one positive and             one negative pair is computed like any other (PML's pair losses return 0 there).
            """,
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

    /// The name errors and reductions report: `snr-contrastive` reuses this loss under its own name.
    let reportedName: String

    public init(_ arguments: Arguments) throws {
        try self.init(arguments, fixedDistance: nil, reportedName: Self.descriptor.name)
    }

    /// Lets `snr-contrastive` reuse this loss with its distance fixed.
    init(_ arguments: Arguments, fixedDistance: (any Distance)?, reportedName: String) throws {
        self.reportedName = reportedName
        posMargin = try arguments.double("pos-margin")
        negMargin = try arguments.double("neg-margin")
        distance = try fixedDistance ?? arguments.distance()
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: reportedName)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["pos_loss", "neg_loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let gate = reducer.gate
        let posMargin = self.posMargin, negMargin = self.negMargin
        // m(x, y) = sign·(x − y), with the orientation read once rather than per pair.
        let sign = distance.sign

        // Element values: ℓ₊ = [m(d, pos-margin)]₊ and ℓ₋ = [m(neg-margin, d)]₊, as S, in
        // branch-free loops (counts and sums with reassociable adds, so they vectorise).
        let low = S(Swift.max(gate.low, -Double(S.greatestFiniteMagnitude)))
        let high = S(Swift.min(gate.high, Double(S.greatestFiniteMagnitude)))
        let s = S(sign), pm = S(posMargin), nm = S(negMargin)
        let bags = pairs.map(matrix.values) { row -> (Bag, Bag) in
            var sumPos: S = 0, countPos: S = 0, totalPos: S = 0
            var sumNeg: S = 0, countNeg: S = 0, totalNeg: S = 0
            for j in 0..<row.count {
                let d = row.values[j]
                let wp = S(row.positives[j]), wn = S(row.negatives[j])
                let lp = Swift.max(0, s * (d - pm)), ln = Swift.max(0, s * (nm - d))
                let ip: S = lp > low && lp < high ? wp : 0
                let inN: S = ln > low && ln < high ? wn : 0
                sumPos = Relaxed.sum(sumPos, lp * ip)
                countPos = Relaxed.sum(countPos, ip)
                totalPos = Relaxed.sum(totalPos, wp)
                sumNeg = Relaxed.sum(sumNeg, ln * inN)
                countNeg = Relaxed.sum(countNeg, inN)
                totalNeg = Relaxed.sum(totalNeg, wn)
            }
            return (Bag(sum: Double(sumPos), count: Int(Double(countPos).rounded()), total: Int(Double(totalPos).rounded())),
                    Bag(sum: Double(sumNeg), count: Int(Double(countNeg).rounded()), total: Int(Double(totalNeg).rounded())))
        }
        let positive = try LossAssembly.reduce(reducer, bags.map(\.0), loss: reportedName, term: "pos_loss", kind: .pair,
                                               labels: input.labels)
        let negative = try LossAssembly.reduce(reducer, bags.map(\.1), loss: reportedName, term: "neg_loss", kind: .pair,
                                               labels: input.labels)

        // dℓ₊/dd = sign and dℓ₋/dd = −sign where the hinge is active, times the reducer's weight.
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        pairs.accumulate(matrix.values, into: &upstream) { row, out in
            let a = row.anchor
            let gp = s * S(positive.scale(group: a)), gn = -s * S(negative.scale(group: a))
            for j in 0..<row.count {
                let d = row.values[j]
                let lp = s * (d - pm), ln = s * (nm - d)
                let activeP: S = lp > 0 && lp < high && lp > low ? S(row.positives[j]) : 0
                let activeN: S = ln > 0 && ln < high && ln > low ? S(row.negatives[j]) : 0
                out[j] = gp * activeP + gn * activeN
            }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("pos_loss", positive), ("neg_loss", negative)])
    }
}
