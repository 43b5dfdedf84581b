import Foundation
import Testing
@testable import Simile

/// Properties every miner must have on random seeded batches, checked through the registry, and
/// the selections of the deterministic miners against brute force written independently here.
struct MinerPropertyTests {
    static let registry = Registry.builtin

    /// Every registered miner with every example of its descriptor.
    static var configurations: [(String, [String])] {
        registry.descriptors(.miner).flatMap { descriptor in
            (descriptor.examples.isEmpty ? [[]] : descriptor.examples).map { (descriptor.name, $0) }
        }
    }

    static var minerNames: [String] { registry.descriptors(.miner).map(\.name) }

    /// The miner with these parameters; with none, a composite miner that needs some (cascade,
    /// curriculum) takes its descriptor's first example.
    static func miner(_ name: String, _ parameters: [String] = []) throws -> any Miner {
        var parameters = parameters
        let descriptor = try registry.descriptor(.miner, name)
        if parameters.isEmpty, descriptor.parameters.contains(where: { $0.defaultValue == .required }),
           let example = descriptor.examples.first {
            parameters = example
        }
        return try registry.miner(try registry.spec(name, parameters))
    }

    // MARK: Random batches

    struct Batch {
        var x: Matrix<Double>
        var labels: [Int]
        var reference: Matrix<Double>?
        var referenceLabels: [Int]?
        var context = MiningContext()
        var referenceRows: Matrix<Double> { reference ?? x }
        var allReferenceLabels: [Int] { referenceLabels ?? labels }
        var isSelf: Bool { reference == nil }
    }

    /// N rows in classes of random sizes (some singletons), D columns, seeded.
    static func batch(seed: UInt64, n: Int = 20, d: Int = 6, classes: Int = 5) -> Batch {
        var generator = SeededGenerator(seed: seed)
        let x = Problems.gaussian(rows: n, columns: d, seed: seed &+ 1000)
        var labels = (0..<n).map { _ in Int.random(in: 0..<classes, using: &generator) }
        labels[n - 1] = classes + 7  // a singleton class
        return Batch(x: x, labels: labels)
    }

    /// Queries against a reference batch, with item ids: the reference holds copies of some of
    /// the queries (a cross-batch memory), which must never be paired with themselves.
    static func referenceBatch(seed: UInt64, n: Int = 12, m: Int = 18, d: Int = 6) -> Batch {
        var generator = SeededGenerator(seed: seed)
        let x = Problems.gaussian(rows: n, columns: d, seed: seed &+ 2000)
        let labels = (0..<n).map { _ in Int.random(in: 0..<4, using: &generator) }
        var reference = Problems.gaussian(rows: m, columns: d, seed: seed &+ 3000)
        var referenceLabels = (0..<m).map { _ in Int.random(in: 0..<4, using: &generator) }
        var referenceItems = (0..<m).map { 1000 + $0 }
        // Rows 0..<4 of the reference are (slightly stale) copies of queries 0..<4.
        for i in 0..<4 {
            for k in 0..<d { reference[i, k] = x[i, k] + 0.01 * Double(k) }
            referenceLabels[i] = labels[i]
            referenceItems[i] = i
        }
        return Batch(x: x, labels: labels, reference: reference, referenceLabels: referenceLabels,
                     context: MiningContext(referenceItems: referenceItems, batchItems: Array(0..<n)))
    }

    static func mine(_ miner: any Miner, _ batch: Batch, step: UInt64 = 0) throws -> Tuples {
        var context = batch.context
        context.step = step
        return try miner(batch.x, batch.labels, reference: batch.reference, referenceLabels: batch.referenceLabels,
                         context: context)
    }

    // MARK: Independent brute force

