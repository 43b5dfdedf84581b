/// A chain of miners from easy to hard: the tuples every stage agrees on, optionally within
/// clusters of neighbouring classes.
public struct CascadeMiner: StatefulMiner {
    public static let descriptor = ComponentDescriptor(
        kind: .miner, name: "cascade",
        summary: "A chain of miners, easy to hard: keeps the last stage's tuples that every earlier stage also selected; optionally mines within clusters of neighbouring classes.",
        formula: """
            stages m₁ … m_k each mine the same batch;  T = m_k(batch), in m_k's form and order
            keep t ∈ T  ⇔  every earlier stage admits t:
              a triplet stage admits the triplets it returned, and the pairs (a,p), (a,n) that occur in them
              a pair stage admits its pairs, and a triplet (a,p,n) when it admits both (a,p) and (a,n)
            so the result ⊆ m_k's output, and ⊆ m_j's output (as triplets or as pairs) for every j
            clusters = K > 1: classes are grouped by their mean embedding (k-means or hashing),
              and the chain runs on each group's rows alone: negatives come only from the anchor's group
            """,
        discussion: """
            "Smart" or hierarchical mining (Harwood et al. 2017; Ge et al. 2018): a cheap, easy \
            criterion first, then a hard one. Every stage sees the whole batch and the cascade keeps \
            the intersection, so a tuple survives only if every stage would have chosen it; the \
            result takes the last stage's form and order, and duplicates of the last stage (from a \
            stochastic miner) are kept. Example: `[batch-all, triplet-margin(type-of-triplets=semihard)]` \
            is the semi-hard triplets; `[pair-margin, semi-hard]` the semi-hard triplets whose two \
            pairs also pass the pair margins; `[multi-similarity, batch-hard]` the batch-hard \
            triplets whose pairs multi-similarity keeps. A selection stage such as batch-hard picks \
            the hardest tuple of the whole batch, not the hardest among the earlier stages' tuples: \
            put it last and expect anchors whose hardest tuple an earlier stage rejected to drop \
            out. Cost: the sum of the stages' costs, plus one sort of each earlier stage's tuples \
            by anchor and a binary search per tuple of the last stage.

            With very many classes (say more than 100k, each batch drawing from many of them), \
            `clusters=K` groups the classes present in the batch and its reference: the mean of \
            each class's L2-normalised rows (normalised again) is clustered by k-means \
            (`clustering=kmeans`: k-means++ seeding from `seed` mixed with the training step, at \
            most `iterations` Lloyd rounds, min(K, C/2) centers for C classes) or by hashing \
            (`clustering=hash`: the sign pattern on ⌈log₂ K⌉ seeded random directions, up to \
            2^⌈log₂ K⌉ groups, stable across batches); a group left with one class joins the group \
            with the nearest centroid. The chain then runs on each group's batch rows against that \
            group's reference rows, so an anchor's negatives come only from classes of its own \
            group, and the output is regrouped by anchor. Cost: clustering O(C·K·D·iterations) \
            (k-means) or O(C·D·log K) (hash), plus mining O(Σ_g n_g·m_g·D) ≈ O(N·M·D/K) for \
            balanced groups instead of O(N·M·D): never quadratic in the number of classes. A \
            stateful stage sees each group as a batch of its own.
            """,
        reference: "Harwood et al. 2017 (Smart Mining for Deep Metric Learning); Ge et al. 2018 (Deep Metric Learning with Hierarchical Triplet Loss)",
        parameters: [
            ParameterSpec("miners", .components(.miner), default: .required,
                          doc: "the stages, easiest first, e.g. [batch-all, triplet-margin(type-of-triplets=semihard)]"),
            .int("clusters", 1, range: .closed(1, 1024),
                 doc: "number of class clusters to mine within (1: the whole batch); negatives only from the anchor's cluster"),
            ParameterSpec("clustering", .choice(LabelClustering.Method.allCases.map(\.rawValue)),
                          default: .value(.choice("kmeans")),
                          doc: "how classes are grouped when clusters > 1: kmeans on class means, or hash (random hyperplanes)"),
            .int("iterations", 10, range: .closed(1, 100), doc: "at most this many k-means (Lloyd) rounds per batch"),
            .int("seed", 0, range: .atLeast(0), doc: "seed of the k-means++ draws (mixed with the step) and of the hash directions"),
        ],
        examples: [["miners=[batch-all, triplet-margin(type-of-triplets=semihard)]"],
                   ["miners=[multi-similarity, batch-hard]"],
                   ["miners=[pair-margin, semi-hard]", "clusters=2"],
                   ["miners=[batch-all, triplet-margin]", "clusters=4", "clustering=hash"]])

