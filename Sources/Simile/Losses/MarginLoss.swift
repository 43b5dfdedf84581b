/// The margin loss (Wu et al. 2017, "Sampling Matters"): positives should lie within β − margin
/// of the anchor and negatives beyond β + margin, with a boundary β that can be learned.
public struct MarginLoss: Loss, ReferenceCapable, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "margin",
        summary: "Positives within β − margin, negatives beyond β + margin, per triplet; β may be learned.",
        formula: """
            for each triplet (a, p, n), with β = βₐ = β[y(a)] per class or the one shared β:
              posₐₚₙ = [m(d(a,p), β) + margin]₊,  negₐₚₙ = [m(β, d(a,n)) + margin]₊
            margin_loss = reduce over triplets of posₐₚₙ + negₐₚₙ; the divisor reducer divides the sum by
              #{triplets with pos > 0} + #{triplets with neg > 0}
            beta_reg_loss = ν·β (one β), or reduce over triplets of ν·β[y(a)] (per class); 0 unless learn-beta
            L = margin_loss + beta_reg_loss, where m(x, y) = x − y for a distance, y − x for a similarity
            """,
        discussion: """
            A strong and cheap triplet-style loss, classically paired with distance-weighted sampling. \
            A pair term is repeated once for each triplet it occurs in, as in PML. Triplets are streamed per \
            anchor, never listed. \
            β is always the trainable parameter `beta` (1×1, or num-classes×1 indexed by the anchor's label, \
            whose labels must then lie in 0..<num-classes), and the loss always returns dL/dβ. learn-beta only \
            decides whether the ν·β regulariser is added and whether a trainer updates β: with \
            learn-beta=false the learning-rate multiplier is 0, so β stays the fixed hyperparameter `beta`. \
            With learn-beta=true β's learning rate is 1000× the model's, the ratio of the reference \
            training script for the paper (MXNet's embedding-learning example: Adam, model lr 1e-4, β lr 0.1), \
            because β must move by tenths while the weights move by thousandths; with plain SGD and a large \
            model learning rate, a trainer should lower it. \
            PML creates β in float32, so its default is 1.2000000476837158; Simile's is exactly 1.2 (pass β as \
            a parameter to reproduce PML to the last digit).
            """,
        reference: "Wu et al., Sampling Matters in Deep Embedding Learning, ICCV 2017; PML MarginLoss",
        parameters: [
            .double("margin", 0.2, range: .atLeast(0), doc: "half-width of the band around β, in distance units"),
            .double("nu", 0, range: .atLeast(0), doc: "weight of the ν·β regulariser (only with learn-beta=true)"),
            .double("beta", 1.2, doc: "initial (or, without learn-beta, fixed) boundary between positives and negatives"),
            .bool("learn-beta", false, doc: "train β (and add the ν·β regulariser)"),
            ParameterSpec("num-classes", .int, default: .unset("one β shared by all classes"), range: .atLeast(1),
                          doc: "one β per class label 0..<num-classes, chosen by the anchor's label"),
            ParameterSpec("triplets-per-anchor", .intOrChoice(["all"]), default: .value(.choice("all")),
                          range: .atLeast(1), doc: "all triplets, or this many random ones per anchor"),
            .int("seed", 0, range: .atLeast(0), doc: "seed for triplets-per-anchor sampling"),
            .distance(default: "lp"),
            .reducer(default: "divisor"),
        ],
        examples: [[], ["margin=0.1", "nu=0.1", "learn-beta=true"],
                   ["nu=0.1", "learn-beta=true", "num-classes=4"], ["triplets-per-anchor=5", "reducer=mean"]])

    public let margin: Double
    public let nu: Double
    public let beta: Double
    public let learnBeta: Bool
    public let numClasses: Int?
    let selection: TripletIndex.Selection
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        margin = try arguments.double("margin")
        nu = try arguments.double("nu")
        beta = try arguments.double("beta")
        learnBeta = try arguments.bool("learn-beta")
        numClasses = try arguments.optionalInt("num-classes")
        selection = try TripletIndex.Selection(arguments)
        distance = try arguments.distance()
        reducer = try arguments.reducer()
    }

    public func initialParameters() -> [String: Matrix<Double>] {
        ["beta": Matrix(rows: numClasses ?? 1, columns: 1, repeating: beta)]
    }

    /// 0 without learn-beta (β is fixed); otherwise the paper's ratio of β's learning rate to the model's.
    public var learningRateMultiplier: Double { learnBeta ? 1000 : 0 }

    /// What one anchor's triplets contribute before reduction.
    private struct AnchorPart: Sendable {
        var bag = Bag()
        var regularizer = Bag()
        var activePositive = 0
        var activeNegative = 0
        /// Σ over gated triplets of ∂(posₐₚₙ + negₐₚₙ)/∂β, unscaled by the reducer.
        var betaSlope = 0.0
        var triplets = 0
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let names = ["margin_loss", "beta_reg_loss"]
        let labels = try input.classLabels(name)
        guard let betaMatrix = input.parameters["beta"] else {
            throw SimileError.invalidInput("internal error: 'margin' was called without its parameter 'beta'")
        }
        let betas = betaMatrix.elements.map { Double($0) }
        if let numClasses, let bad = labels.first(where: { !(0..<numClasses).contains($0) }) {
            throw SimileError.invalidInput(
                "'margin' has num-classes=\(numClasses), one β per label 0..<\(numClasses), but label \(bad) occurs; "
                    + "set num-classes to at least \((labels.max() ?? 0) + 1) or relabel the classes 0..<\(numClasses)")
        }
        let perClass = numClasses != nil
        let triplets = try TripletIndex(input, loss: name, selection: selection)
        guard !triplets.isEmpty else { return .zero(for: input, subLosses: names) }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let distance = self.distance, margin = self.margin, nu = self.nu, learnBeta = self.learnBeta
        let gate = reducer.gate
        let sign = distance.sign
        let n = matrix.rows, m = matrix.columns

        // One pass: the bags, the divisor's counts and the unscaled gradient (all of an anchor's
        // writes stay in its row, so the reducer's scale is applied afterwards).
        var upstream = Matrix<S>(rows: n, columns: m)
        let parts: [AnchorPart] = matrix.values.elements.withUnsafeBufferPointer { values in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let mat = SendableConstPointer(values.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                let chunks = Parallel.map(n, grain: 8) { range -> [AnchorPart] in
                    let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * max(m, 1))
                    defer { scratch.deallocate() }
                    return range.map { a in
                        var part = AnchorPart()
                        let row = mat.pointer + a * m
                        let outRow = out.pointer + a * m
                        let beta = betas[perClass ? labels[a] : 0]
                        triplets.forEach(anchor: a, columns: m, scratch: scratch) { p, neg, multiplicity in
                            let positive = sign * (Double(row[p]) - beta) + margin
                            let negative = sign * (beta - Double(row[neg])) + margin
                            let value = Swift.max(0, positive) + Swift.max(0, negative)
                            part.bag.add(value, gate: gate, multiplicity: multiplicity)
                            part.triplets += multiplicity
                            if positive > 0 { part.activePositive += multiplicity }
                            if negative > 0 { part.activeNegative += multiplicity }
                            guard gate.includes(value) else { return }
                            let g = sign * Double(multiplicity)
                            if positive > 0 {
                                outRow[p] += S(g)
                                part.betaSlope -= g
                            }
                            if negative > 0 {
                                outRow[neg] -= S(g)
                                part.betaSlope += g
                            }
                        }
                        if learnBeta && perClass && part.triplets > 0 {
                            part.regularizer.add(nu * beta, gate: gate, multiplicity: part.triplets)
                        }
                        return part
                    }
                }
                return chunks.flatMap { $0 }
            }
        }
        let divisor = Double(parts.reduce(0) { $0 + $1.activePositive + $1.activeNegative })
        let marginReduction = try LossAssembly.reduce(reducer, parts.map(\.bag), loss: name, term: "margin_loss",
                                                      kind: .triplet, labels: input.labels, divisor: divisor)
        upstream.scaleRows { marginReduction.scale(group: $0) }

        var betaGradient = [Double](repeating: 0, count: betas.count)
        for (a, part) in parts.enumerated() where part.betaSlope != 0 {
            betaGradient[perClass ? labels[a] : 0] += marginReduction.scale(group: a) * part.betaSlope
        }
        let regularizer: Reduction
        if !learnBeta {
            regularizer = .zero()
        } else if !perClass {
            // Already reduced, as in PML: ν·β whatever the reducer.
            regularizer = Reduction(value: nu * betas[0], gate: .all, included: 1, scale: 1)
            betaGradient[0] += nu
        } else {
            regularizer = try LossAssembly.reduce(reducer, parts.map(\.regularizer), loss: name, term: "beta_reg_loss",
                                                  kind: .element, labels: input.labels, divisor: divisor)
            for (a, part) in parts.enumerated() where part.regularizer.total > 0 {
                let value = nu * betas[labels[a]]
                betaGradient[labels[a]] += regularizer.weight(value, group: a) * nu * Double(part.regularizer.total)
            }
        }
        let (gradient, referenceGradient) = distance.backward(upstream, matrix)
        let betaGradientMatrix = Matrix<S>(rows: betaMatrix.rows, columns: betaMatrix.columns,
                                           elements: betaGradient.map { S($0) })
        return LossAssembly.finish(
            input, gradient: gradient, referenceGradient: referenceGradient,
            terms: [("margin_loss", marginReduction.value, marginReduction.included),
                    ("beta_reg_loss", regularizer.value, regularizer.included)],
            parameterGradients: ["beta": betaGradientMatrix],
            stats: ["divisor": divisor])
    }
}