    /// Normalised L2 distances (or cosine similarities), in plain loops.
    static func matrix(_ batch: Batch, cosine: Bool = false) -> [[Double]] {
        func unit(_ m: Matrix<Double>, _ i: Int) -> [Double] {
            let row = Array(m.row(i))
            let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            return row.map { $0 / norm }
        }
        let y = batch.referenceRows
        return (0..<batch.x.rows).map { i in
            let u = unit(batch.x, i)
            return (0..<y.rows).map { j in
                let v = unit(y, j)
                if cosine { return zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } }
                return zip(u, v).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            }
        }
    }

    static func sameItem(_ batch: Batch, _ a: Int, _ j: Int) -> Bool {
        if batch.isSelf { return a == j }
        guard let items = batch.context.batchItems, let referenceItems = batch.context.referenceItems else { return false }
        return items[a] == referenceItems[j]
    }

    static func positives(_ batch: Batch, _ a: Int) -> [Int] {
        (0..<batch.allReferenceLabels.count).filter { batch.allReferenceLabels[$0] == batch.labels[a] && !sameItem(batch, a, $0) }
    }

    static func negatives(_ batch: Batch, _ a: Int) -> [Int] {
        (0..<batch.allReferenceLabels.count).filter { batch.allReferenceLabels[$0] != batch.labels[a] && !sameItem(batch, a, $0) }
    }

    /// Every rule a miner's output must obey, as a list of violations.
    static func violations(_ tuples: Tuples, _ batch: Batch) -> [String] {
        var problems: [String] = []
        let n = batch.x.rows, m = batch.allReferenceLabels.count
        func check(_ a: Int, _ j: Int, positive: Bool, _ what: String) {
            guard (0..<n).contains(a), (0..<m).contains(j) else {
                problems.append("\(what) (\(a), \(j)) out of range")
                return
            }
            let same = batch.labels[a] == batch.allReferenceLabels[j]
            if positive != same { problems.append("\(what) (\(a), \(j)) has \(same ? "equal" : "different") labels") }
            if sameItem(batch, a, j) { problems.append("\(what) (\(a), \(j)) pairs a row with itself or its own copy") }
        }
        switch tuples {
        case let .pairs(positive, negative):
            for pair in positive { check(pair.anchor, pair.other, positive: true, "positive pair") }
            for pair in negative { check(pair.anchor, pair.other, positive: false, "negative pair") }
        case let .triplets(triplets):
            for t in triplets {
                check(t.anchor, t.positive, positive: true, "triplet positive")
                check(t.anchor, t.negative, positive: false, "triplet negative")
            }
        }
        return problems
    }

    // MARK: Every miner

    @Test(arguments: configurations)
    func tuplesAreValid(_ configuration: (String, [String])) throws {
        let miner = try Self.miner(configuration.0, configuration.1)
        var mined = 0
        for seed in 1...4 as ClosedRange<UInt64> {
            for batch in [Self.batch(seed: seed), Self.referenceBatch(seed: seed)] {
                // A stateful miner refuses to mix batches with and without item ids in one history.
                (miner as? any StatefulMiner)?.reset()
                let tuples = try Self.mine(miner, batch, step: seed)
                let problems = Self.violations(tuples, batch)
                #expect(problems.isEmpty, "\(configuration): \(problems.prefix(3))")
                mined += tuples.allIndices.count
                // The loss side accepts them as they are.
                try LossInputValidator.checkTuples(tuples, rows: batch.x.rows, referenceRows: batch.allReferenceLabels.count,
                                                   labels: batch.labels, referenceLabels: batch.allReferenceLabels,
                                                   isSelf: batch.isSelf)
                // Float gives valid tuples too.
                let single = try miner(batch.x.converted(to: Float.self), batch.labels,
                                       reference: batch.reference?.converted(to: Float.self),
                                       referenceLabels: batch.referenceLabels, context: batch.context)
                #expect(Self.violations(single, batch).isEmpty)
            }
        }
        #expect(mined > 0, "\(configuration) never mined anything")
    }

    @Test(arguments: minerNames)
    func sameSeedSameTuples(_ name: String) throws {
        let miner = try Self.miner(name)
        let batch = Self.batch(seed: 9, n: 40)
        let first = try Self.mine(miner, batch, step: 3), second = try Self.mine(miner, batch, step: 3)
        #expect(first == second)
        let rebuilt = try Self.mine(try Self.miner(name), batch, step: 3)
        #expect(first == rebuilt)
        if ["uniform-histogram", "distance-weighted", "proxy-guided"].contains(name) {
            // Another step draws afresh; another seed too.
            #expect(try Self.mine(miner, batch, step: 4) != first)
            #expect(try Self.mine(try Self.miner(name, ["seed=5"]), batch, step: 3) != first)
        } else {
            #expect(try Self.mine(miner, batch, step: 4) == first)
        }
    }

    @Test(arguments: minerNames)
    func batchesWithNothingToMineGiveNothing(_ name: String) throws {
        let miner = try Self.miner(name)
        let x = Problems.gaussian(rows: 6, columns: 4, seed: 3)
        // One class: no negatives. All classes distinct: no positives.
        for labels in [[Int](repeating: 2, count: 6), Array(0..<6)] {
            let tuples = try miner(x, labels)
            if ["pair-margin", "hdc", "uniform-histogram", "batch-easy-hard", "proxy-guided"].contains(name) {
                // Pair miners may keep the pairs of the side that exists (PML does too); they must be valid.
                #expect(Self.violations(tuples, Batch(x: x, labels: labels)).isEmpty)
            } else {
                #expect(tuples.isEmpty, "\(name) with labels \(labels)")
            }
        }
        // A single row.
        #expect(try miner(Matrix<Double>(rows: 1, columns: 3, repeating: 1), [0]).isEmpty)
    }

    // MARK: Selections against brute force

    @Test func tripletMarginTypesMatchBruteForce() throws {
        for seed in 1...3 as ClosedRange<UInt64> {
            for batch in [Self.batch(seed: seed), Self.referenceBatch(seed: seed)] {
                for cosine in [false, true] {
                    let d = Self.matrix(batch, cosine: cosine)
                    for (type, margin) in [("all", 0.2), ("hard", 0.2), ("semihard", 0.3), ("easy", 0.1), ("hard", -0.1)] {
                        var parameters = ["type-of-triplets=\(type)", "margin=\(margin)"]
                        if cosine { parameters.append("distance=cosine") }
                        let got = try Self.mine(try Self.miner("triplet-margin", parameters), batch)
                        var want: [Triplet] = []
                        for a in 0..<batch.x.rows {
                            for p in Self.positives(batch, a) {
                                for n in Self.negatives(batch, a) {
                                    let t = cosine ? d[a][p] - d[a][n] : d[a][n] - d[a][p]
                                    let keep = switch type {
                                    case "all": t <= margin
                                    case "hard": t <= margin && t <= 0
                                    case "semihard": t > 0 && t <= margin
                                    default: t > margin
                                    }
                                    if keep { want.append(Triplet(a, p, n)) }
                                }
                            }
                        }
                        #expect(got == .triplets(want), "\(parameters), seed \(seed)")
                    }
                }
            }
        }
    }

    @Test func semiHardRespectsTheBand() throws {
        let batch = Self.batch(seed: 21, n: 60, d: 5)
        let d = Self.matrix(batch)
        let margin = 0.15
        guard case let .triplets(triplets) = try Self.mine(try Self.miner("semi-hard", ["margin=\(margin)"]), batch) else {
            Issue.record("semi-hard returned pairs")
            return
        }
        #expect(triplets.count > 50)
        for t in triplets {
            let ap = d[t.anchor][t.positive], an = d[t.anchor][t.negative]
            #expect(ap < an && an <= ap + margin + 1e-12, "\(t): d(a,p) = \(ap), d(a,n) = \(an)")
        }
        #expect(try Self.mine(try Self.miner("semi-hard", ["margin=\(margin)"]), batch)
                == Self.mine(try Self.miner("triplet-margin", ["type-of-triplets=semihard", "margin=\(margin)"]), batch))
    }

    @Test func batchHardPicksTheHardestPair() throws {
        for seed in 1...4 as ClosedRange<UInt64> {
            for batch in [Self.batch(seed: seed, n: 30), Self.referenceBatch(seed: seed)] {
                for cosine in [false, true] {
                    let d = Self.matrix(batch, cosine: cosine)
                    let got = try Self.mine(try Self.miner("batch-hard", cosine ? ["distance=cosine"] : []), batch)
                    var want: [Triplet] = []
                    for a in 0..<batch.x.rows {
                        let ps = Self.positives(batch, a), ns = Self.negatives(batch, a)
                        guard !ps.isEmpty, !ns.isEmpty else { continue }
                        // Farthest positive and closest negative (for cosine: least and most similar).
                        let p = cosine ? ps.min { d[a][$0] < d[a][$1] }! : ps.max { d[a][$0] < d[a][$1] }!
                        let n = cosine ? ns.max { d[a][$0] < d[a][$1] }! : ns.min { d[a][$0] < d[a][$1] }!
                        want.append(Triplet(a, p, n))
                    }
                    #expect(got == .triplets(want), "seed \(seed), cosine \(cosine)")
                }
            }
        }
    }

    @Test func batchEasyHardMatchesBruteForce() throws {
        let strategies = ["easy", "semihard", "hard", "all"]
        for seed in 1...3 as ClosedRange<UInt64> {
            for batch in [Self.batch(seed: seed, n: 24), Self.referenceBatch(seed: seed)] {
                let d = Self.matrix(batch)
                for pos in strategies {
                    for neg in strategies where !(pos == "semihard" && neg == "semihard")
                        && !(pos == "semihard" && neg == "all") && !(pos == "all" && neg == "semihard") {
                        let got = try Self.mine(try Self.miner("batch-easy-hard", ["pos-strategy=\(pos)", "neg-strategy=\(neg)"]), batch)
                        var positive: [IndexPair] = [], negative: [IndexPair] = []
                        for a in 0..<batch.x.rows {
                            let ps = Self.positives(batch, a), ns = Self.negatives(batch, a)
                            func farthest(_ list: [Int]) -> Int? { list.max { d[a][$0] < d[a][$1] } }
                            func closest(_ list: [Int]) -> Int? { list.min { d[a][$0] < d[a][$1] } }
                            var p: Int?, n: Int?
                            switch (pos, neg) {
                            case ("semihard", _):
                                n = neg == "easy" ? farthest(ns) : closest(ns)
                                if let n { p = farthest(ps.filter { d[a][$0] < d[a][n] }) }
                            case (_, "semihard"):
                                p = pos == "hard" ? farthest(ps) : closest(ps)
                                if let p { n = closest(ns.filter { d[a][$0] > d[a][p] }) }
                            default:
                                p = pos == "hard" ? farthest(ps) : pos == "easy" ? closest(ps) : nil
                                n = neg == "hard" ? closest(ns) : neg == "easy" ? farthest(ns) : nil
                            }
                            switch (pos == "all", neg == "all") {
                            case (false, false):
                                if let p, let n {
                                    positive.append(IndexPair(a, p))
                                    negative.append(IndexPair(a, n))
                                }
                            case (true, false):
                                positive += ps.map { IndexPair(a, $0) }
                                if let n { negative.append(IndexPair(a, n)) }
                            case (false, true):
                                if let p { positive.append(IndexPair(a, p)) }
                                negative += ns.map { IndexPair(a, $0) }
                            case (true, true):
                                positive += ps.map { IndexPair(a, $0) }
                                negative += ns.map { IndexPair(a, $0) }
                            }
                        }
                        #expect(got == .pairs(positive: positive, negative: negative), "\(pos)/\(neg), seed \(seed)")
                    }
                }
            }
        }
    }

    @Test func pairMinersMatchBruteForce() throws {
        for seed in 1...3 as ClosedRange<UInt64> {
            for batch in [Self.batch(seed: seed), Self.referenceBatch(seed: seed)] {
                let d = Self.matrix(batch), s = Self.matrix(batch, cosine: true)
                // pair-margin with a distance and with a similarity.
                for (parameters, cosine, pm, nm) in [(["pos-margin=0.9", "neg-margin=1.3"], false, 0.9, 1.3),
                                                     (["pos-margin=0.4", "neg-margin=0.1", "distance=cosine"], true, 0.4, 0.1)] {
                    let got = try Self.mine(try Self.miner("pair-margin", parameters), batch)
                    var positive: [IndexPair] = [], negative: [IndexPair] = []
                    for a in 0..<batch.x.rows {
                        positive += Self.positives(batch, a).filter { cosine ? s[a][$0] < pm : d[a][$0] > pm }.map { IndexPair(a, $0) }
                        negative += Self.negatives(batch, a).filter { cosine ? s[a][$0] > nm : d[a][$0] < nm }.map { IndexPair(a, $0) }
                    }
                    #expect(got == .pairs(positive: positive, negative: negative), "\(parameters)")
                }
                // multi-similarity (cosine): s_ap − ε < max s_an, s_an + ε > min s_ap.
                let epsilon = 0.1
                guard case let .pairs(gotPositive, gotNegative) = try Self.mine(try Self.miner("multi-similarity"), batch) else {
                    Issue.record("multi-similarity returned triplets")
                    return
                }
                var positive: Set<IndexPair> = [], negative: Set<IndexPair> = []
                for a in 0..<batch.x.rows {
                    let ps = Self.positives(batch, a), ns = Self.negatives(batch, a)
                    guard let hardestNegative = ns.map({ s[a][$0] }).max(), let hardestPositive = ps.map({ s[a][$0] }).min() else { continue }
                    positive.formUnion(ps.filter { s[a][$0] - epsilon < hardestNegative }.map { IndexPair(a, $0) })
                    negative.formUnion(ns.filter { s[a][$0] + epsilon > hardestPositive }.map { IndexPair(a, $0) })
                }
                #expect(Set(gotPositive) == positive && Set(gotNegative) == negative)
                #expect(gotPositive.count == positive.count && gotNegative.count == negative.count)
            }
        }
    }

    @Test func angularMatchesTheAngleDefinition() throws {
        for seed in 1...3 as ClosedRange<UInt64> {
            for batch in [Self.batch(seed: seed), Self.referenceBatch(seed: seed)] {
                for (angle, normalize) in [(20.0, false), (40.0, false), (30.0, true)] {
                    let got = try Self.mine(try Self.miner("angular", ["angle=\(angle)", "normalize=\(normalize)"]), batch)
                    func row(_ m: Matrix<Double>, _ i: Int) -> [Double] {
                        let r = Array(m.row(i))
                        guard normalize else { return r }
                        let norm = max(r.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                        return r.map { $0 / norm }
                    }
                    // torch's pairwise_distance: ‖u − v + 1e-6‖.
                    func distance(_ u: [Double], _ v: [Double]) -> Double {
                        zip(u, v).reduce(0) { $0 + ($1.0 - $1.1 + 1e-6) * ($1.0 - $1.1 + 1e-6) }.squareRoot()
                    }
                    var want: [Triplet] = []
                    for a in 0..<batch.x.rows {
                        let xa = row(batch.x, a)
                        for p in Self.positives(batch, a) {
                            let xp = row(batch.referenceRows, p)
                            let center = zip(xa, xp).map { ($0 + $1) / 2 }
                            for n in Self.negatives(batch, a) {
                                let theta = atan(distance(xa, xp) / (2 * distance(row(batch.referenceRows, n), center)))
                                if theta > angle * Double.pi / 180 { want.append(Triplet(a, p, n)) }
                            }
                        }
                    }
                    #expect(got == .triplets(want), "angle \(angle), normalize \(normalize), seed \(seed)")
                }
            }
        }
    }

    @Test func hdcKeepsTheHardestFraction() throws {
        for (fraction, cosine) in [(0.5, false), (0.3, true), (1.0, false), (0.0, false)] {
            let batch = Self.batch(seed: 5, n: 25)
            let d = Self.matrix(batch, cosine: cosine)
            var parameters = ["filter-percentage=\(fraction)"]
            if cosine { parameters.append("distance=cosine") }
            guard case let .pairs(positive, negative) = try Self.mine(try Self.miner("hdc", parameters), batch) else {
                Issue.record("hdc returned triplets")
                return
            }
            let allPositive = (0..<batch.x.rows).flatMap { a in Self.positives(batch, a).map { IndexPair(a, $0) } }
            let allNegative = (0..<batch.x.rows).flatMap { a in Self.negatives(batch, a).map { IndexPair(a, $0) } }
            #expect(positive.count == Int((fraction * Double(allPositive.count)).rounded(.up)))
            #expect(negative.count == Int((fraction * Double(allNegative.count)).rounded(.up)))
            // Hardness h: distance, or minus the similarity.
            func h(_ pair: IndexPair) -> Double { cosine ? -d[pair.anchor][pair.other] : d[pair.anchor][pair.other] }
            let keptPositive = Set(positive), keptNegative = Set(negative)
            let weakestKept = positive.map(h).min() ?? .infinity, strongestDropped = allPositive.filter { !keptPositive.contains($0) }.map(h).max() ?? -.infinity
            #expect(weakestKept >= strongestDropped)
            let farthestKept = negative.map(h).max() ?? -.infinity, closestDropped = allNegative.filter { !keptNegative.contains($0) }.map(h).min() ?? .infinity
            #expect(farthestKept <= closestDropped)
        }
    }

    /// HDC's cut: the k largest values, ties to the lower position, against a stable sort.
    @Test func topKMatchesASort() {
        var generator = SeededGenerator(seed: 17)
        for trial in 0..<300 {
            let n = Int.random(in: 0...120, using: &generator)
            // Few distinct values on some trials, so that ties (and three-way partitions) are common.
            let distinct = trial % 3 == 0 ? 3 : 1000
            let values = (0..<n).map { _ in Double(Int.random(in: 0..<distinct, using: &generator)) }
            let k = Int.random(in: 0...(n + 1), using: &generator)
            let expected = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
                .prefix(k).sorted()
            #expect(TopK.largest(values, k) == Array(expected), "n \(n), k \(k)")
            let smallest = values.indices.sorted { values[$0] != values[$1] ? values[$0] < values[$1] : $0 < $1 }
                .prefix(k).sorted()
            #expect(TopK.smallest(values, k) == Array(smallest))
        }
        // Sorted and reversed inputs of equal values, the quickselect's bad cases.
        let ramp = (0..<5000).map(Double.init)
        #expect(TopK.largest(ramp, 10) == Array(4990..<5000))
        #expect(TopK.largest(Array(ramp.reversed()), 10) == Array(0..<10))
        #expect(TopK.largest([Double](repeating: 1, count: 100), 7) == Array(0..<7))
    }

    @Test func uniformHistogramBinsAsPML() {
        // Bins [edge_b, edge_b+1), the last closed; equal values all fall in the last bin (PML: the
        // only bin whose closed end admits them).
        #expect(UniformHistogramMiner.binIndices([0, 0.5, 1], bins: 2) == [0, 1, 1])
        #expect(UniformHistogramMiner.binIndices([0.2, 0.2, 0.2], bins: 4) == [3, 3, 3])
        // torch.linspace(0, 1, 11) has 0.30000000000000004 as its fourth edge, so 0.3 is in bin 2.
        #expect(UniformHistogramMiner.binIndices([0, 0.1, 0.2, 0.3, 0.4, 1], bins: 10) == [0, 1, 2, 2, 4, 9])
        #expect(UniformHistogramMiner.binIndices([], bins: 3).isEmpty)
    }

    @Test func uniformHistogramDrawsFromEveryNonEmptyBin() throws {
        let batch = Self.batch(seed: 12, n: 40)
        let d = Self.matrix(batch)
        let bins = 8, perBin = 3
        guard case let .pairs(positive, negative) = try Self.mine(
            try Self.miner("uniform-histogram", ["num-bins=\(bins)", "pos-per-bin=\(perBin)", "neg-per-bin=5"]), batch) else {
            Issue.record("uniform-histogram returned triplets")
            return
        }
        for (pairs, all, count) in [(positive, (0..<batch.x.rows).flatMap { a in Self.positives(batch, a).map { IndexPair(a, $0) } }, perBin),
                                    (negative, (0..<batch.x.rows).flatMap { a in Self.negatives(batch, a).map { IndexPair(a, $0) } }, 5)] {
            let values = all.map { d[$0.anchor][$0.other] }
            let low = values.min()!, high = values.max()!
            func bin(_ v: Double) -> Int { min(bins - 1, Int((v - low) / (high - low) * Double(bins))) }
            let occupied = Set(values.map(bin))
            #expect(pairs.count == occupied.count * count)
            // Every occupied bin contributes exactly `count` draws (up to edge rounding).
            var perBinCount: [Int: Int] = [:]
            for pair in pairs { perBinCount[bin(d[pair.anchor][pair.other]), default: 0] += 1 }
            #expect(perBinCount.values.allSatisfy { $0 % count == 0 || abs($0 - count) <= 1 })
            #expect(Set(perBinCount.keys) == occupied)
        }
    }

    @Test func distanceWeightedDrawsAsPMLDoes() throws {
        let batch = Self.batch(seed: 14, n: 30, d: 8)
        let d = Self.matrix(batch)
        guard case let .triplets(triplets) = try Self.mine(try Self.miner("distance-weighted"), batch, step: 2) else {
            Issue.record("distance-weighted returned pairs")
            return
        }
        var perAnchor: [Int: Int] = [:]
        for t in triplets {
            perAnchor[t.anchor, default: 0] += 1
            #expect(max(d[t.anchor][t.negative], 0.5) < 1.4, "a negative beyond the nonzero-loss cutoff")
        }
        for a in 0..<batch.x.rows {
            let classSize = batch.labels.filter { $0 == batch.labels[a] }.count
            let eligible = classSize > 1 && Self.negatives(batch, a).contains { max(d[a][$0], 0.5) < 1.4 }
            #expect(perAnchor[a] ?? 0 == (eligible ? classSize : 0), "anchor \(a)")
        }
    }

    // MARK: Scale

    /// batch-hard and semi-hard at N = 4096 (D = 8). PML's `get_all_triplets_indices` would build
    /// a 4096³ mask here (6.9·10¹⁰ entries, 69 GB as bytes); Simile's miners keep only the
    /// distance matrix (N², 64 MB in Double), one O(N) scratch per task and the output, which
    /// they size with a counting pass and write in place. So the call completing at all shows
    /// that no N³ structure exists.
    @Test func batchHardAndSemiHardAtN4096() throws {
        let n = 4096
        var generator = SeededGenerator(seed: 40)
        let x = Matrix<Float>(rows: n, columns: 8, elements: (0..<(n * 8)).map { _ in Float(generator.nextGaussian()) })
        let labels = (0..<n).map { $0 / 2 }
        let start = Date()
        let hardMiner = try Self.miner("batch-hard"), semiHardMiner = try Self.miner("semi-hard", ["margin=0.01"])
        let hard = try hardMiner(x, labels)
        guard case let .triplets(hardest) = hard else {
            Issue.record("batch-hard returned pairs")
            return
        }
        #expect(hardest.count == n)
        let semi = try semiHardMiner(x, labels)
        guard case let .triplets(semiHard) = semi else {
            Issue.record("semi-hard returned pairs")
            return
        }
        // With one positive per anchor, about margin/(spread of d(a,n) − d(a,p)) of the 16.8 million triplets.
        #expect(semiHard.count > 10_000 && semiHard.count < 1_000_000, "\(semiHard.count)")
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 60, "took \(elapsed) s")
        // Spot-check the band on a sample, in Double from the Float embeddings.
        let double = x.converted(to: Double.self)
        func distance(_ i: Int, _ j: Int) -> Double {
            let u = Array(double.row(i)), v = Array(double.row(j))
            let nu = u.reduce(0) { $0 + $1 * $1 }.squareRoot(), nv = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return zip(u, v).reduce(0) { $0 + ($1.0 / nu - $1.1 / nv) * ($1.0 / nu - $1.1 / nv) }.squareRoot()
        }
        for t in semiHard.enumerated().filter({ $0.offset % 997 == 0 }).map(\.element) {
            let ap = distance(t.anchor, t.positive), an = distance(t.anchor, t.negative)
            #expect(an - ap > -1e-5 && an - ap <= 0.01 + 1e-5)
        }
    }

    // MARK: Bad input and bad parameters

    @Test(arguments: minerNames)
    func badInputIsAClearError(_ name: String) throws {
        let miner = try Self.miner(name)
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 1)
        var nan = x
        nan[2, 1] = .nan
        func message(_ body: () throws -> Tuples) -> String {
            do {
                _ = try body()
                return "no error"
            } catch let error as SimileError {
                return error.description
            } catch {
                return "not a SimileError: \(error)"
            }
        }
        let cases: [(String, String)] = [
            (message { try miner(Matrix<Double>(rows: 0, columns: 3), []) }, "the batch is empty"),
            (message { try miner(Matrix<Double>(rows: 2, columns: 0), [0, 1]) }, "0 columns"),
            (message { try miner(x, [0, 1, 0]) }, "4 rows but there are 3 labels"),
            (message { try miner(nan, [0, 1, 0, 1]) }, "embeddings row 2, column 1"),
            (message { try miner(x, [0, 1, 0, 1], reference: x) }, "without reference labels"),
            (message { try miner(x, [0, 1, 0, 1], referenceLabels: [0]) }, "without reference embeddings"),
            (message { try miner(x, [0, 1, 0, 1], reference: Problems.gaussian(rows: 2, columns: 5, seed: 2), referenceLabels: [0, 1]) },
             "5 columns but the embeddings have 3"),
            (message { try miner(x, [0, 1, 0, 1], reference: x, referenceLabels: [0, 1]) }, "2 reference labels"),
            (message { try miner(x, [0, 1, 0, 1], reference: x, referenceLabels: [0, 1, 0, 1],
                                 context: MiningContext(referenceItems: [1, 2], batchItems: [1, 2, 3, 4])) },
             "2 reference item ids for 4 reference rows"),
        ]
        for (got, expected) in cases {
            #expect(got.contains(expected), "\(name): expected “\(expected)”, got “\(got)”")
        }
    }

    @Test func inconsistentParametersAreRejected() {
        let cases: [(String, [String], String)] = [
            ("batch-easy-hard", ["pos-strategy=semihard", "neg-strategy=semihard"], "cannot both be semihard"),
            ("batch-easy-hard", ["pos-strategy=all", "neg-strategy=semihard"], "cannot be combined with all"),
            ("batch-easy-hard", ["allowed-pos-range=[0.1, 0.2, 0.3]"], "two numbers [low, high]"),
            ("batch-hard", ["allowed-neg-range=[1.2, 0.3]"], "low ≤ high"),
            ("distance-weighted", ["cutoff=1.5", "nonzero-loss-cutoff=1.4"], "must be larger than cutoff"),
            ("hdc", ["filter-percentage=1.5"], "out of range"),
            ("angular", ["angle=95"], "out of range"),
            ("triplet-margin", ["type-of-triplets=semi"], "did you mean 'semihard'"),
            ("uniform-histogram", ["num-bins=0"], "out of range"),
        ]
        for (name, parameters, expected) in cases {
            do {
                _ = try Self.miner(name, parameters)
                Issue.record("\(name) \(parameters): no error")
            } catch {
                #expect("\(error)".contains(expected), "\(name) \(parameters): \(error)")
            }
        }
    }

    @Test func unknownMinerNamesSuggestTheClosest() {
        #expect(throws: SimileError.unknownComponent(kind: .miner, name: "batchhard", suggestion: "batch-hard")) {
            try Self.registry.miner("batchhard")
        }
        #expect(throws: SimileError.unknownComponent(kind: .miner, name: "semihard", suggestion: "semi-hard")) {
            try Self.registry.miner("semihard")
        }
        // PML's class names find their miners (by name, as the command line passes them).
        let pml = ["BatchHardMiner": "batch-hard", "BatchEasyHardMiner": "batch-easy-hard", "TripletMarginMiner": "triplet-margin",
                   "PairMarginMiner": "pair-margin", "MultiSimilarityMiner": "multi-similarity", "AngularMiner": "angular",
                   "HDCMiner": "hdc", "UniformHistogramMiner": "uniform-histogram", "DistanceWeightedMiner": "distance-weighted"]
        for (pmlName, name) in pml {
            #expect(throws: SimileError.unknownComponent(kind: .miner, name: pmlName, suggestion: name)) {
                try Self.registry.miner(try Self.registry.spec(pmlName, []))
            }
        }
    }
}