    public let stages: [any Miner]
    public let clusters: Int
    let clustering: LabelClustering.Method
    public let iterations: Int
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        stages = try arguments.miners("miners")
        guard !stages.isEmpty else {
            throw SimileError.invalidParameterValue(
                component: Self.descriptor.name, parameter: "miners", value: "[]",
                expected: "at least one miner, e.g. [batch-all, triplet-margin(type-of-triplets=semihard)]")
        }
        clusters = try arguments.int("clusters")
        clustering = LabelClustering.Method(rawValue: try arguments.choice("clustering")) ?? .kmeans
        iterations = try arguments.int("iterations")
        seed = try arguments.int("seed")
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let mask = try MiningMask(input, miner: Self.descriptor.name)
        guard clusters > 1 else { return try chain(input) }
        let (classes, means) = ClassMeans.compute(input)
        let (assignment, groups) = LabelClustering.groups(means, clusters: clusters, method: clustering,
                                                          iterations: iterations, seed: seed, step: input.context.step)
        guard groups > 1 else { return try chain(input) }
        var groupOf: [Int: Int] = [:]
        for (r, label) in classes.enumerated() { groupOf[label] = assignment[r] }
        var rows = [[Int]](repeating: [], count: groups)
        for (i, label) in input.labels.enumerated() { rows[groupOf[label]!].append(i) }
        var referenceRows = [[Int]](repeating: [], count: groups)
        if !input.isSelfComparison {
            for (j, label) in input.referenceLabelsOrLabels.enumerated() { referenceRows[groupOf[label]!].append(j) }
        }
        var parts: [Tuples] = []
        for g in 0..<groups where !rows[g].isEmpty {
            let reference = input.isSelfComparison ? rows[g] : referenceRows[g]
            guard !reference.isEmpty else { continue }
            let tuples = try chain(input.restricted(rows: rows[g], referenceRows: reference))
            if !tuples.isEmpty { parts.append(tuples.remapped(anchor: rows[g], other: reference)) }
        }
        return Self.mergedByAnchor(parts, anchors: mask.rows)
    }

    /// Every stage on the same input; the last stage's tuples that every earlier stage admits.
    func chain<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let results = try stages.map { try $0.mine(input) }
        guard let last = results.last, results.count > 1 else { return results[0] }
        let anchors = input.embeddings.rows, columns = input.referenceEmbeddings.rows
        let lookups = results.dropLast().map { TupleLookup($0, anchors: anchors, columns: columns) }
        return last.filtered(triplet: { t in lookups.allSatisfy { $0.admits(t) } },
                             positive: { p in lookups.allSatisfy { $0.admitsPositive(p) } },
                             negative: { n in lookups.allSatisfy { $0.admitsNegative(n) } })
    }

    /// The groups' tuples in one list, grouped by anchor in increasing order (each anchor's
    /// tuples keep their order). Triplets and pairs mixed (a stage that changes form) become pairs.
    static func mergedByAnchor(_ parts: [Tuples], anchors: Int) -> Tuples {
        guard !parts.isEmpty else { return .triplets([]) }
        if parts.allSatisfy(\.isTriplets) {
            let all = parts.flatMap { part -> [Triplet] in
                if case let .triplets(list) = part { return list }
                return []
            }
            return .triplets(stableSortedByAnchor(all, anchors: anchors, anchor: \.anchor))
        }
        let pairs = parts.map(\.asPairs)
        return .pairs(positive: stableSortedByAnchor(pairs.flatMap(\.positive), anchors: anchors, anchor: \.anchor),
                      negative: stableSortedByAnchor(pairs.flatMap(\.negative), anchors: anchors, anchor: \.anchor))
    }

    /// A counting sort by anchor (stable).
    static func stableSortedByAnchor<T>(_ items: [T], anchors: Int, anchor: (T) -> Int) -> [T] {
        guard !items.isEmpty else { return [] }
        var starts = [Int](repeating: 0, count: anchors + 1)
        for item in items { starts[anchor(item) + 1] += 1 }
        for a in 0..<anchors { starts[a + 1] += starts[a] }
        var order = [Int](repeating: 0, count: items.count)
        for (k, item) in items.enumerated() {
            order[starts[anchor(item)]] = k
            starts[anchor(item)] += 1
        }
        return order.map { items[$0] }
    }

    // MARK: State (the stateful stages')

    public func state() throws -> [UInt8] {
        var writer = StateWriter(miner: Self.descriptor.name, version: 1)
        try NestedState.write(stages, into: &writer)
        return writer.bytes
    }

    public func restore(_ state: [UInt8]) throws {
        var reader = try StateReader(state, miner: Self.descriptor.name, version: 1)
        let nested = try NestedState.read(stages, from: &reader, miner: Self.descriptor.name)
        try reader.finish()
        try NestedState.apply(nested)
    }

    public func reset() { NestedState.reset(stages) }
}
