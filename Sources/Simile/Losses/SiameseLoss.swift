import RealModule

/// A siamese pair classifier: a small trainable head scores each pair of embeddings, and binary
/// cross-entropy teaches it (and the embeddings) to tell same-class pairs from different-class ones.
public struct SiameseLoss: Loss, ReferenceCapable, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "siamese", aliases: ["pair-classifier"],
        summary: "A trainable head classifies each pair as same or different class (binary cross-entropy on logits).",
        formula: """
            φ(a,b) = |xₐ − x_b| (combine=abs-diff, elementwise) or [xₐ; x_b] (combine=concat), on the raw embeddings
            z(a,b) = w·φ + b (hidden = 0)  or  z(a,b) = w2·relu(w1·φ + b1) + b2 (hidden ≥ 1)
            pos_loss = reduce over positive pairs of softplus(−z) = −log σ(z)
            neg_loss = reduce over negative pairs of softplus(z) = −log(1 − σ(z))
            L = pos_loss + neg_loss
            """,
        discussion: """
            The classic siamese verification network (Bromley et al. 1993; Koch et al. 2015): instead of \
            a fixed distance, a head learns which differences between two embeddings matter. Use it when \
            the task is verification (same or not?) and a calibrated probability σ(z) is wanted, or as an \
            auxiliary loss beside a metric loss. Positive and negative pairs are reduced separately, so \
            the many negatives of a batch do not swamp the few positives. \
            The head's parameters are `w` (1×F) and `b` (1×1) for hidden = 0, or `w1` (hidden×F), `b1` \
            (1×hidden), `w2` (1×hidden) and `b2` (1×1), with F = embedding-size for abs-diff and \
            2·embedding-size for concat; their gradients come back with the loss's. They start from \
            `seed`: weight matrices Glorot-uniform, U(−l, l) with l = √(6/(fan-in + fan-out)), drawn \
            row-major from a SeededGenerator (stream 1 for w/w1, stream 2 for w2, 53-bit uniforms), \
            biases 0. The head reads the embeddings as they are (no normalisation), and embedding-size \
            must equal their width. abs-diff is symmetric in a and b; concat is not, and needs \
            hidden ≥ 1 (a linear head on [xₐ; x_b] scores each embedding on its own and cannot compare \
            them). Cost: abs-diff with hidden = 0 is O(pairs·D); abs-diff with hidden ≥ 1 is \
            O(pairs·D·hidden) (one product per anchor through BLAS, anchors in turn); concat \
            precomputes X·w1ₐᵀ and R·w1_bᵀ, so a pair costs O(hidden). No PML counterpart.
            """,
        reference: "Bromley et al., Signature Verification using a Siamese Time Delay Neural Network, NIPS 1993; Koch, Zemel, Salakhutdinov, Siamese Neural Networks for One-shot Image Recognition, ICML workshop 2015",
        parameters: [
            .int("embedding-size", nil, range: .atLeast(1), doc: "width D of the embeddings, which shapes the head's parameters"),
            ParameterSpec("combine", .choice(["abs-diff", "concat"]), default: .value(.choice("abs-diff")),
                          doc: "pair features: |xₐ − x_b| (symmetric) or the concatenation [xₐ; x_b]"),
            .int("hidden", 0, range: .atLeast(0), doc: "hidden ReLU units of the head; 0 means a linear head"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the parameters' initial values"),
            .reducer(default: "mean"),
        ],
        examples: [["embedding-size=5"], ["embedding-size=5", "hidden=4", "seed=3"],
                   ["embedding-size=5", "combine=concat", "hidden=3", "reducer=sum"]])

    public enum Combine: String, Sendable {
        case absDiff = "abs-diff"
        case concat
    }

    public let embeddingSize: Int
    public let combine: Combine
    public let hidden: Int
    public let seed: Int
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        embeddingSize = try arguments.int("embedding-size")
        combine = Combine(rawValue: try arguments.choice("combine"))!
        hidden = try arguments.int("hidden")
        seed = try arguments.int("seed")
        reducer = try arguments.reducer()
        if combine == .concat && hidden == 0 {
            throw SimileError.parameterOutOfRange(
                component: "siamese", parameter: "hidden", value: "0",
                range: "≥ 1 with combine=concat (a linear head on [xₐ; x_b] scores each embedding on its own and cannot compare them); give hidden=16, say, or use combine=abs-diff")
        }
    }

    /// Width of the pair features.
    public var featureSize: Int { combine == .concat ? 2 * embeddingSize : embeddingSize }

    public var learningRateMultiplier: Double { 1 }

    public func initialParameters() -> [String: Matrix<Double>] {
        let f = featureSize
        if hidden == 0 {
            return ["w": glorot(rows: 1, columns: f, stream: 1), "b": Matrix(rows: 1, columns: 1)]
        }
        return ["w1": glorot(rows: hidden, columns: f, stream: 1), "b1": Matrix(rows: 1, columns: hidden),
                "w2": glorot(rows: 1, columns: hidden, stream: 2), "b2": Matrix(rows: 1, columns: 1)]
    }

    /// Glorot-uniform: U(−l, l), l = √(6/(fan-in + fan-out)), fan-in = columns, fan-out = rows.
    private func glorot(rows: Int, columns: Int, stream: UInt64) -> Matrix<Double> {
        var generator = SeededGenerator(seed: UInt64(seed), stream: stream)
        let limit = (6 / Double(rows + columns)).squareRoot()
        return Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in
            let u = Double(generator.next() >> 11) * 0x1p-53
            return (2 * u - 1) * limit
        })
    }

    @inline(__always)
    static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + Double.exp(-x)) }
        let e = Double.exp(x)
        return e / (1 + e)
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        guard input.embeddings.columns == embeddingSize else {
            throw SimileError.shapeMismatch(
                "'siamese' was built with embedding-size=\(embeddingSize) but the embeddings have \(input.embeddings.columns) columns; pass embedding-size=\(input.embeddings.columns)")
        }
        let pairs = try PairIndex(input, loss: name)
        guard pairs.hasAnyPair else { return .zero(for: input, subLosses: ["pos_loss", "neg_loss"]) }
        let x = input.embeddings, r = input.referenceEmbeddings
        let n = x.rows, m = r.rows
        let parameters = input.parameters

        // Pass 1: the logit of every pair (entries without a pair stay 0 and are never read).
        let head: ConcreteHead<S>
        switch (combine, hidden) {
        case (.absDiff, 0): head = .linear(LinearAbsDiff(w: parameters["w"]!, b: parameters["b"]!))
        case (.absDiff, _):
            head = .hidden(HiddenAbsDiff(w1: parameters["w1"]!, b1: parameters["b1"]!, w2: parameters["w2"]!,
                                         b2: parameters["b2"]!))
        default:
            head = .concat(HiddenConcat(w1: parameters["w1"]!, b1: parameters["b1"]!, w2: parameters["w2"]!,
                                        b2: parameters["b2"]!, x: x, r: r))
        }
        let logits = head.logits(x, r, pairs)

        // Values, reduced per sub-loss.
        let gate = reducer.gate
        let bags = pairs.map(logits) { row -> (Bag, Bag) in
            var positive = Bag(), negative = Bag()
            for j in 0..<row.count {
                let z = Double(row.values[j])
                if row.positives[j] > 0 {
                    positive.add(Elementwise.softplus(-z), gate: gate, multiplicity: Int(row.positives[j]))
                }
                if row.negatives[j] > 0 {
                    negative.add(Elementwise.softplus(z), gate: gate, multiplicity: Int(row.negatives[j]))
                }
            }
            return (positive, negative)
        }
        let positive = try LossAssembly.reduce(reducer, bags.map(\.0), loss: name, term: "pos_loss", kind: .pair,
                                               labels: input.labels)
        let negative = try LossAssembly.reduce(reducer, bags.map(\.1), loss: name, term: "neg_loss", kind: .pair,
                                               labels: input.labels)

        // Δ = dL/dz per pair: weight·multiplicity·(σ(z) − y).
        var delta = Matrix<S>(rows: n, columns: m)
        pairs.accumulate(logits, into: &delta) { row, out in
            let a = row.anchor
            for j in 0..<row.count {
                let z = Double(row.values[j])
                var g = 0.0
                if row.positives[j] > 0 {
                    g += positive.weight(Elementwise.softplus(-z), group: a) * Double(row.positives[j])
                        * (SiameseLoss.sigmoid(z) - 1)
                }
                if row.negatives[j] > 0 {
                    g += negative.weight(Elementwise.softplus(z), group: a) * Double(row.negatives[j])
                        * SiameseLoss.sigmoid(z)
                }
                out[j] = S(g)
            }
        }

        // Pass 2: back through the head.
        let (gx, gr, parameterGradients) = head.backward(delta, x, r, isSelf: input.isSelfComparison)
        return LossAssembly.finish(input, gradient: gx, referenceGradient: gr,
                                   terms: [("pos_loss", positive.value, positive.included),
                                           ("neg_loss", negative.value, negative.included)],
                                   parameterGradients: parameterGradients)
    }
}

