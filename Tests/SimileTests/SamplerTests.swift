import Foundation
import Testing
@testable import Simile

/// Properties every registered batch sampler must have, checked through the registry with each
/// of its descriptor's examples, plus each sampler's own promise.
struct SamplerTests {
    let registry = Registry.builtin

    /// 60 patients with 2–8 exams (some classes smaller than K = 4), with the ECG metadata.
    static let data: Dataset = {
        do { return try SyntheticECG(patients: 60, exams: 2...8, seed: 3).dataset() } catch { fatalError("\(error)") }
    }()

    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let parameters: [String]
        var description: String { ([name] + parameters).joined(separator: " ") }
    }

    static let cases: [Case] = Registry.builtin.descriptors(.sampler).flatMap { descriptor in
        (descriptor.examples.isEmpty ? [[]] : descriptor.examples).map { Case(name: descriptor.name, parameters: $0) }
    }

    @Test func everySamplerIsCovered() {
        let names = Set(registry.descriptors(.sampler).map(\.name))
        #expect(names == ["pk", "stratified-pk", "hierarchical", "temporal-pk", "quality-weighted", "random"])
        for descriptor in registry.descriptors(.sampler) {
            #expect(descriptor.examples.count >= 2, "\(descriptor.name) needs examples")
            #expect(descriptor.parameter(named: "seed") != nil, "\(descriptor.name) has no seed")
            #expect(descriptor.discussion.contains("Epoch semantics"), "\(descriptor.name) must document its epoch")
        }
    }

    @Test(arguments: cases)
    func batchesAreValidDeterministicAndCoverTheEpoch(_ example: Case) throws {
        let data = Self.data.samplerData
        let spec = try registry.spec(example.name, example.parameters)
        let sampler = try registry.sampler(spec)
        let arguments = try registry.arguments(.sampler, spec)
        let epoch1 = try sampler.batches(data, epoch: 1)
        #expect(!epoch1.isEmpty)

        // Same seed and epoch, same batches (from a freshly built sampler too); other epochs differ.
        #expect(try sampler.batches(data, epoch: 1) == epoch1)
        #expect(try registry.sampler(spec).batches(data, epoch: 1) == epoch1)
        #expect(try sampler.batches(data, epoch: 2) != epoch1)
        let otherSeed = try registry.sampler(registry.spec(example.name, example.parameters.filter { !$0.hasPrefix("seed=") } + ["seed=99"]))
        #expect(try otherSeed.batches(data, epoch: 1) != epoch1)

        for batch in epoch1 {
            #expect(!batch.rows.isEmpty)
            #expect(batch.rows.allSatisfy { $0 >= 0 && $0 < data.count })
            if let weights = batch.negativeWeights { #expect(weights.count == batch.rows.count) }
        }

        // Shape.
        let visited = Set(epoch1.flatMap(\.rows))
        let lastBatch = (try? arguments.choice("last-batch")) ?? "fill"
        if example.name == "random" {
            let size = try arguments.int("batch-size")
            #expect(epoch1.dropLast().allSatisfy { $0.rows.count == size })
            #expect(lastBatch == "drop" ? epoch1.last!.rows.count == size : epoch1.last!.rows.count <= size)
            // Each row exactly once (all of them unless the last batch is dropped).
            let rows = epoch1.flatMap(\.rows)
            #expect(rows.count == Set(rows).count)
            if lastBatch == "keep" { #expect(rows.count == data.count) }
            return
        }
        let p = try arguments.int("classes-per-batch"), k = try arguments.int("samples-per-class")
        var sawShort = false
        for (index, batch) in epoch1.enumerated() {
            let counts = Dictionary(grouping: batch.rows, by: { data.labels[$0] }).mapValues(\.count)
            #expect(counts.values.allSatisfy { $0 == k }, "batch \(index): class counts \(counts.values.sorted())")
            if lastBatch == "keep" {
                #expect(counts.count <= p)
                if counts.count < p { sawShort = true } else { #expect(!sawShort, "a full batch after a short one") }
            } else {
                #expect(counts.count == p, "batch \(index) has \(counts.count) classes, not \(p)")
            }
        }

        // Coverage: every row the sampler promises to visit is visited.
        let groups = data.rowsByClass
        let smallSkip = (try? arguments.choice("small-classes")) == "skip"
        var promised = Set<Int>()
        switch example.name {
        case "pk", "stratified-pk", "hierarchical":
            for rows in groups where !smallSkip || rows.count >= k { promised.formUnion(rows) }
            if lastBatch == "drop" { promised = [] }
        case "temporal-pk":
            let drawable = try (sampler as! TemporalPKSampler).drawableRows(data)
            promised = Set(drawable.indices.filter { drawable[$0] })
            #expect(visited.isSubset(of: promised), "temporal-pk drew a row that cannot form a gap-separated set")
            if lastBatch == "drop" { promised = [] }
        case "quality-weighted":
            let quality = sampler as! QualityWeightedSampler
            let flagged = try quality.flagged(data)
            let clean = (0..<data.count).filter { !flagged[$0] }
            let inPlay = quality.downWeight ? clean : Array(0..<data.count)
            for rows in groups {
                let members = rows.filter { inPlay.contains($0) }
                if !smallSkip || members.count >= k { promised.formUnion(members) }
            }
        default:
            Issue.record("no coverage rule for sampler '\(example.name)'")
        }
        #expect(promised.isSubset(of: visited), "\(promised.subtracting(visited).count) promised rows not visited")
    }

    @Test func pkVisitsEachRowAtLeastOnceAndFewTwice() throws {
        let data = Self.data.samplerData
        let batches = try registry.sampler("pk").batches(data, epoch: 1)
        let rows = batches.flatMap(\.rows)
        #expect(Set(rows).count == data.count)
        // Repeats come only from completing partial chunks and the last batch.
        let chunks = data.rowsByClass.reduce(0) { $0 + ($1.count + 3) / 4 }
        #expect(batches.count <= (chunks + 11) / 12 + 1)
        #expect(rows.count <= chunks * 4 + 48)
    }

    @Test func smallClassesAreReplacedOrSkipped() throws {
        let data = SamplerData(labels: [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3])
        let replace = try registry.sampler("pk(classes-per-batch=2, samples-per-class=4)").batches(data, epoch: 1)
        #expect(Set(replace.flatMap(\.rows)) == Set(0..<11))
        let skip = try registry.sampler("pk(classes-per-batch=2, samples-per-class=4, small-classes=skip)").batches(data, epoch: 1)
        #expect(Set(skip.flatMap(\.rows)) == Set(0..<8))
        // Too few classes for P: a clear error naming the parameter.
        do {
            _ = try registry.sampler("pk(classes-per-batch=3, small-classes=skip)").batches(data, epoch: 1)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("classes-per-batch") && "\(error)".contains("only 2"), "\(error)")
        }
    }

    @Test func stratifiedBatchesAreBalanced() throws {
        let data = Self.data.samplerData
        for text in ["stratified-pk", "stratified-pk(by=[sex], classes-per-batch=8)",
                     "stratified-pk(by=[qt-bucket], classes-per-batch=7, samples-per-class=2)"] {
            let sampler = try registry.sampler(text) as! StratifiedPKSampler
            let (_, strata) = try sampler.strata(data)
            var stratumOf: [Int: Int] = [:]
            let groups = data.rowsByClass
            for (s, classes) in strata.enumerated() {
                for c in classes { stratumOf[data.labels[groups[c][0]]] = s }
            }
            #expect(strata.count >= 2)
            let batches = try sampler.batches(data, epoch: 1)
            for batch in batches {
                var counts = [Int](repeating: 0, count: strata.count)
                for label in Set(batch.rows.map { data.labels[$0] }) { counts[stratumOf[label]!] += 1 }
                #expect(counts.reduce(0, +) == sampler.classesPerBatch)
                // Two strata differ by more than 1 only where the smaller gave all its classes.
                for s in strata.indices {
                    for t in strata.indices where counts[s] < counts[t] - 1 {
                        #expect(counts[s] == strata[s].count, "\(text): unbalanced \(counts)")
                    }
                }
            }
        }
    }

    @Test func stratifiedNeedsItsColumns() throws {
        let data = Self.data.samplerData
        do {
            _ = try registry.sampler("stratified-pk(by=[sex, qt-bukcet])").batches(data, epoch: 1)
            Issue.record("expected an error")
        } catch {
            let message = "\(error)"
            #expect(message.contains("no metadata column 'qt-bukcet'") && message.contains("did you mean 'qt_bucket'"), "\(message)")
        }
        let bare = SamplerData(labels: Array(0..<40).map { $0 / 4 })
        #expect(throws: SimileError.self) { try registry.sampler("stratified-pk").batches(bare, epoch: 1) }
        #expect(throws: SimileError.self) { try registry.sampler("stratified-pk(by=[])") }
    }

    @Test func temporalPositivesRespectTheGap() throws {
        let data = Self.data.samplerData
        guard case let .numeric(days)? = data.metadata["exam_date"] else {
            Issue.record("no dates")
            return
        }
        for text in ["temporal-pk", "temporal-pk(min-gap-days=365, samples-per-class=2)",
                     "temporal-pk(min-gap-days=200, samples-per-class=3, classes-per-batch=6)"] {
            let sampler = try registry.sampler(text) as! TemporalPKSampler
            for epoch in 1...2 {
                for batch in try sampler.batches(data, epoch: epoch) {
                    let byClass = Dictionary(grouping: batch.rows, by: { data.labels[$0] })
                    for rows in byClass.values {
                        for i in rows {
                            for j in rows where i != j {
                                #expect(abs(days[i]! - days[j]!) >= sampler.minGapDays, "\(text): rows \(i), \(j)")
                            }
                        }
                    }
                }
            }
        }
        // A date column that is not dates, or none at all, is a clear error.
        #expect(throws: SimileError.self) { try registry.sampler("temporal-pk(date-column=sex)").batches(data, epoch: 1) }
        #expect(throws: SimileError.self) {
            try registry.sampler("temporal-pk").batches(SamplerData(labels: Array(0..<40).map { $0 / 4 }), epoch: 1)
        }
        #expect(throws: SimileError.self) { try registry.sampler("temporal-pk(min-gap-days=5000)").batches(data, epoch: 1) }
    }

    /// A row is drawable exactly when some K-set of its class's rows containing it is pairwise
    /// gap-separated: checked against all subsets of small random timelines.
    @Test func temporalDrawabilityMatchesExhaustiveSearch() {
        var random = SeededGenerator(seed: 11)
        for trial in 0..<300 {
            let n = 1 + random.below(9)
            let days: [Double?] = (0..<n).map { _ in Double(random.below(40)) }
            let gap = Double(random.below(12)), k = 1 + random.below(4)
            let timeline = Timeline(rows: Array(0..<n), days: days, gap: gap)
            for position in 0..<n {
                let row = timeline.rows[position]
                var exists = false
                for mask in 0..<(1 << n) where mask & (1 << row) != 0 && mask.nonzeroBitCount == k {
                    let members = (0..<n).filter { mask & (1 << $0) != 0 }
                    if members.allSatisfy({ a in members.allSatisfy { b in a == b || abs(days[a]! - days[b]!) >= gap } }) {
                        exists = true
                        break
                    }
                }
                #expect(timeline.isDrawable(position, k: k) == exists, "trial \(trial): \(days) gap \(gap) k \(k) row \(row)")
                if exists {
                    let chunk = timeline.chunk(from: position, k: k, visited: [Bool](repeating: false, count: n), random: &random)
                    #expect(chunk.count == k && chunk.contains(position) && Set(chunk).count == k)
                    for a in chunk { for b in chunk where a != b { #expect(abs(timeline.days[a] - timeline.days[b]) >= gap) } }
                }
            }
        }
    }

    @Test func flaggedRowsAreNeverNegativesOrAreDrawnLessOften() throws {
        let data = Self.data.samplerData
        let exclude = try registry.sampler("quality-weighted") as! QualityWeightedSampler
        let flagged = try exclude.flagged(data)
        #expect(flagged.contains(true) && flagged.contains(false))
        for batch in try exclude.batches(data, epoch: 1) {
            let weights = try #require(batch.negativeWeights)
            for (row, weight) in zip(batch.rows, weights) { #expect(weight == (flagged[row] ? 0 : 1)) }
        }
        let down = try registry.sampler("quality-weighted(mode=down-weight)")
        var visitsFlagged = 0, visitsClean = 0
        for epoch in 1...8 {
            for batch in try down.batches(data, epoch: epoch) {
                #expect(batch.negativeWeights == nil)
                for row in batch.rows { if flagged[row] { visitsFlagged += 1 } else { visitsClean += 1 } }
            }
        }
        let flaggedCount = Double(flagged.filter { $0 }.count), cleanCount = Double(flagged.filter { !$0 }.count)
        let ratio = (Double(visitsFlagged) / flaggedCount) / (Double(visitsClean) / cleanCount)
        #expect(ratio > 0.1 && ratio < 0.5, "flagged rows drawn at \(ratio) times the clean rate")
        #expect(throws: SimileError.self) { try registry.sampler("quality-weighted(column=sex)").batches(data, epoch: 1) }
    }

    @Test func hierarchicalBatchesSpanFewSuperClasses() throws {
        let data = Self.data.samplerData
        guard case let .categorical(buckets)? = data.metadata["qt_bucket"] else { return }
        let sampler = try registry.sampler("hierarchical(super-class=qt_bucket, classes-per-batch=6)")
        for batch in try sampler.batches(data, epoch: 1) {
            #expect(Set(batch.rows.map { buckets[$0]! }).count <= 2)
        }
        #expect(throws: SimileError.self) { try registry.sampler("hierarchical(super-class=sex, classes-per-batch=7)") }
        #expect(throws: SimileError.self) {
            try registry.sampler("hierarchical(super-class=sex, super-classes-per-batch=3, classes-per-batch=6)").batches(data, epoch: 1)
        }
    }

    @Test func badDataAndEpochsAreErrors() throws {
        for descriptor in registry.descriptors(.sampler) {
            let sampler = try registry.sampler(registry.spec(descriptor.name, descriptor.examples.first ?? []))
            #expect(throws: SimileError.self) { try sampler.batches(SamplerData(labels: []), epoch: 1) }
            #expect(throws: SimileError.self) { try sampler.batches(Self.data.samplerData, epoch: 0) }
            let ragged = SamplerData(labels: [0, 0, 1, 1], metadata: ["sex": .categorical(["F", "M"])])
            #expect(throws: SimileError.self) { try sampler.batches(ragged, epoch: 1) }
        }
    }

    @Test func randomVisitsEveryRowOnce() throws {
        let data = SamplerData(labels: Array(0..<101))
        let batches = try registry.sampler("random(batch-size=10)").batches(data, epoch: 3)
        #expect(batches.count == 11 && batches.last!.rows.count == 1)
        #expect(batches.flatMap(\.rows).sorted() == Array(0..<101))
        #expect(try registry.sampler("random(batch-size=10, last-batch=drop)").batches(data, epoch: 3).count == 10)
        #expect(throws: SimileError.self) { try registry.sampler("random(batch-size=500, last-batch=drop)").batches(data, epoch: 1) }
    }
}
