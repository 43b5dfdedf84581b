import RealModule

/// The angular loss (Wang et al. 2017): for each positive pair, every negative is pushed away from
/// the pair's centre, with a bound on the angle at the negative.
public struct AngularLoss: Loss, ReferenceCapable, TupleCapable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "angular",
        summary: "Each positive pair (a, p): every negative n is pushed away from the pair's centre, bounding the angle at n.",
        formula: """
            ℓ(a,p) = log(1 + Σ_{n: label(n) ≠ label(a)} exp(4·tan²α·(x̂ₐ + x̂ₚ)·x̂ₙ − 2·(1 + tan²α)·x̂ₐ·x̂ₚ))
            x̂ = x / max(‖x‖₂, 1e-12); every product is an entry of the cosine matrix S, so
            (x̂ₐ + x̂ₚ)·x̂ₙ = S[a,n] + S[p,n] and x̂ₐ·x̂ₚ = S[a,p]
            L = reduce over positive pairs (all same-label pairs, or the mined positive pairs)
            """,
        discussion: """
            A scale-invariant alternative to the triplet loss: the constraint is on the angle at the \
            negative, so it needs no distance margin, and the log-sum-exp over all negatives makes it \
            a smooth hardest-negative loss. The default α = 40° suits most data; larger α pulls harder. \
            It always works on L2-normalised embeddings, so it has no distance parameter. \
            Negatives are always every reference sample with a label different from the anchor's, as in \
            PML: of mined tuples only the positive pairs (a, p) are used (a triplet (a, p, n) gives the \
            pair (a, p)), but a batch or tuple without any negative pair gives 0, as in PML. \
            Deviation from PML: PML normalises the anchors and positives but uses the raw, unnormalised \
            negatives in the (x̂ₐ + x̂ₚ)·xₙ term, so its value changes when the inputs are rescaled \
            (scaling every input by 2 roughly doubles that term). Simile normalises the negatives too, as \
            the paper does, so the loss depends only on directions; on inputs whose rows already have unit \
            norm both agree.
            """,
        reference: "Wang, Zhou, Wen, Liu, Lin, Deep Metric Learning with Angular Loss, ICCV 2017; PML AngularLoss",
        parameters: [
            .double("alpha", 40, range: .open(0, 90), doc: "the angle bound α at the negative, in degrees"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["alpha=35"], ["alpha=50", "reducer=avg-non-zero"]])

    /// In degrees.
    public let alpha: Double
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        alpha = try arguments.double("alpha")
        reducer = try arguments.reducer()
    }

    /// One positive pair's log-sum-exp: the value, its max shift and its normaliser e^{−m} + Σ e^{f−m}.
    struct PairTerm: Sendable {
        var anchor: Int32
        var positive: Int32
        var multiplicity: Int32
        var value: Double
        var shift: Double
        var normalizer: Double
    }

    /// Calls `body(column, σₙ)` for every negative n of a pair: σₙ = e^{fₙ − shift} / normaliser.
    @inline(__always)
    static func forEachNegative<S: SimileFloat>(_ term: PairTerm, _ values: UnsafePointer<S>, size: Int, offset: Int,
                                                negatives: [Int32], c1: Double, c2: Double,
                                                _ body: (Int, Double) -> Void) {
        let a = Int(term.anchor), p = Int(term.positive)
        let rowA = values + a * size, rowP = values + (offset + p) * size
        let sap = Double(rowA[offset + p])
        for k in negatives {
            let f = c1 * (Double(rowA[Int(k)]) + Double(rowP[Int(k)])) - c2 * sap
            body(Int(k), Double.exp(f - term.shift) / term.normalizer)
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        let referenceLabels = try input.referenceClassLabels(name)
        let pairs = try PairIndex(input, loss: name)
        // PML: no positive pair or no negative pair (in the tuple, or in the batch) gives 0.
        guard pairs.totalPositives > 0, pairs.totalNegatives > 0 else {
            return .zero(for: input, subLosses: ["loss"])
        }
        let n = input.embeddings.rows
        let m = input.referenceEmbeddings.rows
        // One cosine matrix over the batch and the reference stacked, so that anchor–negative,
        // positive–negative and anchor–positive products all come from one Gram product.
        let stacked: Matrix<S>
        let offset: Int  // row of reference sample j in the stacked matrix is offset + j
        if let reference = input.reference {
            stacked = Matrix(rows: n + m, columns: input.embeddings.columns,
                             elements: input.embeddings.elements + reference.elements)
            offset = n
        } else {
            stacked = input.embeddings
            offset = 0
        }
        let cosine = CosineSimilarity()
        let matrix = try cosine.forward(stacked, nil)
        let size = matrix.columns
        let tan2 = Double.pow(Double.tan(alpha * .pi / 180), 2)
        let c1 = 4 * tan2, c2 = 2 * (1 + tan2)
        let gate = reducer.gate

        // Each anchor's negatives (by label, whatever the tuples say), as stacked columns.
        let negativeLists: [[Int32]] = (0..<n).map { a in
            var list: [Int32] = []
            for j in 0..<m where referenceLabels[j] != labels[a] { list.append(Int32(offset + j)) }
            return list
        }

        // Pass 1: every positive pair's value and normaliser, grouped by anchor.
        let perAnchor: [[PairTerm]] = matrix.values.elements.withUnsafeBufferPointer { buffer in
            let values = SendableConstPointer(buffer.baseAddress!)
            let chunks = Parallel.map(n, grain: 4) { range -> [[PairTerm]] in
                let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * max(m, 1))
                defer { scratch.deallocate() }
                return range.map { a in
                    pairs.fill(a, positives: scratch, negatives: scratch + m)
                    var terms: [PairTerm] = []
                    let negatives = negativeLists[a]
                    let rowA = values.pointer + a * size
                    for p in 0..<m where scratch[p] > 0 {
                        let rowP = values.pointer + (offset + p) * size
                        let sap = Double(rowA[offset + p])
                        var shift = 0.0
                        for k in negatives {
                            let f = c1 * (Double(rowA[Int(k)]) + Double(rowP[Int(k)])) - c2 * sap
                            shift = Swift.max(shift, f)
                        }
                        var sum = Double.exp(-shift)
                        for k in negatives {
                            let f = c1 * (Double(rowA[Int(k)]) + Double(rowP[Int(k)])) - c2 * sap
                            sum += Double.exp(f - shift)
                        }
                        terms.append(PairTerm(anchor: Int32(a), positive: Int32(p), multiplicity: scratch[p],
                                              value: shift + Double.log(sum), shift: shift, normalizer: sum))
                    }
                    return terms
                }
            }
            return chunks.flatMap { $0 }
        }
        let bags = perAnchor.map { terms -> Bag in
            var bag = Bag()
            for term in terms { bag.add(term.value, gate: gate, multiplicity: Int(term.multiplicity)) }
            return bag
        }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .pair,
                                                labels: input.labels)

        // dℓ/df_n = σ_n = e^{f_n − shift} / normaliser; df_n/dS[a,n] = df_n/dS[p,n] = 4tan²α and
        // df_n/dS[a,p] = −2(1 + tan²α). Pass 2 writes the anchor rows, pass 3 the positive rows.
        var upstream = Matrix<S>(rows: size, columns: size)
        let weights: [[Double]] = perAnchor.map { terms in
            terms.map { reduction.weight($0.value, group: Int($0.anchor)) * Double($0.multiplicity) }
        }
        let byPositive: [[(anchor: Int, index: Int)]] = {
            var lists = [[(anchor: Int, index: Int)]](repeating: [], count: m)
            for (a, terms) in perAnchor.enumerated() {
                for (index, term) in terms.enumerated() where weights[a][index] != 0 {
                    lists[Int(term.positive)].append((a, index))
                }
            }
            return lists
        }()
        matrix.values.elements.withUnsafeBufferPointer { buffer in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let values = SendableConstPointer(buffer.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                // Rows accumulate in Double, then are stored once.
                Parallel.forEach(n, grain: 4) { range in
                    var row = [Double](repeating: 0, count: size)
                    for a in range {
                        for k in 0..<size { row[k] = 0 }
                        for (index, term) in perAnchor[a].enumerated() {
                            let w = weights[a][index]
                            guard w != 0 else { continue }
                            var total = 0.0
                            AngularLoss.forEachNegative(term, values.pointer, size: size, offset: offset,
                                                        negatives: negativeLists[a], c1: c1, c2: c2) { k, sigma in
                                row[k] += w * c1 * sigma
                                total += sigma
                            }
                            row[offset + Int(term.positive)] -= w * c2 * total
                        }
                        for k in 0..<size { out.pointer[a * size + k] = S(row[k]) }
                    }
                }
                Parallel.forEach(m, grain: 4) { range in
                    var row = [Double](repeating: 0, count: size)
                    for p in range {
                        guard !byPositive[p].isEmpty else { continue }
                        for k in 0..<size { row[k] = 0 }
                        for (a, index) in byPositive[p] {
                            let w = weights[a][index]
                            AngularLoss.forEachNegative(perAnchor[a][index], values.pointer, size: size, offset: offset,
                                                        negatives: negativeLists[a], c1: c1, c2: c2) { k, sigma in
                                row[k] += w * c1 * sigma
                            }
                        }
                        let target = out.pointer + (offset + p) * size
                        for k in 0..<size { target[k] += S(row[k]) }
                    }
                }
            }
        }
        let (gradient, _) = cosine.backward(upstream, matrix)
        var gx = gradient, gr: Matrix<S>? = nil
        if let reference = input.reference {
            let d = input.embeddings.columns
            gx = Matrix(rows: n, columns: d, elements: Array(gradient.elements[0..<(n * d)]))
            gr = Matrix(rows: reference.rows, columns: d, elements: Array(gradient.elements[(n * d)...]))
        }
        return LossAssembly.finish(input, gradient: gx, referenceGradient: gr,
                                   terms: [("loss", reduction.value, reduction.included)])
    }
}