/// One way of scoring pairs, with its backward pass.
private class Head<S: SimileFloat> {
    /// N×M logits, computed where `pairs` has a pair.
    func logits(_ x: Matrix<S>, _ r: Matrix<S>, _ pairs: PairIndex) -> Matrix<S> { fatalError("abstract") }
    /// Gradients for the embeddings, the reference (nil when self) and the parameters, given Δ = dL/dz.
    func backward(_ delta: Matrix<S>, _ x: Matrix<S>, _ r: Matrix<S>, isSelf: Bool)
        -> (Matrix<S>, Matrix<S>?, [String: Matrix<S>]) { fatalError("abstract") }
}

/// The head in use, by its concrete (final) type: calls through the base class would be virtual,
/// and a virtual call into a generic class runs unspecialised generic code (~100× slower here).
private enum ConcreteHead<S: SimileFloat> {
    case linear(LinearAbsDiff<S>)
    case hidden(HiddenAbsDiff<S>)
    case concat(HiddenConcat<S>)

    func logits(_ x: Matrix<S>, _ r: Matrix<S>, _ pairs: PairIndex) -> Matrix<S> {
        switch self {
        case let .linear(head): head.logits(x, r, pairs)
        case let .hidden(head): head.logits(x, r, pairs)
        case let .concat(head): head.logits(x, r, pairs)
        }
    }

