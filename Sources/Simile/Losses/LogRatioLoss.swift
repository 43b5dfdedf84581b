import RealModule

/// The log-ratio loss (Kim et al. 2019) for continuous labels: ratios of distances in the embedding
/// space should match ratios of distances in the label space.
public struct LogRatioLoss: Loss, ReferenceCapable, ContinuousLabelLoss {
    public static let descriptor = ComponentDescriptor(
        kind: .loss, name: "log-ratio",
        summary: "Continuous labels: log-ratios of embedding distances should equal log-ratios of label distances.",
        formula: """
            ℓ(a,i,j) = (log((D(fₐ,fᵢ) + ε)/(D(fₐ,fⱼ) + ε)) − log((D(yₐ,yᵢ) + ε)/(D(yₐ,yⱼ) + ε)))²
            D(fₐ,fᵢ) = the distance parameter (squared Euclidean of normalised embeddings by default);
            D(yₐ,yᵢ) = ‖yₐ − yᵢ‖² on the raw label vectors
            dense triplet sampling, for every anchor a: i ranges over a's `neighbors` nearest samples in
            label space (ties broken by index), j over every sample strictly farther from a in label
            space than i (i, j ≠ a)
            L = reduce over all these triplets (mean by default)
            """,
        discussion: """
            For data whose similarity is graded rather than binary (poses, layouts, captions, ages, \
            regression targets): the loss asks the embedding to preserve how much nearer one sample is \
            than another, with no margin to tune. Labels are vectors (`Labels.continuous`, N×L); integer \
            class labels are read as 1-vectors, so the label distance is the squared difference of the labels. \
            Triplets follow the paper's dense triplet mining: the nearest neighbours in label space are the \
            informative `i`, and each is compared with every sample farther than it, so no pair (i, j) \
            is counted twice (pairs tied in label space are skipped: they carry no order). \
            The paper's minibatch is one anchor, its k nearest neighbours (k = 5 in the authors' code) and \
            random others; here every sample of the batch is an anchor in turn. neighbors=all takes every \
            i, which is closest to the authors' code (it uses every pair of its minibatch). ε (the authors' \
            1e-6) keeps duplicates (distance 0) finite. \
            The paper uses the squared Euclidean distance in both spaces (the default here, on \
            L2-normalised embeddings as PML's lp does; lp(power=2, normalize=false) leaves them raw); \
            the distance must be a distance, not a similarity. \
            With a reducer that keeps every element (mean, sum, class weights) each anchor costs \
            O(N log N) through prefix sums, whatever `neighbors` is; gated reducers (avg-non-zero, \
            threshold) enumerate the triplets, O(neighbors·N) per anchor. Memory is O(N²). \
            With reference embeddings, anchors come from the batch and i, j from the reference.
            """,
        reference: "Kim, Seo, Laptev, Cho, Kwak, Deep Metric Learning Beyond Binary Supervision, CVPR 2019 (no PML counterpart)",
        parameters: [
            ParameterSpec("neighbors", .intOrChoice(["all"]), default: .value(.int(5)), range: .atLeast(1),
                          doc: "how many nearest neighbours in label space serve as i for each anchor, or all"),
            .double("epsilon", 1e-6, range: .greaterThan(0), doc: "added to every distance inside the logarithms"),
            .distance(default: "lp(power=2)", doc: "the embedding distance D (a distance, not a similarity)"),
            .reducer(default: "mean"),
        ],
        examples: [[], ["neighbors=2", "reducer=avg-non-zero"], ["neighbors=all", "distance=lp(power=2, normalize=false)"],
                   ["neighbors=3", "epsilon=0.01", "reducer=sum"]])

    /// nil means every sample.
    public let neighbors: Int?
    public let epsilon: Double
    public let distance: any Distance
    public let reducer: any Reducer

    public init(_ arguments: Arguments) throws {
        switch try arguments.intOrChoice("neighbors") {
        case let .int(count): neighbors = count
        case .choice: neighbors = nil
        }
        epsilon = try arguments.double("epsilon")
        distance = try arguments.distance()
        reducer = try arguments.reducer()
        if distance.isSimilarity {
            throw SimileError.incompatible(
                "'log-ratio' needs a distance (small = similar) for the logarithm of distance ratios, but '\(distance.name)' is a similarity; use distance=lp(power=2) (the default) or another distance")
        }
    }

