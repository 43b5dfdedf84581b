/// `hierarchical`: super-class × class × sample batches.
public struct HierarchicalSampler: BatchSampler {
    public static let descriptor = ComponentDescriptor(
        kind: .sampler, name: "hierarchical",
        summary: "Super-class × class × sample: each batch takes P/G classes × K rows from each of G super-classes.",
        formula: """
            super(c) = the mode over c's rows of the `super-class` column
            batch = G super-classes × (P/G classes × K rows)   (P·K rows)
            epoch: super-classes drawn in proportion to their unvisited chunks;
                   it ends when every row has been visited
            """,
        discussion: """
            For data with a hierarchy (patients within a clinical group, products within a category): \
            each batch concentrates on a few super-classes, so most negatives share the anchor's \
            super-class and are hard, while the batch still spans G super-classes.

            The super-class of a class is the value most of its rows have in the `super-class` column \
            (ties to the value seen first; a missing value is its own super-class, "missing"). Each batch \
            draws G distinct super-classes with probability proportional to their unvisited chunks \
            (chunks of K rows per class, as in pk), then P/G classes of each. A super-class with fewer \
            classes than P/G gives all it has and the batch's other super-classes make up the rest.

            Epoch semantics: every row of every eligible class is visited at least once; once a \
            super-class's rows are all visited, its slots take fresh chunks of its classes (visited rows \
            again). Every batch is P×K.

            Deviation from PML: PML's HierarchicalSampler takes every combination of \
            super_classes_per_batch super-labels batches_per_super_tuple times, with random classes and \
            rows, so an epoch covers the super-label pairs, not the rows; its batch size is batch_size, \
            here classes-per-batch × samples-per-class.
            """,
        reference: "Cakir et al., Deep Metric Learning to Rank (2019); PML HierarchicalSampler",
        parameters: [
            ParameterSpec("super-class", .string, default: .required,
                          doc: "the metadata column whose value groups classes into super-classes"),
            .int("super-classes-per-batch", 2, range: .atLeast(1), doc: "G: super-classes in each batch (PML's super_classes_per_batch)"),
            SamplerParameters.classesPerBatch(), SamplerParameters.samplesPerClass(), SamplerParameters.smallClasses,
            SamplerParameters.seed,
        ],
        examples: [["super-class=sex"], ["super-class=qt_bucket", "super-classes-per-batch=3", "classes-per-batch=9"],
                   ["super-class=sex", "super-classes-per-batch=1", "samples-per-class=2"]])

    public let superClass: String
    public let superClassesPerBatch: Int
    public let classesPerBatch: Int
    public let samplesPerClass: Int
    let smallClasses: SmallClassPolicy
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        superClass = try arguments.string("super-class")
        superClassesPerBatch = try arguments.int("super-classes-per-batch")
        classesPerBatch = try arguments.int("classes-per-batch")
        samplesPerClass = try arguments.int("samples-per-class")
        smallClasses = SmallClassPolicy(rawValue: try arguments.choice("small-classes"))!
        seed = try arguments.int("seed")
        guard classesPerBatch % superClassesPerBatch == 0 else {
            throw SimileError.incompatible(
                "'hierarchical': classes-per-batch (\(classesPerBatch)) must be a multiple of super-classes-per-batch (\(superClassesPerBatch)), so each super-class gets the same number of classes")
        }
    }

    public func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] {
        let name = Self.descriptor.name
        try data.validate(component: name)
        let column = try data.requireColumn(superClass, component: name, parameter: "super-class").column
        var random = try SamplerParameters.generator(seed: seed, epoch: epoch, component: name)
        let groups = data.rowsByClass
        let eligible = groups.indices.filter { smallClasses == .replace || groups[$0].count >= samplesPerClass }
        guard eligible.count >= classesPerBatch else {
            throw SamplerParameters.tooFewClasses(
                name, eligible: eligible.count, total: groups.count, needed: classesPerBatch,
                reason: smallClasses == .skip ? "have at least \(samplesPerClass) rows (samples-per-class)" : "exist")
        }
        let (keys, supers) = data.groupClasses(eligible, rowsByClass: groups, columns: [column])
        guard supers.count >= superClassesPerBatch else {
            throw SimileError.invalidInput(
                "'\(name)': column '\(superClass)' gives \(supers.count) super-class\(supers.count == 1 ? "" : "es") (\(keys.map { $0[0] }.joined(separator: ", "))) but super-classes-per-batch is \(superClassesPerBatch); lower it or choose another column")
        }
        let k = samplesPerClass
        var queues: [ChunkQueue] = []
        for members in supers {
            var chunks: [Chunk] = []
            for classIndex in members {
                chunks += ChunkPlan.chunks(of: groups[classIndex], classIndex: classIndex, k: k, small: smallClasses,
                                           random: &random)
            }
            queues.append(ChunkQueue(chunks, random: &random))
        }
        var assembler = BatchAssembler(queues: queues, groupClasses: supers, freshChunk: { classIndex, random in
            ChunkPlan.fresh(groups[classIndex], k: k, random: &random)
        })
        let share = classesPerBatch / superClassesPerBatch
        var batches: [SampledBatch] = []
        while assembler.remaining > 0 {
            let chosen = Self.choose(superClassesPerBatch, remaining: assembler.queues.map(\.remaining), random: &random)
            var batch: [Chunk] = []
            var used = Set<Int>()
            for group in chosen {
                assembler.fill(group: group, count: share, into: &batch, used: &used, fresh: true, random: &random)
            }
            // Super-classes with too few classes: the batch's others, then any, make up the rest.
            for group in chosen + Array(supers.indices) where batch.count < classesPerBatch {
                assembler.fill(group: group, count: classesPerBatch - batch.count, into: &batch, used: &used,
                               fresh: true, random: &random)
            }
            batches.append(SampledBatch(rows: batch.flatMap(\.rows)))
        }
        return batches
    }

    /// G distinct groups: drawn with probability proportional to their unvisited chunks, then (when
    /// fewer have any) uniformly among the rest.
    static func choose(_ g: Int, remaining: [Int], random: inout SeededGenerator) -> [Int] {
        var weights = remaining
        var chosen: [Int] = []
        while chosen.count < g {
            let total = weights.reduce(0, +)
            if total == 0 { break }
            var pick = random.below(total)
            for (group, weight) in weights.enumerated() {
                if pick < weight {
                    chosen.append(group)
                    weights[group] = 0
                    break
                }
                pick -= weight
            }
        }
        if chosen.count < g {
            let rest = remaining.indices.filter { !chosen.contains($0) }
            chosen += random.sample(rest, count: g - chosen.count)
        }
        return chosen
    }
}