    func backward(_ delta: Matrix<S>, _ x: Matrix<S>, _ r: Matrix<S>, isSelf: Bool)
        -> (Matrix<S>, Matrix<S>?, [String: Matrix<S>]) {
        switch self {
        case let .linear(head): head.backward(delta, x, r, isSelf: isSelf)
        case let .hidden(head): head.backward(delta, x, r, isSelf: isSelf)
        case let .concat(head): head.backward(delta, x, r, isSelf: isSelf)
        }
    }
}

/// The sign, with 0 at 0 (the subgradient of |·| that Simile uses).
@inline(__always)
private func signum(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }

/// The columns of anchor a that form a pair with it.
private func pairColumns(_ pairs: PairIndex, _ a: Int, scratch: UnsafeMutablePointer<Int32>, into list: inout [Int]) {
    let m = pairs.columns
    pairs.fill(a, positives: scratch, negatives: scratch + m)
    list.removeAll(keepingCapacity: true)
    for j in 0..<m where scratch[j] > 0 || scratch[m + j] > 0 { list.append(j) }
}

/// z = w·|xₐ − x_b| + b: elementwise loops, O(D) a pair, parallel over anchors, then over references.
private final class LinearAbsDiff<S: SimileFloat>: Head<S> {
    let w: [Double]
    let b: Double

    init(w: Matrix<S>, b: Matrix<S>) {
        self.w = w.elements.map { Double($0) }
        self.b = Double(b.elements[0])
    }

    override func logits(_ x: Matrix<S>, _ r: Matrix<S>, _ pairs: PairIndex) -> Matrix<S> {
        let n = x.rows, m = r.rows, d = x.columns
        var z = Matrix<S>(rows: n, columns: m)
        let w = self.w, b = self.b
        x.elements.withUnsafeBufferPointer { px in
            r.elements.withUnsafeBufferPointer { pr in
                z.elements.withUnsafeMutableBufferPointer { pz in
                    let xs = SendableConstPointer(px.baseAddress!), rs = SendableConstPointer(pr.baseAddress!)
                    let out = SendablePointer(pz.baseAddress!)
                    Parallel.forEach(n, grain: 16) { range in
                        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                        defer { scratch.deallocate() }
                        var columns: [Int] = []
                        for a in range {
                            pairColumns(pairs, a, scratch: scratch, into: &columns)
                            let xa = xs.pointer + a * d
                            for j in columns {
                                let rj = rs.pointer + j * d
                                var sum = b
                                for k in 0..<d { sum += w[k] * Swift.abs(Double(xa[k]) - Double(rj[k])) }
                                out.pointer[a * m + j] = S(sum)
                            }
                        }
                    }
                }
            }
        }
        return z
    }

