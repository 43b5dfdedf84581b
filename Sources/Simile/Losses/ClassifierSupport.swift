import RealModule

/// What the proxy and classification losses share: label and shape checks, per-sample miner
/// weights, seeded initial parameter matrices, a softmax cross-entropy over one row of logits, and
/// the reduction of per-sample values.
enum ClassifierSupport {
    /// Labels must index a class (0..<num-classes) and the embeddings must be embedding-size wide.
    static func check(_ labels: [Int], numClasses: Int, columns: Int, embeddingSize: Int, loss: String) throws {
        guard columns == embeddingSize else {
            throw SimileError.shapeMismatch(
                "'\(loss)' was built with embedding-size=\(embeddingSize) but the embeddings have \(columns) columns; "
                    + "pass embedding-size=\(columns)")
        }
        if let bad = labels.first(where: { $0 < 0 }) {
            throw SimileError.invalidInput(
                "'\(loss)' needs class labels 0..<num-classes (one parameter row per class), but label \(bad) occurs; "
                    + "relabel the classes 0..<\(numClasses)")
        }
        if let bad = labels.first(where: { $0 >= numClasses }) {
            throw SimileError.invalidInput(
                "'\(loss)' has num-classes=\(numClasses), one class per label 0..<\(numClasses), but label \(bad) occurs; "
                    + "set num-classes to at least \((labels.max() ?? 0) + 1) or relabel the classes 0..<\(numClasses)")
        }
    }

    /// The trainable matrix the validator filled in (given or initial).
    static func parameter<S: SimileFloat>(_ input: LossInput<S>, _ name: String, loss: String) throws -> Matrix<S> {
        guard let value = input.parameters[name] else {
            throw SimileError.invalidInput("internal error: '\(loss)' was called without its parameter '\(name)'")
        }
        return value
    }

    /// PML's `convert_to_weights`: each sample's number of occurrences in the tuples divided by the
    /// largest count; samples that never occur weigh 0. No tuples, or empty ones, weigh everyone 1.
    /// `anchorsOnly` counts only the anchors (PML's `using_ref=True`, which proxy-nca passes).
    static func minerWeights(_ tuples: Tuples?, count: Int, anchorsOnly: Bool = false) -> [Double] {
        guard let tuples, !tuples.isEmpty else { return [Double](repeating: 1, count: count) }
        let indices: [Int]
        if anchorsOnly {
            switch tuples {
            case let .pairs(positive, negative): indices = positive.map(\.anchor) + negative.map(\.anchor)
            case let .triplets(triplets): indices = triplets.map(\.anchor)
            }
        } else {
            indices = tuples.allIndices
        }
        var counts = [Int](repeating: 0, count: count)
        for index in indices { counts[index] += 1 }
        let largest = Double(counts.max() ?? 1)
        return counts.map { Double($0) / largest }
    }

    // MARK: Initial parameters

    /// N(0, σ²) elements, drawn row-major from `SeededGenerator(seed:, stream: 0)` (Box–Muller).
    static func normal(rows: Int, columns: Int, standardDeviation: Double, seed: Int) -> Matrix<Double> {
        var generator = SeededGenerator(seed: UInt64(seed), stream: 0)
        return Matrix(rows: rows, columns: columns,
                      elements: (0..<(rows * columns)).map { _ in standardDeviation * generator.nextGaussian() })
    }

