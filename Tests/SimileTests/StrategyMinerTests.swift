import Foundation
import Testing
@testable import Simile

/// Shared helpers of the strategy tests.
enum StrategyTesting {
    static let registry = Registry.builtin

    static func input(seed: UInt64, labels: [Int], columns: Int = 4, referenceLabels: [Int]? = nil,
                      context: MiningContext = MiningContext()) -> MinerInput<Double> {
        let x = Problems.gaussian(rows: labels.count, columns: columns, seed: seed)
        let reference = referenceLabels.map { Problems.gaussian(rows: $0.count, columns: columns, seed: seed + 1000) }
        return MinerInput(embeddings: x, labels: labels, reference: reference, referenceLabels: referenceLabels, context: context)
    }

    /// Throws unless every tuple is valid (indices in range, labels agree, no self-pair, no
    /// pair of one item).
    static func check<S: SimileFloat>(_ tuples: Tuples, _ input: MinerInput<S>) throws {
        try LossInputValidator.checkTuples(tuples, rows: input.embeddings.rows, referenceRows: input.referenceEmbeddings.rows,
                                           labels: input.labels, referenceLabels: input.referenceLabelsOrLabels,
                                           isSelf: input.isSelfComparison)
        if let items = input.context.batchItems, let referenceItems = input.context.referenceItems {
            let (positive, negative) = tuples.asPairs
            for pair in positive + negative where items[pair.anchor] == referenceItems[pair.other] {
                throw SimileError.invalidTuples("pair \(pair) joins item \(items[pair.anchor]) with itself")
            }
        }
    }

    /// Triplets as a set of (a, p, n), pairs as sets.
    static func sets(_ tuples: Tuples) -> (triplets: Set<Triplet>?, positive: Set<IndexPair>, negative: Set<IndexPair>) {
        let (p, n) = tuples.asPairs
        if case let .triplets(list) = tuples { return (Set(list), Set(p), Set(n)) }
        return (nil, Set(p), Set(n))
    }

    static let strategies = ["cascade", "curriculum", "variance-filter", "proxy-guided", "mix"]
}

struct StrategyMinerTests {
    let registry = StrategyTesting.registry

    // MARK: Every strategy