    override func backward(_ delta: Matrix<S>, _ x: Matrix<S>, _ r: Matrix<S>, isSelf: Bool)
        -> (Matrix<S>, Matrix<S>?, [String: Matrix<S>]) {
        let n = x.rows, m = r.rows, d = x.columns
        let w = self.w
        var gx = Matrix<S>(rows: n, columns: d)
        var gr = Matrix<S>(rows: m, columns: d)
        // Anchor rows, with partial sums of dL/dw and dL/db per chunk (merged in chunk order).
        let partials: [([Double], Double)] = x.elements.withUnsafeBufferPointer { px in
            r.elements.withUnsafeBufferPointer { pr in
                delta.elements.withUnsafeBufferPointer { pd in
                    gx.elements.withUnsafeMutableBufferPointer { pg in
                        let xs = SendableConstPointer(px.baseAddress!), rs = SendableConstPointer(pr.baseAddress!)
                        let ds = SendableConstPointer(pd.baseAddress!), out = SendablePointer(pg.baseAddress!)
                        return Parallel.map(n, grain: 16) { range -> ([Double], Double) in
                            var gw = [Double](repeating: 0, count: d), gb = 0.0
                            var row = [Double](repeating: 0, count: d)
                            for a in range {
                                let xa = xs.pointer + a * d
                                for k in 0..<d { row[k] = 0 }
                                for j in 0..<m {
                                    let g = Double(ds.pointer[a * m + j])
                                    guard g != 0 else { continue }
                                    let rj = rs.pointer + j * d
                                    gb += g
                                    for k in 0..<d {
                                        let diff = Double(xa[k]) - Double(rj[k])
                                        gw[k] += g * Swift.abs(diff)
                                        row[k] += g * w[k] * signum(diff)
                                    }
                                }
                                for k in 0..<d { out.pointer[a * d + k] = S(row[k]) }
                            }
                            return (gw, gb)
                        }
                    }
                }
            }
        }
        // Reference rows: dz/dx_b = −w ⊙ sign(xₐ − x_b).
        x.elements.withUnsafeBufferPointer { px in
            r.elements.withUnsafeBufferPointer { pr in
                delta.elements.withUnsafeBufferPointer { pd in
                    gr.elements.withUnsafeMutableBufferPointer { pg in
                        let xs = SendableConstPointer(px.baseAddress!), rs = SendableConstPointer(pr.baseAddress!)
                        let ds = SendableConstPointer(pd.baseAddress!), out = SendablePointer(pg.baseAddress!)
                        Parallel.forEach(m, grain: 16) { range in
                            var row = [Double](repeating: 0, count: d)
                            for j in range {
                                let rj = rs.pointer + j * d
                                for k in 0..<d { row[k] = 0 }
                                for a in 0..<n {
                                    let g = Double(ds.pointer[a * m + j])
                                    guard g != 0 else { continue }
                                    let xa = xs.pointer + a * d
                                    for k in 0..<d { row[k] -= g * w[k] * signum(Double(xa[k]) - Double(rj[k])) }
                                }
                                for k in 0..<d { out.pointer[j * d + k] = S(row[k]) }
                            }
                        }
                    }
                }
            }
        }
        var gw = [Double](repeating: 0, count: d), gb = 0.0
        for (partial, bias) in partials {
            for k in 0..<d { gw[k] += partial[k] }
            gb += bias
        }
        let parameters: [String: Matrix<S>] = [
            "w": Matrix(rows: 1, columns: d, elements: gw.map { S($0) }),
            "b": Matrix(rows: 1, columns: 1, elements: [S(gb)]),
        ]
        if isSelf {
            gx.add(gr)
            return (gx, nil, parameters)
        }
        return (gx, gr, parameters)
    }
}

