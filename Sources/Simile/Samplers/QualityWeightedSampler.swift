/// `quality-weighted`: P×K batches in which rows flagged as poor quality are kept out of the
/// negatives, or drawn less often.
public struct QualityWeightedSampler: BatchSampler {
    public static let descriptor = ComponentDescriptor(
        kind: .sampler, name: "quality-weighted",
        summary: "P classes × K rows per batch; rows whose quality flag is false are not used as negatives, or are drawn less often.",
        formula: """
            flagged(i) = (quality column of row i is false)
            exclude-negatives: batches as pk; negative weight w_i = 0 if flagged(i), else 1
            down-weight: each epoch, flagged row i enters with probability `weight`; batches as pk over
                         the rows that entered; all negative weights 1
            """,
        discussion: """
            Noisy exams (electrode problems, artefacts) make misleading negatives: a noisy exam of \
            patient A can look like patient B, and pushing it away from B teaches noise. In \
            exclude-negatives mode (the default) every row is sampled as in pk, and flagged rows carry \
            negative weight 0 in SampledBatch.negativeWeights: a trainer drops the pairs and triplets \
            whose negative is flagged, while flagged rows still serve as anchors and positives. In \
            down-weight mode a flagged row enters each epoch with probability `weight` (0.25 by default), \
            so over many epochs it is drawn a quarter as often as a clean row; the rows that entered are \
            batched as in pk and no negative weights are set.

            The flag is the metadata column `column` (InRange by default; true/false, yes/no or 1/0); a \
            row whose flag is false is flagged, and a missing flag counts as good (unknown quality is \
            not evidence of poor quality).

            Epoch semantics: as pk over the rows in play (all rows in exclude-negatives mode; the clean \
            rows and the flagged rows drawn this epoch in down-weight mode): each is visited at least \
            once. A class with fewer than K rows in play follows small-classes. Every batch is P×K \
            (the final one completed with visited rows).

            PML has no quality-aware sampler.
            """,
        reference: "Simile",
        parameters: [
            .string("column", "InRange", doc: "the metadata flag column; false marks a poor-quality row"),
            ParameterSpec("mode", .choice(["exclude-negatives", "down-weight"]), default: .value(.choice("exclude-negatives")),
                          doc: "exclude-negatives: flagged rows get negative weight 0; down-weight: flagged rows are drawn less often"),
            .double("weight", 0.25, range: .closed(0, 1),
                    doc: "down-weight: the probability that a flagged row enters an epoch (its sampling rate relative to a clean row)"),
            SamplerParameters.classesPerBatch(), SamplerParameters.samplesPerClass(), SamplerParameters.smallClasses,
            SamplerParameters.seed,
        ],
        examples: [[], ["mode=down-weight", "weight=0.5"], ["column=inrange", "classes-per-batch=8", "samples-per-class=2"]])

    public let column: String
    public let downWeight: Bool
    public let weight: Double
    public let classesPerBatch: Int
    public let samplesPerClass: Int
    let smallClasses: SmallClassPolicy
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        column = try arguments.string("column")
        downWeight = try arguments.choice("mode") == "down-weight"
        weight = try arguments.double("weight")
        classesPerBatch = try arguments.int("classes-per-batch")
        samplesPerClass = try arguments.int("samples-per-class")
        smallClasses = SmallClassPolicy(rawValue: try arguments.choice("small-classes"))!
        seed = try arguments.int("seed")
    }

    /// Which rows are flagged as poor quality.
    public func flagged(_ data: SamplerData) throws -> [Bool] {
        let name = Self.descriptor.name
        try data.validate(component: name)
        let found = try data.requireColumn(column, component: name, parameter: "column")
        guard case let .flags(values) = found.column else {
            throw SimileError.invalidInput(
                "'\(name)': column '\(found.name)' is \(found.column.typeName), not a flag; column needs true/false, yes/no or 1/0 values")
        }
        return values.map { $0 == false }
    }

    public func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] {
        let name = Self.descriptor.name
        let flagged = try flagged(data)
        var random = try SamplerParameters.generator(seed: seed, epoch: epoch, component: name)
        let k = samplesPerClass
        var groups = data.rowsByClass
        if downWeight {
            // One draw per flagged row, in row order, so the rows entering depend only on seed and epoch.
            var enters = [Bool](repeating: true, count: data.count)
            for row in 0..<data.count where flagged[row] { enters[row] = random.chance(weight) }
            groups = groups.map { $0.filter { enters[$0] } }
        }
        let eligible = groups.indices.filter {
            !groups[$0].isEmpty && (smallClasses == .replace || groups[$0].count >= k)
        }
        guard eligible.count >= classesPerBatch else {
            throw SamplerParameters.tooFewClasses(
                name, eligible: eligible.count, total: groups.count, needed: classesPerBatch,
                reason: "have \(smallClasses == .skip ? "\(k)" : "any") rows in play this epoch")
        }
        var chunks: [Chunk] = []
        for classIndex in eligible {
            chunks += ChunkPlan.chunks(of: groups[classIndex], classIndex: classIndex, k: k, small: smallClasses,
                                       random: &random)
        }
        let inPlay = groups
        let batches = assemblePK(chunks: chunks, classes: eligible, p: classesPerBatch, lastBatch: .fill,
                                 freshChunk: { classIndex, random in ChunkPlan.fresh(inPlay[classIndex], k: k, random: &random) },
                                 random: &random)
        return batches.map { chunks in
            let rows = chunks.flatMap(\.rows)
            return SampledBatch(rows: rows, negativeWeights: downWeight ? nil : rows.map { flagged[$0] ? 0 : 1 })
        }
    }
}