    /// One anchor's candidates sorted by label distance, with what the loss needs of them.
    struct AnchorView {
        /// Reference columns, sorted by label distance (then index).
        var columns: [Int] = []
        /// e = log(D(f) + ε) − log(D(y) + ε), centred on its mean (differences are all that count).
        var e: [Double] = []
        /// 1 / (D(f) + ε): ∂e/∂D(f).
        var inverse: [Double] = []
        /// First sorted position whose label distance is strictly greater than this one's.
        var firstFarther: [Int] = []
        /// First sorted position whose label distance equals this one's.
        var firstTied: [Int] = []
        var count: Int { columns.count }
    }

    static func view<S: SimileFloat>(anchor a: Int, row: UnsafePointer<S>, columns m: Int, isSelf: Bool,
                                     labels: Matrix<Double>, referenceLabels: Matrix<Double>, epsilon: Double)
        -> AnchorView {
        let width = labels.columns
        var candidates: [(distance: Double, column: Int)] = []
        candidates.reserveCapacity(m)
        labels.elements.withUnsafeBufferPointer { query in
            referenceLabels.elements.withUnsafeBufferPointer { reference in
                for j in 0..<m where !(isSelf && j == a) {
                    var sum = 0.0
                    for k in 0..<width {
                        let diff = query[a * width + k] - reference[j * width + k]
                        sum += diff * diff
                    }
                    candidates.append((sum, j))
                }
            }
        }
        candidates.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.column < $1.column }
        var view = AnchorView()
        let count = candidates.count
        view.columns = candidates.map(\.column)
        view.inverse = candidates.map { 1 / (Double(row[$0.column]) + epsilon) }
        view.e = candidates.map { Double.log(Double(row[$0.column]) + epsilon) - Double.log($0.distance + epsilon) }
        if count > 0 {
            let mean = view.e.reduce(0, +) / Double(count)
            for q in 0..<count { view.e[q] -= mean }
        }
        view.firstFarther = [Int](repeating: count, count: count)
        view.firstTied = [Int](repeating: 0, count: count)
        var start = 0
        for q in 0..<count {
            if q > 0 && candidates[q].distance != candidates[q - 1].distance { start = q }
            view.firstTied[q] = start
        }
        var end = count
        for q in stride(from: count - 1, through: 0, by: -1) {
            if q < count - 1 && candidates[q].distance != candidates[q + 1].distance { end = q + 1 }
            view.firstFarther[q] = end
        }
        return view
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        guard case let .continuous(labels) = input.labels,
              case let .continuous(referenceLabels) = input.referenceLabelsOrLabels else {
            throw SimileError.unsupported(component: name, message: "needs continuous labels")
        }
        guard labels.columns == referenceLabels.columns else {
            throw SimileError.shapeMismatch(
                "'log-ratio': the labels have \(labels.columns) columns but the reference labels have \(referenceLabels.columns); give label vectors of one length")
        }
        let matrix = try distance.forward(input.embeddings, input.reference)
        let n = matrix.rows, m = matrix.columns
        let isSelf = input.isSelfComparison
        let epsilon = self.epsilon
        let neighbors = self.neighbors ?? Int.max
        let gate = reducer.gate
        let dense = gate == .all
        var upstream = Matrix<S>(rows: n, columns: m)