/// z = w2·relu(w1·|xₐ − x_b| + b1) + b2: anchors in turn, each anchor's pairs as one BLAS product.
private final class HiddenAbsDiff<S: SimileFloat>: Head<S> {
    let w1: Matrix<S>
    let b1: [Double]
    let w2: [Double]
    let b2: Double

    init(w1: Matrix<S>, b1: Matrix<S>, w2: Matrix<S>, b2: Matrix<S>) {
        self.w1 = w1
        self.b1 = b1.elements.map { Double($0) }
        self.w2 = w2.elements.map { Double($0) }
        self.b2 = Double(b2.elements[0])
    }

    /// Φ (c×D) = |xₐ − x_j| for the listed columns.
    private func features(_ x: Matrix<S>, _ r: Matrix<S>, anchor a: Int, columns: [Int]) -> Matrix<S> {
        let d = x.columns
        var phi = Matrix<S>(rows: columns.count, columns: d)
        for (row, j) in columns.enumerated() {
            for k in 0..<d { phi.elements[row * d + k] = Swift.abs(x.elements[a * d + k] - r.elements[j * d + k]) }
        }
        return phi
    }

    /// Pre-activations Φ·w1ᵀ + b1 (c×H).
    private func preActivations(_ phi: Matrix<S>) -> Matrix<S> {
        var pre = Matrix.product(phi, w1, transposeB: true)
        let h = w1.rows
        for row in 0..<phi.rows {
            for u in 0..<h { pre.elements[row * h + u] += S(b1[u]) }
        }
        return pre
    }

    override func logits(_ x: Matrix<S>, _ r: Matrix<S>, _ pairs: PairIndex) -> Matrix<S> {
        let n = x.rows, m = r.rows, h = w1.rows
        var z = Matrix<S>(rows: n, columns: m)
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
        defer { scratch.deallocate() }
        var columns: [Int] = []
        for a in 0..<n {
            pairColumns(pairs, a, scratch: scratch, into: &columns)
            guard !columns.isEmpty else { continue }
            let pre = preActivations(features(x, r, anchor: a, columns: columns))
            for (row, j) in columns.enumerated() {
                var sum = b2
                for u in 0..<h { sum += w2[u] * Swift.max(0, Double(pre.elements[row * h + u])) }
                z[a, j] = S(sum)
            }
        }
        return z
    }

    override func backward(_ delta: Matrix<S>, _ x: Matrix<S>, _ r: Matrix<S>, isSelf: Bool)
        -> (Matrix<S>, Matrix<S>?, [String: Matrix<S>]) {
        let n = x.rows, m = r.rows, d = x.columns, h = w1.rows
        var gx = [Double](repeating: 0, count: n * d)
        var gr = [Double](repeating: 0, count: m * d)
        var gw1 = Matrix<S>(rows: h, columns: d)
        var gb1 = [Double](repeating: 0, count: h), gw2 = gb1
        var gb2 = 0.0
        var columns: [Int] = []
        for a in 0..<n {
            columns.removeAll(keepingCapacity: true)
            for j in 0..<m where delta[a, j] != 0 { columns.append(j) }
            guard !columns.isEmpty else { continue }
            let phi = features(x, r, anchor: a, columns: columns)
            let pre = preActivations(phi)
            // Q = Δ·(w2 ⊙ 1[pre > 0]), c×H.
            var q = Matrix<S>(rows: columns.count, columns: h)
            for (row, j) in columns.enumerated() {
                let g = Double(delta[a, j])
                gb2 += g
                for u in 0..<h {
                    let p = Double(pre.elements[row * h + u])
                    guard p > 0 else { continue }
                    gw2[u] += g * p
                    let value = g * w2[u]
                    gb1[u] += value
                    q.elements[row * h + u] = S(value)
                }
            }
            gw1.addProduct(q, transposeA: true, phi)
            let dphi = Matrix.product(q, w1)
            for (row, j) in columns.enumerated() {
                for k in 0..<d {
                    let diff = Double(x.elements[a * d + k]) - Double(r.elements[j * d + k])
                    let g = Double(dphi.elements[row * d + k]) * signum(diff)
                    gx[a * d + k] += g
                    gr[j * d + k] -= g
                }
            }
        }
        let parameters: [String: Matrix<S>] = [
            "w1": gw1,
            "b1": Matrix(rows: 1, columns: h, elements: gb1.map { S($0) }),
            "w2": Matrix(rows: 1, columns: h, elements: gw2.map { S($0) }),
            "b2": Matrix(rows: 1, columns: 1, elements: [S(gb2)]),
        ]
        if isSelf {
            for index in gx.indices { gx[index] += gr[index] }
            return (Matrix(rows: n, columns: d, elements: gx.map { S($0) }), nil, parameters)
        }
        return (Matrix(rows: n, columns: d, elements: gx.map { S($0) }),
                Matrix(rows: m, columns: d, elements: gr.map { S($0) }), parameters)
    }
}

