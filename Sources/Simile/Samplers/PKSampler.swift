/// `pk`: batches of P classes × K rows, every row visited in each epoch.
public struct PKSampler: BatchSampler {
    public static let descriptor = ComponentDescriptor(
        kind: .sampler, name: "pk", aliases: ["m-per-class"],
        summary: "P classes × K rows per batch; every row is visited at least once per epoch.",
        formula: """
            batch = P distinct classes × K rows of each (P·K rows, grouped by class)
            epoch: each class's rows are shuffled and cut into ⌈n_c/K⌉ chunks of K;
                   a last partial chunk is completed with other rows of the same class;
                   chunks are taken in spread order, P chunks of distinct classes per batch
            batches per epoch ≈ ⌈Σ_c ⌈n_c/K⌉ / P⌉
            """,
        discussion: """
            The standard sampler for pair, triplet and proxy losses: every batch holds K positives per \
            class. P = 12, K = 4 (48 rows) is the recommended ECG setting.

            Epoch semantics: every row of every class with at least K rows (and, with \
            small-classes=replace, of every class) is in at least one batch of each epoch. Rows appear \
            more than once only where a class's count is not a multiple of K (the last chunk of the \
            class is completed with other rows of that class), and in the final batch under \
            last-batch=fill. Each class's chunks are spread evenly through the epoch (keys (j + u)/m \
            for its m chunks, u uniform), so a batch rarely has to wait for a class. A class with fewer \
            than K rows is drawn with replacement up to K (small-classes=replace, as PML does) or left \
            out (skip). The last batch, when the remaining chunks cannot give P distinct classes, is \
            completed with fresh chunks of other classes (fill, the default), kept smaller (keep; \
            rarely, when one class has several chunks left, the last two or three batches are smaller), \
            or dropped (drop: its rows are then not visited that epoch). Within a batch rows are grouped \
            by class, in the order the classes were drawn.

            Deviation from PML: PML's MPerClassSampler draws length_before_new_iter (100000) rows per \
            "epoch" from random classes and random rows, with no guarantee that a row is ever visited \
            (PML issue #684). Here an epoch is one pass over the data, and the batches depend only on \
            the seed and the epoch, so a resumed run draws the same batches.
            """,
        reference: "Hermans, Beyer & Leibe, In Defense of the Triplet Loss for Person Re-Identification (2017); PML MPerClassSampler",
        parameters: [
            SamplerParameters.classesPerBatch(), SamplerParameters.samplesPerClass(), SamplerParameters.smallClasses,
            SamplerParameters.lastBatch(), SamplerParameters.seed,
        ],
        examples: [[], ["classes-per-batch=8", "samples-per-class=2"], ["small-classes=skip", "last-batch=drop", "seed=3"]])

    public let classesPerBatch: Int
    public let samplesPerClass: Int
    let smallClasses: SmallClassPolicy
    let lastBatch: LastBatchPolicy
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        classesPerBatch = try arguments.int("classes-per-batch")
        samplesPerClass = try arguments.int("samples-per-class")
        smallClasses = SmallClassPolicy(rawValue: try arguments.choice("small-classes"))!
        lastBatch = LastBatchPolicy(rawValue: try arguments.choice("last-batch"))!
        seed = try arguments.int("seed")
    }

    public func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] {
        let name = Self.descriptor.name
        try data.validate(component: name)
        var random = try SamplerParameters.generator(seed: seed, epoch: epoch, component: name)
        let groups = data.rowsByClass
        let eligible = groups.indices.filter { smallClasses == .replace || groups[$0].count >= samplesPerClass }
        guard eligible.count >= classesPerBatch else {
            throw SamplerParameters.tooFewClasses(
                name, eligible: eligible.count, total: groups.count, needed: classesPerBatch,
                reason: smallClasses == .skip ? "have at least \(samplesPerClass) rows (samples-per-class; or use small-classes=replace)" : "exist")
        }
        var chunks: [Chunk] = []
        for classIndex in eligible {
            chunks += ChunkPlan.chunks(of: groups[classIndex], classIndex: classIndex, k: samplesPerClass,
                                       small: smallClasses, random: &random)
        }
        let k = samplesPerClass
        let batches = assemblePK(chunks: chunks, classes: eligible, p: classesPerBatch, lastBatch: lastBatch,
                                 freshChunk: { classIndex, random in ChunkPlan.fresh(groups[classIndex], k: k, random: &random) },
                                 random: &random)
        return batches.map { SampledBatch(rows: $0.flatMap(\.rows)) }
    }
}