        if dense {
            // Every triplet counts with its anchor's scale: closed forms through prefix sums.
            // Σ_{j ∈ J(i)} (eᵢ − eⱼ)² = c·eᵢ² − 2eᵢ·Σeⱼ + Σeⱼ², J(i) = the suffix of farther samples.
            let bags: [Bag] = matrix.values.elements.withUnsafeBufferPointer { buffer in
                upstream.elements.withUnsafeMutableBufferPointer { target in
                    let values = SendableConstPointer(buffer.baseAddress!)
                    let out = SendablePointer(target.baseAddress!)
                    let chunks = Parallel.map(n, grain: 8) { range -> [Bag] in
                        range.map { a in
                            let view = LogRatioLoss.view(anchor: a, row: values.pointer + a * m, columns: m, isSelf: isSelf,
                                                         labels: labels, referenceLabels: referenceLabels, epsilon: epsilon)
                            let count = view.count
                            let k = Swift.min(neighbors, count)
                            guard k > 0 else { return Bag() }
                            // Suffix sums of e and e², prefix sums of e over the neighbours.
                            var s1 = [Double](repeating: 0, count: count + 1), s2 = s1
                            for q in stride(from: count - 1, through: 0, by: -1) {
                                s1[q] = s1[q + 1] + view.e[q]
                                s2[q] = s2[q + 1] + view.e[q] * view.e[q]
                            }
                            var p1 = [Double](repeating: 0, count: k + 1)
                            for q in 0..<k { p1[q + 1] = p1[q] + view.e[q] }
                            var gradient = [Double](repeating: 0, count: count)
                            var sum = 0.0
                            var triplets = 0
                            for i in 0..<k {
                                let start = view.firstFarther[i]
                                let c = count - start
                                guard c > 0 else { continue }
                                let ei = view.e[i]
                                sum += Double(c) * ei * ei - 2 * ei * s1[start] + s2[start]
                                gradient[i] += 2 * (Double(c) * ei - s1[start])
                                triplets += c
                            }
                            // j gets −2·Σ_{i < k, D(y)ᵢ < D(y)ⱼ} (eᵢ − eⱼ); those i are the positions before j's tie group.
                            for j in 0..<count {
                                let b = Swift.min(k, view.firstTied[j])
                                gradient[j] -= 2 * (p1[b] - Double(b) * view.e[j])
                            }
                            let row = out.pointer + a * m
                            for q in 0..<count { row[view.columns[q]] = S(gradient[q] * view.inverse[q]) }
                            return Bag(sum: Swift.max(0, sum), count: triplets, total: triplets)
                        }
                    }
                    return chunks.flatMap { $0 }
                }
            }
            let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .triplet,
                                                    labels: input.labels)
            upstream.scaleRows { reduction.scale(group: $0) }
            return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                       terms: [("loss", reduction)])
        }

        // A gated reducer: enumerate the triplets, once for the values and once for the gradient.
        let bags: [Bag] = matrix.values.elements.withUnsafeBufferPointer { buffer in
            let values = SendableConstPointer(buffer.baseAddress!)
            let chunks = Parallel.map(n, grain: 8) { range -> [Bag] in
                range.map { a in
                    let view = LogRatioLoss.view(anchor: a, row: values.pointer + a * m, columns: m, isSelf: isSelf,
                                                 labels: labels, referenceLabels: referenceLabels, epsilon: epsilon)
                    var bag = Bag()
                    for i in 0..<Swift.min(neighbors, view.count) {
                        for j in view.firstFarther[i]..<view.count {
                            let r = view.e[i] - view.e[j]
                            bag.add(r * r, gate: gate)
                        }
                    }
                    return bag
                }
            }
            return chunks.flatMap { $0 }
        }
        let reduction = try LossAssembly.reduce(reducer, bags, loss: name, term: "loss", kind: .triplet,
                                                labels: input.labels)
        matrix.values.elements.withUnsafeBufferPointer { buffer in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                let values = SendableConstPointer(buffer.baseAddress!)
                let out = SendablePointer(target.baseAddress!)
                Parallel.forEach(n, grain: 8) { range in
                    for a in range {
                        let view = LogRatioLoss.view(anchor: a, row: values.pointer + a * m, columns: m, isSelf: isSelf,
                                                     labels: labels, referenceLabels: referenceLabels, epsilon: epsilon)
                        var gradient = [Double](repeating: 0, count: view.count)
                        for i in 0..<Swift.min(neighbors, view.count) {
                            for j in view.firstFarther[i]..<view.count {
                                let r = view.e[i] - view.e[j]
                                let w = reduction.weight(r * r, group: a)
                                guard w != 0 else { continue }
                                gradient[i] += 2 * r * w
                                gradient[j] -= 2 * r * w
                            }
                        }
                        let row = out.pointer + a * m
                        for q in 0..<view.count { row[view.columns[q]] = S(gradient[q] * view.inverse[q]) }
                    }
                }
            }
        }
        return LossAssembly.output(input, distance: distance, matrix: matrix, upstream: upstream,
                                   terms: [("loss", reduction)])
    }
}