/// z = w2·relu(Uₐ + V_b + b1) + b2 with U = X·w1ₐᵀ and V = R·w1_bᵀ (w1 = [w1ₐ | w1_b]): O(H) a pair.
private final class HiddenConcat<S: SimileFloat>: Head<S> {
    let w1a: Matrix<S>
    let w1b: Matrix<S>
    let b1: [Double]
    let w2: [Double]
    let b2: Double
    let u: Matrix<S>
    let v: Matrix<S>

    init(w1: Matrix<S>, b1: Matrix<S>, w2: Matrix<S>, b2: Matrix<S>, x: Matrix<S>, r: Matrix<S>) {
        let h = w1.rows, d = w1.columns / 2
        var w1a = Matrix<S>(rows: h, columns: d), w1b = Matrix<S>(rows: h, columns: d)
        for row in 0..<h {
            for k in 0..<d {
                w1a.elements[row * d + k] = w1.elements[row * 2 * d + k]
                w1b.elements[row * d + k] = w1.elements[row * 2 * d + d + k]
            }
        }
        self.w1a = w1a
        self.w1b = w1b
        self.b1 = b1.elements.map { Double($0) }
        self.w2 = w2.elements.map { Double($0) }
        self.b2 = Double(b2.elements[0])
        u = Matrix.product(x, w1a, transposeB: true)
        v = Matrix.product(r, w1b, transposeB: true)
    }

    override func logits(_ x: Matrix<S>, _ r: Matrix<S>, _ pairs: PairIndex) -> Matrix<S> {
        let n = x.rows, m = r.rows, h = w1a.rows
        var z = Matrix<S>(rows: n, columns: m)
        let b1 = self.b1, w2 = self.w2, b2 = self.b2
        u.elements.withUnsafeBufferPointer { pu in
            v.elements.withUnsafeBufferPointer { pv in
                z.elements.withUnsafeMutableBufferPointer { pz in
                    let us = SendableConstPointer(pu.baseAddress!), vs = SendableConstPointer(pv.baseAddress!)
                    let out = SendablePointer(pz.baseAddress!)
                    Parallel.forEach(n, grain: 16) { range in
                        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                        defer { scratch.deallocate() }
                        var columns: [Int] = []
                        for a in range {
                            pairColumns(pairs, a, scratch: scratch, into: &columns)
                            let ua = us.pointer + a * h
                            for j in columns {
                                let vj = vs.pointer + j * h
                                var sum = b2
                                for k in 0..<h { sum += w2[k] * Swift.max(0, Double(ua[k]) + Double(vj[k]) + b1[k]) }
                                out.pointer[a * m + j] = S(sum)
                            }
                        }
                    }
                }
            }
        }
        return z
    }

