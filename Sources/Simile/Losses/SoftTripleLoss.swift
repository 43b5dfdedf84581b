import RealModule

/// SoftTriple (Qian et al. 2019): a softmax loss with K centers per class, each class's similarity
/// a soft maximum over its centers.
public struct SoftTripleLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "soft-triple",
        summary: "Softmax over classes whose similarity is a soft maximum over K centers per class, with a margin.",
        formula: """
            sᵢ_ck = similarity of xᵢ to center k of class c (row c·K + k of centers; cosine by default)
            Sᵢ_c = Σ_k pᵢ_ck·sᵢ_ck,  pᵢ_c· = softmax_k(sᵢ_c· / γ)
            zᵢ_c = λ·(Sᵢ_c − δ·[c = yᵢ]),  ℓᵢ = −log softmax(zᵢ)_(yᵢ)
            L = reduce over samples of wᵢ·ℓᵢ (mean by default; w = miner weights)
            """,
        discussion: """
            A proxy loss with several centers per class, for classes with several modes (poses, \
            sub-types); it needs no sampling and is equivalent to a smoothed triplet loss against the \
            centers. λ = 20 scales the logits, γ = 0.1 is the temperature of the soft maximum over a \
            class's centers (PML stores 1/γ), δ = 0.01 is the margin. The paper also adds a \
            regulariser merging redundant centers; in PML that is a separate weight regulariser \
            (SparseCentersRegularizer on the centers), and it is not part of this loss. The centers are the trainable parameter `centers`, (C·K)×D, \
            class-major: center k of class c is row c·K + k (PML's fc is D×(C·K), whose columns are \
            these rows). They start as PML's kaiming_uniform_(a=√5) of that D×(C·K) tensor: \
            U(−b, b) with b = 1/√(C·K), drawn row-major from SeededGenerator(seed, stream 0); their \
            learning rate is usually 100× the model's (`lr-multiplier`, as in the paper). The \
            distance must be a similarity (cosine or dot), as PML asserts. The soft maximum and the \
            cross-entropy are max-shifted and summed in Double. Mined tuples become per-sample weights \
            (occurrences / the largest count). Labels must lie in 0..<num-classes.
            """,
        reference: "Qian et al., SoftTriple Loss: Deep Metric Learning Without Triplet Sampling, ICCV 2019; PML SoftTripleLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .int("centers-per-class", 10, range: .atLeast(1), doc: "K: centers per class"),
            .double("la", 20, range: .greaterThan(0), doc: "λ: the scale of the class logits"),
            .double("gamma", 0.1, range: .greaterThan(0), doc: "γ: temperature of the soft maximum over a class's centers"),
            .double("margin", 0.01, doc: "δ: subtracted from the target class's similarity, in similarity units"),
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(100, "learning rate of the centers relative to the model's (the paper uses 100×)"),
            .distance(default: "cosine", doc: "how embeddings are compared with centers; must be a similarity"),
            .reducer(default: "mean"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "centers-per-class=2", "la=10", "gamma=0.5", "margin=0.1"],
                   ["num-classes=6", "embedding-size=5", "centers-per-class=1", "seed=2", "reducer=sum"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let centersPerClass: Int
    public let la: Double
    public let gamma: Double
    public let margin: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    public let distance: any Distance
    public let reducer: any Reducer
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        centersPerClass = try arguments.int("centers-per-class")
        la = try arguments.double("la")
        gamma = try arguments.double("gamma")
        margin = try arguments.double("margin")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        guard distance.isSimilarity else {
            throw SimileError.incompatible(
                "'soft-triple' needs a similarity (its centers' soft maximum is over similarities), not the distance "
                    + "'\(distance.name)'; use distance=cosine (the default) or distance=dot")
        }
        let count = numClasses * centersPerClass
        initial = ClassifierSupport.uniform(rows: count, columns: embeddingSize, bound: 1 / Double(count).squareRoot(),
                                            seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["centers": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: input.embeddings.columns,
                                    embeddingSize: embeddingSize, loss: name)
        let centers = try ClassifierSupport.parameter(input, "centers", loss: name)
        let n = input.embeddings.rows, c = numClasses, k = centersPerClass, width = c * k
        let minerWeights = ClassifierSupport.minerWeights(input.tuples, count: n)
        let matrix = try distance.forward(input.embeddings, centers)
        let inverseGamma = 1 / gamma, la = self.la, margin = self.margin

        // Per row: soft maxima Sᵢ_c, logits, cross-entropy; dℓ/ds written over the row.
        var upstream = Matrix<S>(rows: n, columns: width)
        let values: [Double] = matrix.values.elements.withUnsafeBufferPointer { source in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let m = SendableConstPointer(source.baseAddress!), out = SendablePointer(target.baseAddress!)
                return Parallel.map(n, grain: Swift.max(1, 8_192 / width)) { range -> [Double] in
                    let soft = UnsafeMutablePointer<Double>.allocate(capacity: c)
                    let logits = UnsafeMutablePointer<S>.allocate(capacity: c)
                    defer {
                        soft.deallocate()
                        logits.deallocate()
                    }
                    return range.map { i in
                        let s = m.pointer + i * width, p = out.pointer + i * width
                        // p ← softmax_k(s/γ) per class (shifted by each class's maximum).
                        for j in 0..<c {
                            var top = s[j * k]
                            for q in 1..<Swift.max(k, 1) where s[j * k + q] > top { top = s[j * k + q] }
                            for q in 0..<k { p[j * k + q] = S(inverseGamma) * (s[j * k + q] - top) }
                        }
                        S.exp(UnsafePointer(p), p, count: width)
                        for j in 0..<c {
                            var total = 0.0, weighted = 0.0
                            for q in 0..<k {
                                total += Double(p[j * k + q])
                                weighted += Double(p[j * k + q]) * Double(s[j * k + q])
                            }
                            let inverse = 1 / total
                            for q in 0..<k { p[j * k + q] = S(Double(p[j * k + q]) * inverse) }
                            soft[j] = weighted * inverse
                        }
                        let y = labels[i]
                        for j in 0..<c { logits[j] = S(la * soft[j]) }
                        logits[y] = S(la * (soft[y] - margin))
                        let value = ClassifierSupport.crossEntropy(logits, count: c, target: y, smoothing: 0)
                        // dℓ/ds_ck = λ·g_c·p_ck·(1 + (s_ck − S_c)/γ).
                        for j in 0..<c {
                            let g = la * Double(logits[j])
                            for q in 0..<k {
                                let pq = Double(p[j * k + q])
                                p[j * k + q] = S(g * pq * (1 + (Double(s[j * k + q]) - soft[j]) * inverseGamma))
                            }
                        }
                        return value
                    }
                }.flatMap { $0 }
            }
        }
        let (reduction, factors) = try ClassifierSupport.reducePerSample(values, minerWeights: minerWeights,
                                                                         reducer: reducer, labels: labels, loss: name)
        upstream.scaleRows { factors[$0] }
        let (gradient, centerGradient) = distance.backward(upstream, matrix)
        return LossAssembly.finish(input, gradient: gradient, referenceGradient: nil,
                                   terms: [("loss", reduction.value, reduction.included)],
                                   parameterGradients: ["centers": centerGradient!])
    }
}