    /// Every example constructs and mines valid tuples, on a batch alone, against a reference, and
    /// with item ids; the same input and step give the same tuples (after a reset for stateful ones).
    @Test func examplesMineValidTuplesDeterministically() throws {
        let labels = [0, 0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3]
        let referenceLabels = [0, 1, 2, 3, 0, 1, 2, 3, 1, 2]
        let inputs = [
            StrategyTesting.input(seed: 1, labels: labels, context: MiningContext(epoch: 2, step: 5)),
            StrategyTesting.input(seed: 2, labels: labels, referenceLabels: referenceLabels, context: MiningContext(epoch: 7, step: 1)),
            StrategyTesting.input(seed: 3, labels: labels, referenceLabels: referenceLabels,
                         context: MiningContext(epoch: 12, step: 2, referenceItems: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                                                batchItems: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])),
        ]
        for name in StrategyTesting.strategies {
            let descriptor = try registry.descriptor(.miner, name)
            #expect(descriptor.examples.count >= 2, "\(name)")
            for example in descriptor.examples {
                let spec = try registry.spec(name, example)
                for input in inputs {
                    let miner = try registry.miner(spec)
                    let first = try miner.mine(input)
                    try StrategyTesting.check(first, input)
                    (miner as? any StatefulMiner)?.reset()
                    let again = try registry.miner(spec).mine(input)
                    #expect(first == again, "\(spec)")
                    let float = try miner.mine(MinerInput(embeddings: input.embeddings.converted(to: Float.self), labels: input.labels,
                                                          reference: input.reference?.converted(to: Float.self),
                                                          referenceLabels: input.referenceLabels, context: input.context))
                    try StrategyTesting.check(float, input)
                }
            }
        }
    }

    @Test func badInputIsAnErrorNotACrash() throws {
        for name in StrategyTesting.strategies {
            let miner = try registry.miner(try registry.spec(name, registry.descriptor(.miner, name).examples[0]))
            #expect(throws: SimileError.self, "\(name)") {
                try miner.mine(MinerInput(embeddings: Matrix<Double>(rows: 0, columns: 3), labels: []))
            }
            #expect(throws: SimileError.self, "\(name)") {
                try miner.mine(MinerInput(embeddings: Matrix<Double>(rows: 2, columns: 2, elements: [1, .nan, 0, 1]), labels: [0, 1]))
            }
            #expect(throws: SimileError.self, "\(name)") {
                try miner.mine(MinerInput(embeddings: Problems.gaussian(rows: 3, columns: 2, seed: 1), labels: [0, 1]))
            }
            // One class only: nothing to mine, not an error.
            let single = try miner.mine(MinerInput(embeddings: Problems.gaussian(rows: 3, columns: 2, seed: 1), labels: [4, 4, 4]))
            #expect(single.asPairs.negative.isEmpty, "\(name)")
        }
    }

    // MARK: cascade

    /// The cascade is the last stage's tuples that every earlier stage admits (checked by brute
    /// force), so it is a subset of every stage.
    @Test func cascadeIsTheIntersectionOfItsStages() throws {
        let chains = [["batch-all", "triplet-margin(type-of-triplets=semihard)"],
                      ["multi-similarity", "batch-hard"],
                      ["pair-margin", "semi-hard"],
                      ["pair-margin(pos-margin=0.3, neg-margin=1.3)", "semi-hard(margin=0.5)"],
                      ["triplet-margin(type-of-triplets=hard)", "multi-similarity(epsilon=0.5)"],
                      ["batch-all", "pair-margin(pos-margin=0.5, neg-margin=1.2)", "triplet-margin(margin=0.4)"]]
        let inputs = [StrategyTesting.input(seed: 11, labels: [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 2]),
                      StrategyTesting.input(seed: 12, labels: [0, 1, 2, 0, 1, 2], referenceLabels: [0, 1, 2, 0, 1, 2, 0, 1])]
        var nonTrivial = 0
        for chain in chains {
            let cascade = try registry.miner("cascade(miners=[\(chain.joined(separator: ", "))])")
            for input in inputs {
                let stages = try chain.map { try registry.miner($0).mine(input) }
                let result = try cascade.mine(input)
                let stageSets = stages.map(StrategyTesting.sets)
                func admitted(_ t: Triplet, by s: (triplets: Set<Triplet>?, positive: Set<IndexPair>, negative: Set<IndexPair>)) -> Bool {
                    s.triplets.map { $0.contains(t) }
                        ?? (s.positive.contains(IndexPair(t.anchor, t.positive)) && s.negative.contains(IndexPair(t.anchor, t.negative)))
                }
                let expected: Tuples
                switch stages.last! {
                case let .triplets(list):
                    expected = .triplets(list.filter { t in stageSets.dropLast().allSatisfy { admitted(t, by: $0) } })
                case let .pairs(p, n):
                    expected = .pairs(positive: p.filter { q in stageSets.dropLast().allSatisfy { $0.positive.contains(q) } },
                                      negative: n.filter { q in stageSets.dropLast().allSatisfy { $0.negative.contains(q) } })
                }
                #expect(result == expected, "\(chain)")
                // ⊆ every stage, as pairs (and as triplets where both are triplets).
                let got = StrategyTesting.sets(result)
                for s in stageSets {
                    #expect(got.positive.isSubset(of: s.positive) && got.negative.isSubset(of: s.negative), "\(chain)")
                    if let mine = got.triplets, let theirs = s.triplets { #expect(mine.isSubset(of: theirs), "\(chain)") }
                }
                try StrategyTesting.check(result, input)
                if !result.isEmpty && result != stages.last! { nonTrivial += 1 }
            }
        }
        #expect(nonTrivial >= 6, "too few chains actually filtered something")
        // batch-all then semi-hard is semi-hard.
        let input = inputs[0]
        #expect(try registry.miner("cascade(miners=[batch-all, triplet-margin(type-of-triplets=semihard)])").mine(input)
                == registry.miner("semi-hard").mine(input))
        // A single stage is that stage.
        #expect(try registry.miner("cascade(miners=[batch-hard])").mine(input) == registry.miner("batch-hard").mine(input))
    }

    @Test func cascadeNeedsAStage() {
        #expect(throws: SimileError.self) { try registry.miner("cascade(miners=[])") }
        #expect(throws: SimileError.self) { try registry.miner("cascade") }
        #expect(throws: SimileError.self) { try registry.miner("cascade(miners=[batch-hardd])") }
    }

    /// Two well separated groups of classes: k-means finds them, and every negative comes from
    /// the anchor's own group; the result is the chain run on each group alone.
    @Test func cascadeMinesWithinClusters() throws {
        // Classes 0, 1 around +e₀; classes 2, 3 around −e₀ (and classes differ along e₁).
        let labels = [0, 0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3]
        var generator = SeededGenerator(seed: 4)
        var x = Matrix<Double>(rows: labels.count, columns: 3)
        for (i, label) in labels.enumerated() {
            x[i, 0] = label < 2 ? 5 : -5
            x[i, 1] = label % 2 == 0 ? 1 : -1
            x[i, 2] = 0.3 * generator.nextGaussian()
        }
        let input = MinerInput(embeddings: x, labels: labels)
        let chain = "miners=[batch-all, triplet-margin(margin=2)]"
        let whole = try registry.miner("cascade(\(chain))").mine(input)
        // On the whole batch, negatives cross the groups; within clusters they must not.
        #expect(whole.asPairs.negative.contains { (labels[$0.anchor] < 2) != (labels[$0.other] < 2) })
        for method in ["kmeans", "hash"] {
            for seed in 0..<3 {
                let spec = "cascade(\(chain), clusters=2, clustering=\(method), seed=\(seed))"
                let result = try registry.miner(spec).mine(input)
                try StrategyTesting.check(result, input)
                let (classes, means) = ClassMeans.compute(input)
                let (groups, count) = LabelClustering.groups(means, clusters: 2, method: method == "kmeans" ? .kmeans : .hash,
                                                             iterations: 10, seed: seed, step: 0)
                var groupOf: [Int: Int] = [:]
                for (r, label) in classes.enumerated() { groupOf[label] = groups[r] }
                for pair in result.asPairs.negative {
                    #expect(groupOf[labels[pair.anchor]] == groupOf[labels[pair.other]], "\(spec): \(pair)")
                }
                if method == "kmeans" {
                    #expect(count == 2 && groupOf[0] == groupOf[1] && groupOf[2] == groupOf[3] && groupOf[0] != groupOf[2], "\(spec)")
                    // Equal to the chain on each group alone.
                    let plain = try registry.miner("cascade(\(chain))")
                    var expected: [Triplet] = []
                    let rows = [labels.indices.filter { labels[$0] < 2 }, labels.indices.filter { labels[$0] >= 2 }]
                    for group in rows {
                        let sub = try plain.mine(MinerInput(embeddings: x.gatherRows(group), labels: group.map { labels[$0] }))
                        if case let .triplets(list) = sub {
                            expected += list.map { Triplet(group[$0.anchor], group[$0.positive], group[$0.negative]) }
                        }
                    }
                    expected.sort { ($0.anchor, $0.positive, $0.negative) < ($1.anchor, $1.positive, $1.negative) }
                    guard case let .triplets(got) = result else { Issue.record("expected triplets"); continue }
                    #expect(got.sorted { ($0.anchor, $0.positive, $0.negative) < ($1.anchor, $1.positive, $1.negative) } == expected)
                    #expect(!got.isEmpty && got.map(\.anchor) == got.map(\.anchor).sorted(), "grouped by anchor")
                }
                #expect(result == (try registry.miner(spec).mine(input)), "deterministic")
            }
        }
        // Classes that cannot be split fall back to the whole batch.
        let two = MinerInput(embeddings: x, labels: labels.map { $0 % 2 })
        #expect(try registry.miner("cascade(\(chain), clusters=8)").mine(two) == registry.miner("cascade(\(chain))").mine(two))
    }

    @Test func clusteringLeavesNoSingleClassGroup() {
        for method in LabelClustering.Method.allCases {
            for seed in 0..<5 {
                let points = Problems.gaussian(rows: 9, columns: 3, seed: UInt64(seed))
                let (assignment, count) = LabelClustering.groups(points, clusters: 8, method: method, iterations: 5, seed: seed, step: 0)
                var sizes = [Int](repeating: 0, count: count)
                for g in assignment { sizes[g] += 1 }
                #expect(count >= 1 && sizes.allSatisfy { $0 >= 2 }, "\(method) seed \(seed): \(sizes)")
            }
        }
    }

    // MARK: curriculum

    @Test func curriculumSwitchesAtTheStatedEpochs() throws {
        let curriculum = try registry.miner(
            "curriculum(miner=triplet-margin(type-of-triplets=semihard), parameter=margin, values=[0.05, 0.1, 0.2], epochs=[1, 6, 11])")
        let labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
        let base = StrategyTesting.input(seed: 21, labels: labels)
        let direct = try [0.05, 0.1, 0.2].map { try registry.miner("triplet-margin(type-of-triplets=semihard, margin=\($0))").mine(base) }
        #expect(direct[0] != direct[1] && direct[1] != direct[2], "the test batch must tell the phases apart")
        for epoch in 0...13 {
            let input = MinerInput(embeddings: base.embeddings, labels: labels, context: MiningContext(epoch: epoch))
            let expected = epoch < 6 ? direct[0] : epoch < 11 ? direct[1] : direct[2]
            #expect(try curriculum.mine(input) == expected, "epoch \(epoch)")
        }
    }

    @Test func curriculumChecksItsScheduleUpFront() throws {
        let good = "miner=triplet-margin(type-of-triplets=semihard), parameter=margin"
        #expect(throws: SimileError.self) { try registry.miner("curriculum(\(good), values=[0.1, 0.2], epochs=[1])") }
        #expect(throws: SimileError.self) { try registry.miner("curriculum(\(good), values=[0.1, 0.2], epochs=[3, 3])") }
        #expect(throws: SimileError.self) { try registry.miner("curriculum(\(good), values=[0.1, 0.2], epochs=[1, 2.5])") }
        #expect(throws: SimileError.self) { try registry.miner("curriculum(\(good), values=[], epochs=[])") }
        // Not a parameter, not numeric, out of range for the parameter.
        do {
            _ = try registry.miner("curriculum(miner=triplet-margin, parameter=margn, values=[0.1], epochs=[1])")
            Issue.record("expected an error")
        } catch let error as SimileError {
            #expect("\(error)".contains("margin"), "\(error)")
        }
        #expect(throws: SimileError.self) {
            try registry.miner("curriculum(miner=triplet-margin, parameter=type-of-triplets, values=[1], epochs=[1])")
        }
        #expect(throws: SimileError.self) {
            try registry.miner("curriculum(miner=hdc, parameter=filter-percentage, values=[0.5, 1.5], epochs=[1, 5])")
        }
        #expect(throws: SimileError.self) {
            try registry.miner("curriculum(miner=proxy-guided, parameter=nearest-classes, values=[1, 2.5], epochs=[1, 5])")
        }
        // An int parameter takes whole values.
        let ints = try registry.miner("curriculum(miner=proxy-guided, parameter=nearest-classes, values=[1, 3], epochs=[1, 5])")
        #expect(((ints as! CurriculumMiner).miner(atEpoch: 7) as! ProxyGuidedMiner).nearestClasses == 3)
    }

    @Test func parameterScheduleAppliesToAnySpec() throws {
        let schedule = try ParameterSchedule(parameter: "beta", values: [1.0, 1.2, 1.4], epochs: [2, 11, 21])
        #expect(schedule.phase(atEpoch: 0) == 0 && schedule.phase(atEpoch: 1) == 0 && schedule.phase(atEpoch: 10) == 0)
        #expect(schedule.phase(atEpoch: 11) == 1 && schedule.phase(atEpoch: 20) == 1 && schedule.phase(atEpoch: 99) == 2)
        #expect(schedule.value(atEpoch: 15) == 1.2)
        #expect((0...30).filter { schedule.startsPhase(atEpoch: $0) } == [11, 21])
        let spec = try ComponentSpec("margin(margin=0.1, beta=0.9)")
        try schedule.validate(.loss, spec, registry: registry)
        #expect(schedule.applied(to: spec, epoch: 12).description == "margin(margin=0.1, beta=1.2)")
        #expect(schedule.applied(to: ComponentSpec(name: "margin"), epoch: 30).description == "margin(beta=1.4)")
        for epoch in [1, 11, 25] {
            let loss = try registry.loss(schedule.applied(to: spec, epoch: epoch)) as! MarginLoss
            #expect(loss.beta == schedule.value(atEpoch: epoch))
        }
        let margin = try ParameterSchedule(parameter: "margin", values: [0.1, 0.3], epochs: [1, 5])
        #expect(ParameterSchedule.applied([schedule, margin], to: spec, epoch: 11).description == "margin(margin=0.3, beta=1.2)")
        // Codable, for a trainer's checkpoint.
        let data = try JSONEncoder().encode(schedule)
        #expect(try JSONDecoder().decode(ParameterSchedule.self, from: data) == schedule)
        // A value outside the parameter's range fails validation.
        let negative = try ParameterSchedule(parameter: "margin", values: [0.1, -1], epochs: [1, 5])
        #expect(throws: SimileError.self) { try negative.validate(.loss, spec, registry: registry) }
        // So does a value that breaks the component's own rule across parameters (cutoff < nonzero-loss-cutoff).
        let crossing = try ParameterSchedule(parameter: "cutoff", values: [0.5, 1.5], epochs: [1, 5])
        #expect(throws: SimileError.self) { try crossing.validate(.miner, ComponentSpec(name: "distance-weighted"), registry: registry) }
        #expect(throws: SimileError.self) {
            try registry.miner("curriculum(miner=mix(window=5), parameter=warmup, values=[1, 8], epochs=[1, 5])")
        }
        #expect(throws: SimileError.self) { try ParameterSchedule(parameter: "beta", values: [.nan], epochs: [1]) }
        #expect(throws: SimileError.self) { try ParameterSchedule(parameter: "beta", values: [1], epochs: [-1]) }
    }

    /// A stateful wrapped miner hands its state on when the phase changes; the curriculum's own
    /// state round-trips.
    @Test func curriculumCarriesStateAcrossPhases() throws {
        let spec = "curriculum(miner=mix(warmup=0, window=5), parameter=hardest-fraction, values=[0.1, 0.5], epochs=[1, 3])"
        let curriculum = try registry.miner(spec) as! CurriculumMiner
        let labels = [0, 0, 1, 1, 2, 2]
        for (k, epoch) in [1, 1, 2, 3].enumerated() {
            _ = try curriculum.mine(StrategyTesting.input(seed: UInt64(30 + k), labels: labels, context: MiningContext(epoch: epoch)))
        }
        let phase2 = curriculum.phases[1] as! MixMiner
        #expect(phase2.recentHardness.count == 4)
        let saved = try curriculum.state()
        let copy = try registry.miner(spec) as! CurriculumMiner
        try copy.restore(saved)
        #expect(try copy.state() == saved)
        #expect((copy.phases[1] as! MixMiner).recentHardness == phase2.recentHardness)
        copy.reset()
        #expect((copy.phases[1] as! MixMiner).recentHardness.isEmpty)
        #expect(throws: SimileError.self) { try copy.restore(Array(saved.dropLast())) }
        #expect(throws: SimileError.self) { try copy.restore(try (registry.miner("mix") as! MixMiner).state()) }
    }

    // MARK: proxy-guided

    /// Six class proxies on a circle at 0°, 60°, …: class c's two nearest are c ± 1 (mod 6).
    @Test func proxyGuidedNegativesComeFromTheNearestClasses() throws {
        var proxies = Matrix<Double>(rows: 6, columns: 2)
        for c in 0..<6 {
            proxies[c, 0] = cos(Double(c) * .pi / 3)
            proxies[c, 1] = sin(Double(c) * .pi / 3)
        }
        let labels = (0..<24).map { $0 % 6 }
        let miner = try registry.miner("proxy-guided(nearest-classes=2, negatives-per-anchor=3, seed=7)")
        var changedWithStep = false
        var previous: Tuples?
        for step in 0..<4 {
            let input = StrategyTesting.input(seed: 40, labels: labels, columns: 2, context: MiningContext(step: UInt64(step), proxies: proxies))
            let tuples = try miner.mine(input)
            try StrategyTesting.check(tuples, input)
            let (positive, negative) = tuples.asPairs
            for a in labels.indices {
                let mine = negative.filter { $0.anchor == a }
                #expect(mine.count == 3 && Set(mine).count == 3, "anchor \(a): \(mine)")
                let near: Set<Int> = [(labels[a] + 1) % 6, (labels[a] + 5) % 6]
                #expect(mine.allSatisfy { near.contains(labels[$0.other]) }, "anchor \(a)")
                #expect(positive.filter { $0.anchor == a }.count == 3, "every positive of anchor \(a)")
            }
            #expect(tuples == (try miner.mine(input)), "the same step draws the same")
            if let previous, previous != tuples { changedWithStep = true }
            previous = tuples
        }
        #expect(changedWithStep, "each step draws afresh")
        let reseeded = try registry.miner("proxy-guided(nearest-classes=2, negatives-per-anchor=3, seed=8)")
            .mine(StrategyTesting.input(seed: 40, labels: labels, columns: 2, context: MiningContext(step: 3, proxies: proxies)))
        #expect(reseeded != previous, "another seed draws other negatives")
        // Fewer candidates than draws: all of them.
        let all = try registry.miner("proxy-guided(nearest-classes=1, negatives-per-anchor=50)")
            .mine(StrategyTesting.input(seed: 41, labels: labels, columns: 2, context: MiningContext(proxies: proxies)))
        #expect(all.asPairs.negative.filter { $0.anchor == 0 }.count == 4)
        // Labels without a proxy, proxies of another width.
        #expect(throws: SimileError.self) {
            try miner.mine(StrategyTesting.input(seed: 40, labels: labels.map { $0 + 1 }, columns: 2, context: MiningContext(proxies: proxies)))
        }
        #expect(throws: SimileError.self) {
            try miner.mine(StrategyTesting.input(seed: 40, labels: labels, columns: 3, context: MiningContext(proxies: proxies)))
        }
    }

    /// Without proxies, the classes' normalised means rank the classes.
    @Test func proxyGuidedFallsBackToClassMeans() throws {
        let labels = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
        let input = StrategyTesting.input(seed: 50, labels: labels, columns: 3)
        let miner = try registry.miner("proxy-guided(nearest-classes=2, negatives-per-anchor=10)") as! ProxyGuidedMiner
        let (classes, means) = ClassMeans.compute(input)
        #expect(classes == [0, 1, 2, 3, 4])
        let nearest = try miner.nearestClasses(input)
        for c in classes {
            let distances = classes.filter { $0 != c }.map { other -> (Double, Int) in
                var sum = 0.0
                for k in 0..<3 { sum += (means[c, k] - means[other, k]) * (means[c, k] - means[other, k]) }
                return (sum.squareRoot(), other)
            }.sorted { $0 < $1 }
            #expect(nearest[c] == distances.prefix(2).map(\.1), "class \(c)")
        }
        let tuples = try miner.mine(input)
        for pair in tuples.asPairs.negative {
            #expect(nearest[labels[pair.anchor]]!.contains(labels[pair.other]))
        }
        #expect(tuples.asPairs.negative.count == labels.count * 4)
    }

    // MARK: mix

    /// The hardness statistic by brute force, over the lp distance matrix.
    static func hardness(_ input: MinerInput<Double>) throws -> Double? {
        let matrix = try Registry.builtin.distance("lp").forward(input.embeddings, input.reference).values
        let referenceLabels = input.referenceLabelsOrLabels
        var sum = 0.0, count = 0
        for a in 0..<input.labels.count {
            let positives = referenceLabels.indices.filter {
                referenceLabels[$0] == input.labels[a] && !(input.isSelfComparison && $0 == a)
            }
            let negatives = referenceLabels.indices.filter { referenceLabels[$0] != input.labels[a] }
            guard let p = positives.map({ matrix[a, $0] }).max(), let n = negatives.map({ matrix[a, $0] }).min() else { continue }
            sum += p - n
            count += 1
        }
        return count > 0 ? sum / Double(count) : nil
    }

    /// The hard miner runs on exactly the batches the rule picks: the hardest `hardest-fraction`
    /// of the window (after the warm-up), judged by an independent implementation of the rule.
    @Test func mixUsesTheHardMinerOnExactlyTheSelectedBatches() throws {
        let mix = try registry.miner("mix(hard=batch-hard, otherwise=batch-all, hardest-fraction=0.25, window=6, warmup=3)") as! MixMiner
        let hard = try registry.miner("batch-hard"), easy = try registry.miner("batch-all")
        var history: [Double] = []
        var choices: [Bool] = []
        var generator = SeededGenerator(seed: 60)
        for step in 0..<30 {
            // Batches of varying spread: tighter clusters are easier.
            let spread = 0.2 + 2 * Double.random(in: 0..<1, using: &generator)
            let labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
            var x = Matrix<Double>(rows: 9, columns: 3)
            for i in 0..<9 {
                for k in 0..<3 { x[i, k] = (k == labels[i] ? 3 : 0) + spread * generator.nextGaussian() }
            }
            let input = MinerInput(embeddings: x, labels: labels, context: MiningContext(step: UInt64(step)))
            let h = try #require(try Self.hardness(input))
            #expect(abs(h - (try mix.hardness(input))!) < 1e-12)
            let expectHard: Bool
            if history.count < 3 {
                expectHard = false
            } else {
                let harder = history.filter { $0 > h }.count
                expectHard = Double(harder) < 0.25 * Double(history.count + 1)
            }
            history.append(h)
            if history.count > 6 { history.removeFirst() }
            choices.append(expectHard)
            let hardTuples = try hard.mine(input), easyTuples = try easy.mine(input)
            #expect(hardTuples != easyTuples)
            #expect(try mix.mine(input) == (expectHard ? hardTuples : easyTuples), "step \(step)")
            #expect(mix.recentHardness == history)
        }
        #expect(choices.prefix(3).allSatisfy { !$0 }, "warm-up batches use the other miner")
        let share = Double(choices.dropFirst(3).filter { $0 }.count) / Double(choices.count - 3)
        #expect(share > 0.1 && share < 0.6, "hard on \(share) of batches")
    }

    @Test func mixStateRoundTripsAndResets() throws {
        let spec = "mix(hard=batch-hard, otherwise=batch-all, window=4, warmup=0)"
        let mix = try registry.miner(spec) as! MixMiner
        let labels = [0, 0, 1, 1, 2, 2]
        for step in 0..<6 { _ = try mix.mine(StrategyTesting.input(seed: UInt64(70 + step), labels: labels)) }
        #expect(mix.recentHardness.count == 4)
        let saved = try mix.state()
        let copy = try registry.miner(spec) as! MixMiner
        try copy.restore(saved)
        #expect(try copy.state() == saved && copy.recentHardness == mix.recentHardness)
        for step in 0..<5 {
            let input = StrategyTesting.input(seed: UInt64(80 + step), labels: labels)
            #expect(try copy.mine(input) == mix.mine(input))
        }
        // A smaller window keeps the newest values.
        let small = try registry.miner("mix(hard=batch-hard, otherwise=batch-all, window=2, warmup=0)") as! MixMiner
        try small.restore(try mix.state())
        #expect(small.recentHardness == Array(mix.recentHardness.suffix(2)))
        mix.reset()
        #expect(mix.recentHardness.isEmpty)
        #expect(throws: SimileError.self) { try mix.restore([1, 2, 3]) }
        #expect(throws: SimileError.self) { try mix.restore(saved + [0]) }
        // No anchor with a positive and a negative: no hardness, the other miner, nothing recorded.
        #expect(mix.decide(hardness: nil) == false && mix.recentHardness.isEmpty)
        #expect(throws: SimileError.self) { try registry.miner("mix(window=5, warmup=6)") }
    }
}
