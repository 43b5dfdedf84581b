/// `random`: uniform batches from a shuffled pass over the data.
public struct RandomSampler: BatchSampler {
    public static let descriptor = ComponentDescriptor(
        kind: .sampler, name: "random", aliases: ["uniform"],
        summary: "Uniform batches: a random permutation of the rows cut into batches; every row once per epoch.",
        formula: """
            epoch: π = a random permutation of the N rows
            batch b = π[b·B ..< min((b+1)·B, N)]
            """,
        discussion: """
            The baseline, and what self-supervised training with augmented views needs (its positives \
            are the views, not other rows of the class). A batch may hold a class once or not at all, so \
            pair and triplet losses often find no positives in it: prefer pk for supervised training.

            Epoch semantics: every row exactly once per epoch. The last batch holds the remaining \
            N mod B rows (last-batch=keep, the default, like a PyTorch DataLoader with drop_last=False) \
            or is dropped (drop).
            """,
        reference: "PyTorch RandomSampler with a BatchSampler",
        parameters: [
            .int("batch-size", 48, range: .atLeast(1), doc: "rows per batch"),
            SamplerParameters.lastBatch(["keep", "drop"], default: "keep"),
            SamplerParameters.seed,
        ],
        examples: [[], ["batch-size=32", "last-batch=drop", "seed=7"]])

    public let batchSize: Int
    public let dropLast: Bool
    public let seed: Int

    public init(_ arguments: Arguments) throws {
        batchSize = try arguments.int("batch-size")
        dropLast = try arguments.choice("last-batch") == "drop"
        seed = try arguments.int("seed")
    }

    public func batches(_ data: SamplerData, epoch: Int) throws -> [SampledBatch] {
        let name = Self.descriptor.name
        try data.validate(component: name)
        var random = try SamplerParameters.generator(seed: seed, epoch: epoch, component: name)
        let order = random.shuffled(Array(0..<data.count))
        var batches: [SampledBatch] = []
        var start = 0
        while start < order.count {
            let end = min(order.count, start + batchSize)
            if end - start < batchSize, dropLast { break }
            batches.append(SampledBatch(rows: Array(order[start..<end])))
            start = end
        }
        guard !batches.isEmpty else {
            throw SimileError.invalidInput(
                "'\(name)': the data has \(data.count) rows, fewer than batch-size \(batchSize), and last-batch=drop drops them all; lower batch-size or use last-batch=keep")
        }
        return batches
    }
}
