import RealModule

/// The Proxy-Anchor loss (Kim et al. 2020): each class proxy is an anchor that pulls its class's
/// samples in and pushes every other sample out, through a soft maximum over the batch.
public struct ProxyAnchorLoss: Loss, TupleCapable, Trainable {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "proxy-anchor",
        summary: "Each class proxy pulls its samples in and pushes the others out, through a soft maximum over the batch.",
        formula: """
            M = the N×C matrix between the embeddings and the proxies (cosine by default); w = miner weights
            pos_c = log(1 + Σ_{i: yᵢ = c} exp(α·m(M[i,c], δ) + wᵢ − 1))     (0 for a class with no sample)
            neg_c = log(1 + Σ_{i: yᵢ ≠ c} exp(α·m(−δ, M[i,c]) + wᵢ − 1))
            pos_loss = Σ_c pos_c / #{classes with a sample in the batch},  neg_loss = Σ_c neg_c / C
            L = pos_loss + neg_loss        (with cosine: m(s, δ) = δ − s, m(−δ, s) = s + δ)
            """,
        discussion: """
            A fast, strong proxy loss: the cost is one N×C matrix, so it scales to large batches, and \
            every sample interacts with every proxy. The proxies are the trainable parameter `proxies` \
            (C×D, one row per class, as in PML); they start from `seed` with PML's \
            kaiming_normal_(mode="fan_out"), i.e. N(0, 2/C) (fan-out of a C×D tensor is C), drawn \
            row-major from SeededGenerator(seed, stream 0). Proxies usually learn about 100× faster than \
            the model (`lr-multiplier`, as in the paper). Labels must lie in 0..<num-classes; a class \
            absent from the batch still pushes the batch out through neg_c. \
            Mined tuples become per-sample weights w (occurrences / the largest count; no tuples or \
            empty tuples mean w = 1) that enter inside the exponent as + (w − 1), as in PML: a sample \
            absent from the tuples is damped by e⁻¹, not removed. The default divisor reducer divides \
            pos_loss by the number of classes present and neg_loss by C, as PML does; other reducers \
            see one element per class for each sub-loss (groups are the classes, so class-weighted \
            weighs class c's terms by weights[c]). The log-sum-exps are shifted by their maxima and \
            summed in Double, so large α stays finite in Float.
            """,
        reference: "Kim et al., Proxy Anchor Loss for Deep Metric Learning, CVPR 2020; PML ProxyAnchorLoss",
        parameters: [
            ClassifierSupport.numClasses(),
            ClassifierSupport.embeddingSize,
            .double("margin", 0.1, doc: "δ: the margin in similarity (or distance) units"),
            .double("alpha", 32, range: .greaterThan(0), doc: "α: the scale inside the exponent (inverse temperature)"),
            ClassifierSupport.seed,
            ClassifierSupport.learningRateMultiplier(
                100, "learning rate of the proxies relative to the model's (the paper uses 100×)"),
            .distance(default: "cosine"),
            .reducer(default: "divisor"),
        ],
        examples: [["num-classes=5", "embedding-size=5"],
                   ["num-classes=4", "embedding-size=5", "margin=0.2", "alpha=16", "seed=3"],
                   ["num-classes=6", "embedding-size=5", "reducer=mean"]])

    public let numClasses: Int
    public let embeddingSize: Int
    public let margin: Double
    public let alpha: Double
    public let seed: Int
    public let learningRateMultiplier: Double
    public let distance: any Distance
    public let reducer: any Reducer
    private let initial: Matrix<Double>

    public init(_ arguments: Arguments) throws {
        numClasses = try arguments.int("num-classes")
        embeddingSize = try arguments.int("embedding-size")
        margin = try arguments.double("margin")
        alpha = try arguments.double("alpha")
        seed = try arguments.int("seed")
        learningRateMultiplier = try arguments.double("lr-multiplier")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        initial = ClassifierSupport.normal(rows: numClasses, columns: embeddingSize,
                                           standardDeviation: (2 / Double(numClasses)).squareRoot(), seed: seed)
    }

    public func initialParameters() -> [String: Matrix<Double>] { ["proxies": initial] }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(name)
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: input.embeddings.columns,
                                    embeddingSize: embeddingSize, loss: name)
        let proxies = try ClassifierSupport.parameter(input, "proxies", loss: name)
        let n = input.embeddings.rows, c = numClasses
        let minerWeights = ClassifierSupport.minerWeights(input.tuples, count: n)
        let matrix = try distance.forward(input.embeddings, proxies)

        // Exponents: a = α·m(M, δ) + w − 1 at the label's column, α·m(−δ, M) + w − 1 elsewhere.
        let sign = distance.sign
        let slope = S(alpha * sign)  // a = offset + w − 1 − slope·M (negatives), offset + w − 1 + slope·M (positives)
        let offset = -alpha * sign * margin
        let grain = Swift.max(1, 16_384 / Swift.max(c, 1))
        let rowsOfLabels = labels

        // Pass 1 (reads M only): each column's maxima of the exponents over negatives and over positives.
        let maxima: [(negative: [S], positive: [S])] = matrix.values.elements.withUnsafeBufferPointer { values in
            let m = SendableConstPointer(values.baseAddress!)
            return Parallel.map(n, grain: grain) { range -> (negative: [S], positive: [S]) in
                var negative = [S](repeating: -S.infinity, count: c)
                var positive = [S](repeating: -S.infinity, count: c)
                negative.withUnsafeMutableBufferPointer { negativeMax in
                    positive.withUnsafeMutableBufferPointer { positiveMax in
                        let nm = negativeMax.baseAddress!, pm = positiveMax.baseAddress!
                        for i in range {
                            let row = m.pointer + i * c
                            let w = S(minerWeights[i] - 1)
                            let base = S(offset) + w
                            let y = rowsOfLabels[i]
                            // Row i's own class is a positive: keep its column's negative maximum as it was.
                            let kept = nm[y]
                            for k in 0..<c {
                                let a = base - slope * row[k]
                                nm[k] = a > nm[k] ? a : nm[k]
                            }
                            nm[y] = kept
                            let positiveExponent = slope * row[y] + S(offset) + w
                            if positiveExponent > pm[y] { pm[y] = positiveExponent }
                        }
                    }
                }
                return (negative, positive)
            }
        }
        // Shifts: the maxima with the zero logit of "1 + Σ" included.
        let negativeShift = (0..<c).map { k in maxima.reduce(S(0)) { Swift.max($0, $1.negative[k]) } }
        let positiveShift = (0..<c).map { k in maxima.reduce(S(0)) { Swift.max($0, $1.positive[k]) } }

        // Pass 2: shifted exponentials into `work` (every element written), and the column sums in
        // Double (chunks merged in order).
        var sums: [(negative: [Double], positive: [Double])] = []
        let elements = [S](unsafeUninitializedCapacity: n * c) { buffer, initialized in
            let out = SendablePointer(buffer.baseAddress!)
            sums = matrix.values.elements.withUnsafeBufferPointer { values in
                let m = SendableConstPointer(values.baseAddress!)
                return Parallel.map(n, grain: grain) { range -> (negative: [Double], positive: [Double]) in
                    var negative = [Double](repeating: 0, count: c), positive = [Double](repeating: 0, count: c)
                    negative.withUnsafeMutableBufferPointer { negativeSum in
                        negativeShift.withUnsafeBufferPointer { shift in
                            let ns = negativeSum.baseAddress!, sh = shift.baseAddress!
                            for i in range {
                                let row = m.pointer + i * c, a = out.pointer + i * c
                                let w = S(minerWeights[i] - 1)
                                let base = S(offset) + w
                                let y = rowsOfLabels[i]
                                for k in 0..<c { a[k] = (base - slope * row[k]) - sh[k] }
                                a[y] = (slope * row[y] + S(offset) + w) - positiveShift[y]
                                S.exp(UnsafePointer(a), a, count: c)
                                let e = a[y]
                                a[y] = 0
                                for k in 0..<c { ns[k] += Double(a[k]) }
                                a[y] = e
                                positive[y] += Double(e)
                            }
                        }
                    }
                    return (negative, positive)
                }
            }
            initialized = n * c
        }
        var work = Matrix<S>(rows: n, columns: c, elements: elements)
        var negativeSum = [Double](repeating: 0, count: c), positiveSum = [Double](repeating: 0, count: c)
        for part in sums {
            for k in 0..<c {
                negativeSum[k] += part.negative[k]
                positiveSum[k] += part.positive[k]
            }
        }

        // Per-class terms.
        var count = [Int](repeating: 0, count: c)
        for y in labels { count[y] += 1 }
        let classesPresent = count.filter { $0 > 0 }.count
        var positiveDenominator = [Double](repeating: 1, count: c), negativeDenominator = [Double](repeating: 1, count: c)
        var positiveTerms = [Double](repeating: 0, count: c), negativeTerms = [Double](repeating: 0, count: c)
        for k in 0..<c {
            if count[k] > 0 {
                let shift = Double(positiveShift[k])
                positiveDenominator[k] = Double.exp(-shift) + positiveSum[k]
                positiveTerms[k] = shift + Double.log(positiveDenominator[k])
            }
            if count[k] < n {
                let shift = Double(negativeShift[k])
                negativeDenominator[k] = Double.exp(-shift) + negativeSum[k]
                negativeTerms[k] = shift + Double.log(negativeDenominator[k])
            }
        }
        let gate = reducer.gate
        func bags(_ terms: [Double]) -> [Bag] {
            terms.map { value in
                var bag = Bag()
                bag.add(value, gate: gate)
                return bag
            }
        }
        let classes = Array(0..<c)
        let positive = try reducer.reduce(bags(positiveTerms), ReductionContext(
            loss: name, term: "pos_loss", kind: .element, groupLabels: classes, divisor: Double(classesPresent)))
        let negative = try reducer.reduce(bags(negativeTerms), ReductionContext(
            loss: name, term: "neg_loss", kind: .element, groupLabels: classes, divisor: Double(c)))

        // Pass 3: dL/dM = e·(column factor): +α·sign for positives, −α·sign for negatives.
        let negativeFactor = (0..<c).map { k in
            S(-alpha * sign * negative.weight(negativeTerms[k], group: k) / negativeDenominator[k])
        }
        let positiveFactor = (0..<c).map { k in
            count[k] > 0 ? S(alpha * sign * positive.weight(positiveTerms[k], group: k) / positiveDenominator[k]) : 0
        }
        work.elements.withUnsafeMutableBufferPointer { target in
            let out = SendablePointer(target.baseAddress!)
            Parallel.forEach(n, grain: grain) { range in
                negativeFactor.withUnsafeBufferPointer { factor in
                    let f = factor.baseAddress!
                    for i in range {
                        let a = out.pointer + i * c
                        let y = rowsOfLabels[i]
                        let e = a[y]
                        for k in 0..<c { a[k] *= f[k] }
                        a[y] = e * positiveFactor[y]
                    }
                }
            }
        }
        let (gradient, proxyGradient) = distance.backward(work, matrix)
        return LossAssembly.finish(
            input, gradient: gradient, referenceGradient: nil,
            terms: [("pos_loss", positive.value, positive.included), ("neg_loss", negative.value, negative.included)],
            parameterGradients: ["proxies": proxyGradient!],
            stats: ["classes_present": Double(classesPresent)])
    }
}