    /// U(−b, b) elements, drawn row-major from `SeededGenerator(seed:, stream: 0)` (53-bit uniforms).
    static func uniform(rows: Int, columns: Int, bound: Double, seed: Int) -> Matrix<Double> {
        var generator = SeededGenerator(seed: UInt64(seed), stream: 0)
        return Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { _ in
            let u = Double(generator.next() >> 11) * 0x1p-53
            return (2 * u - 1) * bound
        })
    }

    // MARK: Cross-entropy

    /// Softmax cross-entropy of one row of logits against class `target`, with label smoothing ε
    /// (torch's convention: the target distribution is (1 − ε)·onehot(y) + ε/C):
    ///
    ///     ℓ = LSE(z) − (1 − ε)·z_y − (ε/C)·Σ_c z_c,   dℓ/dz_c = softmax(z)_c − (1 − ε)·[c = y] − ε/C
    ///
    /// The logits are read from `z` and the gradient is written over them. The log-sum-exp is
    /// shifted by the row's maximum and summed in Double, so any scale stays finite. The sums may
    /// be reassociated (`Relaxed.sum`), which lets them vectorise: summed in order, each row would
    /// wait on the latency of C dependent additions.
    @inline(__always)
    static func crossEntropy<S: SimileFloat>(_ z: UnsafeMutablePointer<S>, count: Int, target: Int,
                                            smoothing: Double) -> Double {
        let largest = maximum(z, count: count)
        // Σ z only enters with label smoothing (with ε = 0 its term is 0·finite).
        var sumOfLogits = 0.0
        if smoothing != 0 {
            for c in 0..<count { sumOfLogits = Relaxed.sum(sumOfLogits, Double(z[c])) }
        }
        let targetLogit = Double(z[target])
        for c in 0..<count { z[c] -= largest }
        S.exp(UnsafePointer(z), z, count: count)
        var sum = 0.0
        for c in 0..<count { sum = Relaxed.sum(sum, Double(z[c])) }
        let shift = Double(largest)
        let value = Double.log(sum) + (1 - smoothing) * (shift - targetLogit)
            + smoothing * (shift - sumOfLogits / Double(count))
        let inverse = S(1 / sum), offset = S(smoothing / Double(count))
        for c in 0..<count { z[c] = z[c] * inverse - offset }
        z[target] -= S(1 - smoothing)
        return value
    }

    /// The largest of `count` (≥ 1) values, with four independent running maxima (one would wait
    /// on each comparison in turn).
    @inline(__always)
    static func maximum<S: SimileFloat>(_ z: UnsafePointer<S>, count: Int) -> S {
        var m0 = z[0], m1 = z[0], m2 = z[0], m3 = z[0]
        var c = 1
        while c + 4 <= count {
            m0 = z[c] > m0 ? z[c] : m0
            m1 = z[c + 1] > m1 ? z[c + 1] : m1
            m2 = z[c + 2] > m2 ? z[c + 2] : m2
            m3 = z[c + 3] > m3 ? z[c + 3] : m3
            c += 4
        }
        while c < count {
            m0 = z[c] > m0 ? z[c] : m0
            c += 1
        }
        m0 = m1 > m0 ? m1 : m0
        m2 = m3 > m2 ? m3 : m2
        return m2 > m0 ? m2 : m0
    }

    /// Cross-entropy of every row of z = a·M against its label: the N losses, and dℓᵢ/dM = a·(dℓᵢ/dz)
    /// (unscaled by the reducer), computed in parallel over rows.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func linearSoftmax<S: SimileFloat>(_ m: Matrix<S>, logitScale a: Double, labels: [Int], smoothing: Double)
        -> (values: [Double], upstream: Matrix<S>) {
        let n = m.rows, c = m.columns
        var values: [Double] = []
        // Every element of the upstream matrix is written (no zero-filling first).
        let upstream: Matrix<S> = m.elements.withUnsafeBufferPointer { source in
            Matrix(rows: n, columns: c) { target in
                let input = SendableConstPointer(source.baseAddress!), out = SendablePointer(target)
                values = Parallel.map(n, grain: Swift.max(1, 8_192 / Swift.max(c, 1))) { range -> [Double] in
                    range.map { i in
                        let row = input.pointer + i * c, z = out.pointer + i * c
                        let scale = S(a)
                        for j in 0..<c { z[j] = scale * row[j] }
                        let value = crossEntropy(z, count: c, target: labels[i], smoothing: smoothing)
                        for j in 0..<c { z[j] *= scale }
                        return value
                    }
                }.flatMap { $0 }
            }
        }
        return (values, upstream)
    }

    /// (softplus(x), σ(x)) from one exponential: the same values as `Elementwise.softplus(x)`
    /// and `sigmoid(x)`, which take e^(−x) for x > 0 and eˣ otherwise (at x = 0 both are 1).
    @inline(__always)
    static func softplusAndSigmoid(_ x: Double) -> (softplus: Double, sigmoid: Double) {
        if x > 0 {
            let e = Double.exp(-x)
            return (x + Double.log(onePlus: e), 1 / (1 + e))
        }
        let e = Double.exp(x)
        return (Double.log(onePlus: e), e / (1 + e))
    }

    /// σ(x) without overflow.
    @inline(__always)
    static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + Double.exp(-x)) }
        let e = Double.exp(x)
        return e / (1 + e)
    }

    // MARK: Reduction

    /// Reduces per-sample losses ℓᵢ·wᵢ (group = sample i) with the loss's reducer. Returns the
    /// reduction and each sample's gradient factor ∂L/∂ℓᵢ = weight(ℓᵢ·wᵢ)·wᵢ.
    static func reducePerSample(_ values: [Double], minerWeights: [Double], reducer: any Reducer,
                                labels: [Int], loss: String) throws -> (Reduction, [Double]) {
        let gate = reducer.gate
        let elements = zip(values, minerWeights).map { $0 * $1 }
        let bags = elements.map { value -> Bag in
            var bag = Bag()
            bag.add(value, gate: gate)
            return bag
        }
        let reduction = try reducer.reduce(bags, ReductionContext(loss: loss, term: "loss", kind: .element,
                                                                  groupLabels: labels))
        let factors = elements.indices.map { i in reduction.weight(elements[i], group: i) * minerWeights[i] }
        return (reduction, factors)
    }

    /// The common parameter specs.
    static func numClasses(_ doc: String = "number of classes C; labels must lie in 0..<C") -> ParameterSpec {
        .int("num-classes", nil, range: .atLeast(1), doc: doc)
    }

    static var embeddingSize: ParameterSpec {
        .int("embedding-size", nil, range: .atLeast(1), doc: "width D of the embeddings, the parameter matrix's columns")
    }

    static var seed: ParameterSpec {
        .int("seed", 0, range: .atLeast(0), doc: "seed of the parameter matrix's initial values")
    }

    static func learningRateMultiplier(_ value: Double, _ doc: String) -> ParameterSpec {
        .double("lr-multiplier", value, range: .atLeast(0), doc: doc)
    }

    static var labelSmoothing: ParameterSpec {
        .double("label-smoothing", 0, range: .rightOpen(0, 1),
                doc: "ε: the target becomes (1 − ε)·onehot + ε/C (torch's convention); 0 is PML's plain cross-entropy")
    }
}
