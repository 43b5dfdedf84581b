/// Negatives drawn from the classes whose proxies lie nearest the anchor's class proxy.
public struct ProxyGuidedMiner: Miner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "proxy-guided",
        summary: "Pairs: every positive, and negatives drawn from the classes whose proxies are nearest the anchor's class proxy.",
        formula: """
            r(c) = proxy of class c (row c of the loss's proxies), or the batch's mean of class c
            K(a) = the nearest-classes classes c ≠ label(a), present in the reference, with r(c) nearest r(label(a))
            negatives of a: negatives-per-anchor reference rows drawn without replacement
                            from the rows whose label is in K(a)   (all of them if there are fewer)
            positives of a: every positive reference row
            """,
        discussion: """
            Proxy-guided hard-class mining: the proxies of a proxy loss (Proxy-NCA, Proxy-Anchor, \
            SoftTriple) summarise where each class lies, so the classes whose proxies are nearest \
            the anchor's are the confusable ones, and their samples make informative negatives at \
            a cost of O(C²·D) for C classes instead of a search over all samples (Smirnov et al. \
            2018 build batches from neighbouring classes the same way; Movshovitz-Attias et al. \
            2017 use proxies as class summaries). Proxies come from `MiningContext.proxies` (C×D, \
            row c is class c, so labels must lie in 0..<C). When the context has no proxies, the \
            class representatives are the means of each class's L2-normalised rows of the batch \
            and the reference, normalised again: the same rule on the batch's own estimate, which \
            is noisier with few samples per class. Only classes present in the reference are \
            ranked, so each of the nearest classes has candidates; ties are broken by the lower \
            label. Stochastic: draws come from `seed` mixed with the training step and the \
            anchor's index (parallel over anchors, independent of the core count). The output is \
            pairs (a pair loss uses them as they are; a triplet loss forms every (a, p, n) of an \
            anchor's positive and negative pairs). Positives and negatives exclude the anchor \
            itself and reference rows of its own item id.
            """,
        reference: "Movshovitz-Attias et al. 2017 (No Fuss Distance Metric Learning using Proxies); Smirnov et al. 2018 (Hard Example Mining with Auxiliary Embeddings)",
        parameters: [
            .int("nearest-classes", 3, range: .atLeast(1), doc: "how many nearest classes negatives come from"),
            .int("negatives-per-anchor", 5, range: .atLeast(1), doc: "negatives drawn per anchor, without replacement"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the draws (mixed with the training step)"),
            .distance(default: "lp", doc: "how proxies (or class means) are compared"),
        ],
        examples: [[], ["nearest-classes=1", "negatives-per-anchor=2"], ["distance=cosine", "seed=3"]])

    public let nearestClasses: Int
    public let negativesPerAnchor: Int
    public let seed: Int
    public let distance: any Distance

    public init(_ arguments: Arguments) throws {
        nearestClasses = try arguments.int("nearest-classes")
        negativesPerAnchor = try arguments.int("negatives-per-anchor")
        seed = try arguments.int("seed")
        distance = try arguments.distance()
    }

    /// For each class of the batch, its nearest classes among those present in the reference,
    /// nearest first.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func nearestClasses<S: SimileFloat>(_ input: MinerInput<S>) throws -> [Int: [Int]] {
        let name = Self.descriptor.name
        let batchClasses = Array(Set(input.labels)).sorted()
        let referenceClasses = Array(Set(input.referenceLabelsOrLabels)).sorted()
        let representatives: Matrix<S>
        let rowOf: [Int: Int]
        if let proxies = input.context.proxies {
            guard proxies.columns == input.embeddings.columns else {
                throw SimileError.shapeMismatch(
                    "'\(name)': the proxies have \(proxies.columns) columns but the embeddings have \(input.embeddings.columns)")
            }
            try proxies.requireFinite("proxies")
            let all = Set(batchClasses).union(referenceClasses)
            if let bad = all.sorted().first(where: { $0 < 0 || $0 >= proxies.rows }) {
                throw SimileError.invalidInput(
                    "'\(name)': label \(bad) has no proxy: the proxies have \(proxies.rows) rows (classes 0..<\(proxies.rows)); give one proxy per class")
            }
            representatives = proxies.converted(to: S.self)
            rowOf = Dictionary(uniqueKeysWithValues: (0..<proxies.rows).map { ($0, $0) })
        } else {
            let (labels, means) = ClassMeans.compute(input)
            representatives = means.converted(to: S.self)
            rowOf = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        }
        let queries = representatives.gatherRows(batchClasses.map { rowOf[$0]! })
        let candidates = representatives.gatherRows(referenceClasses.map { rowOf[$0]! })
        let matrix = try distance.forward(queries, candidates).values
        let sign = distance.sign
        var result: [Int: [Int]] = [:]
        for (q, label) in batchClasses.enumerated() {
            let others = referenceClasses.indices.filter { referenceClasses[$0] != label }
            let ranked = others.sorted { x, y in
                let vx = sign * Double(matrix[q, x]), vy = sign * Double(matrix[q, y])
                return vx != vy ? vx < vy : referenceClasses[x] < referenceClasses[y]
            }
            result[label] = ranked.prefix(nearestClasses).map { referenceClasses[$0] }
        }
        return result
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        let nearest = try nearestClasses(input)
        let referenceLabels = input.referenceLabelsOrLabels
        let labels = input.labels
        let draws = negativesPerAnchor
        let base = MinerRandom.anchorSeed(seed: seed, step: input.context.step)
        let layout = ScratchLayout<S>(columns: mask.columns, extraIndexLists: 1)
        let tuples = TupleBuilder.pairs(anchors: mask.rows, grain: 16, scratchBytes: layout.bytes) { a, scratch, positive, negative in
            let positives = layout.index(0, in: scratch), negatives = layout.index(1, in: scratch)
            let candidates = layout.index(2, in: scratch)
            let (np, nn) = mask.split(a, positives: positives, negatives: negatives)
            let near = Set(nearest[labels[a]] ?? [])
            var count = 0
            for k in 0..<nn where near.contains(referenceLabels[Int(negatives[k])]) {
                candidates[count] = negatives[k]
                count += 1
            }
            let drawn = Swift.min(draws, count)
            guard let positive, let negative else { return (np, drawn) }
            for i in 0..<np { (positive + i).initialize(to: IndexPair(a, Int(positives[i]))) }
            // A partial Fisher–Yates shuffle draws without replacement; then in increasing order.
            var generator = SeededGenerator(seed: base, stream: UInt64(a))
            for i in 0..<drawn {
                let j = Int.random(in: i..<count, using: &generator)
                let t = candidates[i]
                candidates[i] = candidates[j]
                candidates[j] = t
            }
            var chosen = UnsafeMutableBufferPointer(start: candidates, count: drawn)
            chosen.sort()
            for i in 0..<drawn { (negative + i).initialize(to: IndexPair(a, Int(chosen[i]))) }
            return (np, drawn)
        }
        return tuples
    }
}