    override func backward(_ delta: Matrix<S>, _ x: Matrix<S>, _ r: Matrix<S>, isSelf: Bool)
        -> (Matrix<S>, Matrix<S>?, [String: Matrix<S>]) {
        let n = x.rows, m = r.rows, h = w1a.rows, d = x.columns
        let b1 = self.b1, w2 = self.w2
        var gu = Matrix<S>(rows: n, columns: h)
        var gv = Matrix<S>(rows: m, columns: h)
        // Rows: dL/dUₐ = Σ_b Δ·w2 ⊙ 1[pre > 0], with partial dL/dw2 and dL/db2 per chunk.
        let partials: [([Double], Double)] = u.elements.withUnsafeBufferPointer { pu in
            v.elements.withUnsafeBufferPointer { pv in
                delta.elements.withUnsafeBufferPointer { pd in
                    gu.elements.withUnsafeMutableBufferPointer { pg in
                        let us = SendableConstPointer(pu.baseAddress!), vs = SendableConstPointer(pv.baseAddress!)
                        let ds = SendableConstPointer(pd.baseAddress!), out = SendablePointer(pg.baseAddress!)
                        return Parallel.map(n, grain: 16) { range -> ([Double], Double) in
                            var gw2 = [Double](repeating: 0, count: h), gb2 = 0.0
                            var row = [Double](repeating: 0, count: h)
                            for a in range {
                                let ua = us.pointer + a * h
                                for k in 0..<h { row[k] = 0 }
                                for j in 0..<m {
                                    let g = Double(ds.pointer[a * m + j])
                                    guard g != 0 else { continue }
                                    gb2 += g
                                    let vj = vs.pointer + j * h
                                    for k in 0..<h {
                                        let pre = Double(ua[k]) + Double(vj[k]) + b1[k]
                                        guard pre > 0 else { continue }
                                        gw2[k] += g * pre
                                        row[k] += g * w2[k]
                                    }
                                }
                                for k in 0..<h { out.pointer[a * h + k] = S(row[k]) }
                            }
                            return (gw2, gb2)
                        }
                    }
                }
            }
        }
        // Columns: dL/dV_b = Σₐ Δ·w2 ⊙ 1[pre > 0].
        u.elements.withUnsafeBufferPointer { pu in
            v.elements.withUnsafeBufferPointer { pv in
                delta.elements.withUnsafeBufferPointer { pd in
                    gv.elements.withUnsafeMutableBufferPointer { pg in
                        let us = SendableConstPointer(pu.baseAddress!), vs = SendableConstPointer(pv.baseAddress!)
                        let ds = SendableConstPointer(pd.baseAddress!), out = SendablePointer(pg.baseAddress!)
                        Parallel.forEach(m, grain: 16) { range in
                            var row = [Double](repeating: 0, count: h)
                            for j in range {
                                let vj = vs.pointer + j * h
                                for k in 0..<h { row[k] = 0 }
                                for a in 0..<n {
                                    let g = Double(ds.pointer[a * m + j])
                                    guard g != 0 else { continue }
                                    let ua = us.pointer + a * h
                                    for k in 0..<h where Double(ua[k]) + Double(vj[k]) + b1[k] > 0 { row[k] += g * w2[k] }
                                }
                                for k in 0..<h { out.pointer[j * h + k] = S(row[k]) }
                            }
                        }
                    }
                }
            }
        }
        var gw2 = [Double](repeating: 0, count: h), gb2 = 0.0
        for (partial, bias) in partials {
            for k in 0..<h { gw2[k] += partial[k] }
            gb2 += bias
        }
        let gb1 = PairwiseAlgebra.columnSums(gu)
        // dL/dw1 = [Guᵀ·X | Gvᵀ·R]; dL/dX = Gu·w1ₐ, dL/dR = Gv·w1_b.
        let gw1a = Matrix.product(gu, transposeA: true, x), gw1b = Matrix.product(gv, transposeA: true, r)
        var gw1 = Matrix<S>(rows: h, columns: 2 * d)
        for row in 0..<h {
            for k in 0..<d {
                gw1.elements[row * 2 * d + k] = gw1a.elements[row * d + k]
                gw1.elements[row * 2 * d + d + k] = gw1b.elements[row * d + k]
            }
        }
        var gx = Matrix.product(gu, w1a)
        let gr = Matrix.product(gv, w1b)
        let parameters: [String: Matrix<S>] = [
            "w1": gw1,
            "b1": Matrix(rows: 1, columns: h, elements: gb1.map { S($0) }),
            "w2": Matrix(rows: 1, columns: h, elements: gw2.map { S($0) }),
            "b2": Matrix(rows: 1, columns: 1, elements: [S(gb2)]),
        ]
        if isSelf {
            gx.add(gr)
            return (gx, nil, parameters)
        }
        return (gx, gr, parameters)
    }
}
