/// `stratified-pk`: P×K batches whose classes are balanced over metadata strata.
public struct StratifiedPKSampler: BatchSampler {
    public static let descriptor = ComponentDescriptor(
        kind: .sampler, name: "stratified-pk",
        summary: "P classes × K rows per batch, with the classes balanced over metadata strata (e.g. sex × QT range).",
        formula: """
            stratum(c) = (mode over c's rows of each column in `by`)
            batch = P classes × K rows; S strata each give ⌊P/S⌋ or ⌈P/S⌉ classes
            epoch: each stratum's chunks (as in pk) are taken in spread order;
                   it ends when every stratum's rows have all been visited
            """,
        discussion: """
            Use it when a metadata variable dominates the raw features and the model should not learn \
            it as a shortcut: with by=[sex, qt-bucket] every batch holds patients of every sex and QT \
            range in equal numbers, so negatives are not trivially told apart by sex or QT.

            Each class is put in one stratum: per column in `by`, the value most of its rows have (ties \
            to the value seen first; a missing value is its own value, "missing"). Each batch gives \
            ⌊P/S⌋ or ⌈P/S⌉ of its P classes to each of the S strata (the strata that get the extra \
            classes rotate from batch to batch), so the class counts of two strata in a batch differ by \
            at most 1. When S > P, each batch covers P strata, one class each, rotating. A stratum with \
            fewer classes than its share gives all it has and the others make up the rest.

            Epoch semantics: every row of every eligible class is visited at least once (chunks as in \
            pk). Strata are balanced, not the data: once a small stratum's rows are all visited its \
            slots are filled with fresh chunks of its classes (visited rows again) until the largest \
            stratum is done, so rows of small strata appear several times per epoch. Every batch is \
            P×K. A column named in `by` that the data lacks is an error here (a trainer may choose to \
            warn and fall back to pk). Names match ignoring case, '-' and '_' (qt-bucket finds \
            qt_bucket).

            PML has no stratified sampler.
            """,
        reference: "Simile; stratified sampling of P×K batches (cf. PML HierarchicalSampler)",
        parameters: [
            ParameterSpec("by", .strings, default: .value(.strings(["sex", "qt-bucket"])),
                          doc: "metadata columns whose combinations are the strata, e.g. [sex, qt-bucket]"),
            SamplerParameters.classesPerBatch(), SamplerParameters.samplesPerClass(), SamplerParameters.smallClasses,
            SamplerParameters.seed,
        ],
        examples: [[], ["by=[sex]", "classes-per-batch=8"], ["by=[qt_bucket]", "samples-per-class=2", "seed=5"]])

    public let by: [String]
    public let classesPerBatch: Int
    public let samplesPerClass: Int
    let smallClasses: SmallClassPolicy
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        by = try arguments.strings("by")
        guard !by.isEmpty else {
            throw SimileError.invalidInput("'stratified-pk': by=[] names no column; name at least one, e.g. by=[sex], or use pk")
        }
        classesPerBatch = try arguments.int("classes-per-batch")
        samplesPerClass = try arguments.int("samples-per-class")
        smallClasses = SmallClassPolicy(rawValue: try arguments.choice("small-classes"))!
        seed = try arguments.int("seed")
    }

    /// The stratum of each eligible class: the strata's value tuples and their classes.
    public func strata(_ data: SamplerData) throws -> (keys: [[String]], classes: [[Int]]) {
        let name = Self.descriptor.name
        try data.validate(component: name)
        let columns = try by.map { try data.requireColumn($0, component: name, parameter: "by").column }
        let groups = data.rowsByClass
        let eligible = groups.indices.filter { smallClasses == .replace || groups[$0].count >= samplesPerClass }
        let grouped = data.groupClasses(eligible, rowsByClass: groups, columns: columns)
        return (grouped.keys, grouped.members)
    }

    public func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] {
        let name = Self.descriptor.name
        let (_, strata) = try strata(data)
        var random = try SamplerParameters.generator(seed: seed, epoch: epoch, component: name)
        let groups = data.rowsByClass
        let eligibleCount = strata.reduce(0) { $0 + $1.count }
        guard eligibleCount >= classesPerBatch else {
            throw SamplerParameters.tooFewClasses(
                name, eligible: eligibleCount, total: groups.count, needed: classesPerBatch,
                reason: smallClasses == .skip ? "have at least \(samplesPerClass) rows (samples-per-class)" : "exist")
        }
        let k = samplesPerClass
        var queues: [ChunkQueue] = []
        for members in strata {
            var chunks: [Chunk] = []
            for classIndex in members {
                chunks += ChunkPlan.chunks(of: groups[classIndex], classIndex: classIndex, k: k, small: smallClasses,
                                           random: &random)
            }
            queues.append(ChunkQueue(chunks, random: &random))
        }
        var assembler = BatchAssembler(queues: queues, groupClasses: strata, freshChunk: { classIndex, random in
            ChunkPlan.fresh(groups[classIndex], k: k, random: &random)
        })
        let order = random.shuffled(Array(strata.indices))
        let capacities = strata.map(\.count)
        var batches: [SampledBatch] = []
        while assembler.remaining > 0 {
            let counts = Self.allocate(classesPerBatch, batch: batches.count, order: order, capacities: capacities,
                                       remaining: assembler.queues.map(\.remaining))
            var batch: [Chunk] = []
            var used = Set<Int>()
            for stratum in order where counts[stratum] > 0 {
                assembler.fill(group: stratum, count: counts[stratum], into: &batch, used: &used, fresh: true,
                               random: &random)
            }
            batches.append(SampledBatch(rows: batch.flatMap(\.rows)))
        }
        return batches
    }

    /// Class slots per stratum for one batch: ⌊P/S⌋ each, the P mod S extra slots to the strata
    /// next in a rotating order (those with unvisited rows first), then capped by each stratum's
    /// number of classes with the excess passed round-robin to strata that have room.
    static func allocate(_ p: Int, batch: Int, order: [Int], capacities: [Int], remaining: [Int]) -> [Int] {
        let s = order.count
        let rotated = (0..<s).map { order[(batch + $0) % s] }
        let preferred = rotated.filter { remaining[$0] > 0 } + rotated.filter { remaining[$0] == 0 }
        var counts = [Int](repeating: p / s, count: s)
        for i in 0..<(p % s) { counts[preferred[i]] += 1 }
        var excess = 0
        for stratum in 0..<s where counts[stratum] > capacities[stratum] {
            excess += counts[stratum] - capacities[stratum]
            counts[stratum] = capacities[stratum]
        }
        while excess > 0 {
            var moved = false
            for stratum in preferred where excess > 0 && counts[stratum] < capacities[stratum] {
                counts[stratum] += 1
                excess -= 1
                moved = true
            }
            if !moved { break }
        }
        return counts
    }
}
