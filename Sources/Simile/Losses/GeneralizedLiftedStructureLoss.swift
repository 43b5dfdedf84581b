import RealModule

/// The generalized lifted structure loss (Hermans et al. 2017, page 4) in PML's form: per anchor, a
/// soft maximum over its positives plus a soft maximum over its negatives.
public struct GeneralizedLiftedStructureLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "generalized-lifted-structure",
        summary: "Per anchor: soft-max positive distance plus soft-max negative margin violation, hinged.",
        formula: """
            ℓₐ = [ LSE_{p∈P(a)} m(dₐₚ, pos-margin) + LSE_{n∈N(a)} m(neg-margin, dₐₙ) ]₊
            LSE over an empty set is 0 (PML's masked log-sum-exp); m(x, y) = x − y for a distance, y − x for a similarity
            L = reduce over all anchors (mean by default; anchors without pairs give 0 and count)
            """,
        discussion: """
            The anchor-wise form of the lifted structure loss from "In Defense of the Triplet Loss": \
            every anchor weighs its hardest positive and hardest negative softly, with no add-one in \
            the log-sum-exp. Cheaper and better behaved than lifted-structure (one term per anchor, \
            not per pair). Mined pairs act as masks (a pair mined twice counts once). Anchors with \
            positives but no negatives (e.g. a batch of one label) still have a loss, as in PML. \
            Deviation from PML: with reducer=class-weighted, Simile weights each anchor's loss by \
            its class; PML 2.9.0 returns mean(ℓ)·mean(w) instead, because its per-anchor losses have \
            shape (N, 1) and broadcast against the (N,) weights. Simile does not reproduce PML's \
            quirk of returning 0 when every index list has at most one element.
            """,
        reference: "Hermans, Beyer, Leibe, In Defense of the Triplet Loss for Person Re-Identification, 2017; PML GeneralizedLiftedStructureLoss",
        parameters: [
            .double("neg-margin", 1, doc: "negative pairs are penalised within this distance (or beyond this similarity)"),
            .double("pos-margin", 0, doc: "positive pairs are measured from this distance (or similarity)"),
            .distance(default: "lp"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["neg-margin=0.5", "pos-margin=0.2"], ["distance=cosine", "neg-margin=0.2", "pos-margin=0.8"],
                   ["distance=lp(power=2)", "reducer=avg-non-zero"]])

    public let negMargin: Double
    public let posMargin: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        negMargin = try arguments.double("neg-margin")
        posMargin = try arguments.double("pos-margin")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let pairs = try PairIndex(input, loss: name)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["loss"]) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let sign = distance.sign, posMargin = self.posMargin, negMargin = self.negMargin

        // One pass: each anchor's value and its unscaled gradient row (scaled by the reducer afterwards).
        var upstream = Matrix<S>(rows: matrix.rows, columns: matrix.columns)
        let values = pairs.accumulateMap(matrix.values, into: &upstream) { row, out -> Double in
            // Positive exponent m(d, pos-margin) = sign·(d − pos-margin); negative m(neg-margin, d) = sign·(neg-margin − d).
            var maxPos = -Double.infinity, maxNeg = -Double.infinity
            for j in 0..<row.count {
                let d = Double(row.values[j])
                if row.positives[j] > 0 { maxPos = Swift.max(maxPos, sign * (d - posMargin)) }
                if row.negatives[j] > 0 { maxNeg = Swift.max(maxNeg, sign * (negMargin - d)) }
            }
            var sumPos = 0.0, sumNeg = 0.0
            for j in 0..<row.count {
                let d = Double(row.values[j])
                var g: S = 0
                if row.positives[j] > 0 {
                    let e = S.exp(S(sign * (d - posMargin) - maxPos))
                    sumPos += Double(e)
                    g = e
                } else if row.negatives[j] > 0 {
                    let e = S.exp(S(sign * (negMargin - d) - maxNeg))
                    sumNeg += Double(e)
                    g = -e
                }
                out[j] = g
            }
            let lsePos = sumPos > 0 ? maxPos + Double.log(sumPos) : 0
            let lseNeg = sumNeg > 0 ? maxNeg + Double.log(sumNeg) : 0
            let value = lsePos + lseNeg
            guard value > 0 else {
                for j in 0..<row.count { out[j] = 0 }
                return 0
            }
            // dℓ/dM = sign·softmax₊ on positives, −sign·softmax₋ on negatives.
            let scalePos = sumPos > 0 ? S(sign / sumPos) : 0, scaleNeg = sumNeg > 0 ? S(sign / sumNeg) : 0
            for j in 0..<row.count where out[j] != 0 {
                out[j] *= out[j] > 0 ? scalePos : scaleNeg
            }
            return value
        }
        return try LossAssembly.outputPerAnchor(input, distance: distance, matrix: matrix, upstream: upstream,
                                                values: values, reducer: reducer, loss: name)
    }
}
