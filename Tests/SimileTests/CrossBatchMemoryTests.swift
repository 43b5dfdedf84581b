import Foundation
import Testing
@testable import Simile

/// The cross-batch memory: PML's CrossBatchMemory on golden fixtures (made by
/// Tests/Fixtures/generate_pml_cross_batch_memory.py), FIFO order, self-copy exclusion, reset,
/// checkpoints and errors.
struct CrossBatchMemoryTests {
    struct File: Decodable {
        let cases: [Case]
    }

    struct Case: Decodable, Sendable, CustomStringConvertible {
        struct Step: Decodable, Sendable {
            struct Expected: Decodable, Sendable {
                let loss: Double
                let gradient: [[Double]]
                let memory_labels: [Int]
                let memory_embeddings: [[Double]]
            }
            let embeddings: [[Double]]
            let labels: [Int]
            let expected: Expected
        }
        let id: String
        let loss: String
        let miner: String?
        let memory_size: Int
        let embedding_size: Int
        let steps: [Step]
        var description: String { id }
    }

    static var cases: [Case] {
        let url = Fixtures.directory.appendingPathComponent("cross-batch-memory/cases.json")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.cases
    }

    @Test func fixturesExist() {
        #expect(Self.cases.count == 6)
    }

    /// Loss, gradient and memory contents after every step agree with PML's CrossBatchMemory.
    @Test(arguments: cases)
    func matchesPML(_ fixture: Case) throws {
        let registry = Registry.builtin
        let loss = try registry.loss(fixture.loss)
        let miner = try fixture.miner.map { try registry.miner($0) }
        var memory = try CrossBatchMemory<Double>(embeddingSize: fixture.embedding_size, capacity: fixture.memory_size)
        for (index, step) in fixture.steps.enumerated() {
            let x = try Matrix<Double>(step.embeddings)
            let output = try memory.loss(loss, x, step.labels, miner: miner)
            let expected = step.expected
            #expect(abs(output.value - expected.loss) <= 1e-10 * (1 + abs(expected.loss)),
                    "\(fixture.id) step \(index): loss \(output.value), PML \(expected.loss)")
            let gradient = try Matrix<Double>(expected.gradient)
            let difference = zip(output.gradient.elements, gradient.elements).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-10, "\(fixture.id) step \(index): gradient differs by \(difference)")
            #expect(memory.labels == expected.memory_labels, "\(fixture.id) step \(index): memory labels")
            #expect(memory.embeddings == (try Matrix<Double>(expected.memory_embeddings)), "\(fixture.id) step \(index): memory rows")
        }
    }

    /// Rows i of batch k carry the value 10k + i, so the memory's contents show its order.
    func batch(_ k: Int, rows: Int, columns: Int = 2) -> Matrix<Double> {
        Matrix(rows: rows, columns: columns, elements: (0..<(rows * columns)).map { Double(10 * k + $0 / columns) })
    }

    @Test func queueIsFIFO() throws {
        var memory = try CrossBatchMemory<Double>(embeddingSize: 2, capacity: 5)
        #expect(memory.count == 0 && !memory.isFull)
        #expect(try memory.enqueue(batch(1, rows: 2), labels: [0, 1]) == [0, 1])
        #expect(try memory.enqueue(batch(2, rows: 2), labels: [2, 3]) == [2, 3])
        #expect(memory.count == 4 && !memory.isFull)
        // Wraps around: slot 4, then the oldest two (slots 0 and 1) are overwritten.
        #expect(try memory.enqueue(batch(3, rows: 3), labels: [4, 5, 6]) == [4, 0, 1])
        #expect(memory.isFull && memory.count == 5)
        #expect(memory.labels == [5, 6, 2, 3, 4])
        #expect(memory.slotsOldestFirst == [2, 3, 4, 0, 1])
        let oldestFirst = memory.slotsOldestFirst.map { memory.embeddings[$0, 0] }
        #expect(oldestFirst == [20, 21, 30, 31, 32])
        // A batch as large as the memory replaces everything.
        #expect(try memory.enqueue(batch(4, rows: 5), labels: [7, 8, 9, 10, 11]) == [2, 3, 4, 0, 1])
        #expect(memory.slotsOldestFirst.map { memory.labels[$0] } == [7, 8, 9, 10, 11])
    }

    @Test func resetEmptiesTheMemory() throws {
        var memory = try CrossBatchMemory<Float>(embeddingSize: 2, capacity: 4)
        try memory.enqueue(batch(1, rows: 3).converted(to: Float.self), labels: [0, 0, 1])
        memory.reset()
        #expect(memory.count == 0 && memory.labels.isEmpty && !memory.isFull)
        #expect(memory == (try CrossBatchMemory<Float>(embeddingSize: 2, capacity: 4)))
        #expect(try memory.enqueue(batch(2, rows: 1).converted(to: Float.self), labels: [3]) == [0])
    }

    @Test func codableRoundTrip() throws {
        var memory = try CrossBatchMemory<Float>(embeddingSize: 2, capacity: 4)
        try memory.enqueue(batch(1, rows: 3).converted(to: Float.self), labels: [0, 0, 1], items: [10, 11, 12])
        try memory.enqueue(batch(2, rows: 2).converted(to: Float.self), labels: [1, 2])
        let data = try JSONEncoder().encode(memory)
        let restored = try JSONDecoder().decode(CrossBatchMemory<Float>.self, from: data)
        #expect(restored == memory)
        #expect(restored.items == memory.items && restored.slotsOldestFirst == memory.slotsOldestFirst)
        let empty = try JSONDecoder().decode(CrossBatchMemory<Float>.self,
                                             from: JSONEncoder().encode(try CrossBatchMemory<Float>(embeddingSize: 3)))
        #expect(empty.count == 0 && empty.capacity == 4096)
        // Inconsistent data is refused.
        var text = String(decoding: data, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"capacity\":4", with: "\"capacity\":5")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CrossBatchMemory<Float>.self, from: Data(text.utf8)) }
    }

    /// With item ids, the stale copy of an item in the memory is neither a positive nor a
    /// negative of it; without ids only the fresh copy is excluded (PML's behaviour).
    @Test func neverPairsAnItemWithItsOwnCopy() throws {
        let loss = try Registry.builtin.loss("contrastive")
        let x0 = Problems.gaussian(rows: 4, columns: 3, seed: 5)
        let x1 = Problems.gaussian(rows: 2, columns: 3, seed: 6)
        // Step 1 enqueues items 0...3 (labels 0, 1, 2, 3: no positives at all).
        var withIds = try CrossBatchMemory<Double>(embeddingSize: 3, capacity: 16)
        _ = try withIds.loss(loss, x0, [0, 1, 2, 3], items: [0, 1, 2, 3])
        // Step 2: items 0 and 1 again (moved): their only same-label rows are their own copies.
        let output = try withIds.loss(loss, x1, [0, 1], items: [0, 1])
        #expect(output.subLosses.first { $0.name == "pos_loss" }?.value == 0)
        // The same through explicit tuples: negatives only, to every row of another item.
        let reference = withIds.embeddings, referenceLabels = withIds.labels
        let negatives = [(0, [1, 2, 3, 5]), (1, [0, 2, 3, 4])].flatMap { a, js in js.map { IndexPair(a, $0) } }
        let direct = try loss(x1, [0, 1], tuples: .pairs(positive: [], negative: negatives), reference: reference,
                              referenceLabels: referenceLabels)
        #expect(abs(direct.value - output.value) < 1e-12)
        #expect(direct.gradient == output.gradient)

        // Every miner gets the ids and its tuples never pair an item with its own copy.
        for spec in ["batch-all", "batch-hard", "multi-similarity", "cascade(miners=[batch-all, semi-hard])", "proxy-guided"] {
            var memory = try CrossBatchMemory<Double>(embeddingSize: 3, capacity: 16)
            let x = Problems.gaussian(rows: 6, columns: 3, seed: 9)
            _ = try memory.loss(loss, x, [0, 0, 1, 1, 2, 2], items: [0, 1, 2, 3, 4, 5], miner: Registry.builtin.miner(spec))
            let spy = RecordingMiner(try Registry.builtin.miner(spec))
            _ = try memory.loss(loss, x, [0, 0, 1, 1, 2, 2], items: [0, 1, 2, 3, 4, 5], miner: spy)
            let (items, referenceItems, tuples) = try #require(spy.seen.withLock { $0 })
            #expect(items == [0, 1, 2, 3, 4, 5] && referenceItems == memory.items, "\(spec)")
            let (positive, negative) = tuples.asPairs
            #expect((positive + negative).allSatisfy { items[$0.anchor] != referenceItems[$0.other] }, "\(spec)")
            #expect(!positive.isEmpty, "\(spec): no positive pair left to test with")
        }

        // Without ids the stale copy of an earlier batch is a positive, as in PML.
        var withoutIds = try CrossBatchMemory<Double>(embeddingSize: 3, capacity: 16)
        _ = try withoutIds.loss(loss, x0, [0, 1, 2, 3])
        let pml = try withoutIds.loss(loss, x1, [0, 1])
        #expect(pml.subLosses.first { $0.name == "pos_loss" }!.value > 0)
    }

    /// A miner that ignores item ids still cannot pair an item with its copies: the memory filters.
    @Test func filtersTuplesOfMinersThatIgnoreItemIds() throws {
        var memory = try CrossBatchMemory<Double>(embeddingSize: 3, capacity: 8)
        let x = Problems.gaussian(rows: 4, columns: 3, seed: 3)
        let loss = try Registry.builtin.loss("triplet-margin")
        let careless = ItemBlindMiner()
        let output = try memory.loss(loss, x, [0, 0, 1, 1], items: [7, 8, 9, 10], miner: careless)
        // ItemBlindMiner returns (a, a's own slot, n) triplets and one valid triplet; only the valid one is left.
        let direct = try loss(x, [0, 0, 1, 1], tuples: .triplets([Triplet(0, 1, 2)]), reference: memory.embeddings,
                              referenceLabels: memory.labels)
        #expect(abs(output.value - direct.value) < 1e-12)
    }

    @Test func errorsLeaveTheMemoryUnchanged() throws {
        var memory = try CrossBatchMemory<Double>(embeddingSize: 2, capacity: 4)
        try memory.enqueue(batch(1, rows: 3), labels: [0, 0, 1], items: [1, 2, 3])
        let before = memory
        let loss = try Registry.builtin.loss("contrastive")
        #expect(throws: SimileError.self) { try memory.loss(loss, batch(2, rows: 5), [0, 0, 0, 1, 1]) }  // larger than the memory
        #expect(throws: SimileError.self) { try memory.loss(loss, batch(2, rows: 2, columns: 3), [0, 1]) }  // width
        #expect(throws: SimileError.self) { try memory.loss(loss, batch(2, rows: 2), [0]) }  // labels
        #expect(throws: SimileError.self) { try memory.loss(loss, batch(2, rows: 2), [0, 1], items: [-1, 2]) }
        #expect(throws: SimileError.self) {
            try memory.loss(loss, Matrix(rows: 1, columns: 2, elements: [.nan, 0]), [0])
        }
        #expect(throws: SimileError.self) { try memory.loss(Registry.builtin.loss("n-pairs"), batch(2, rows: 2), [0, 1]) }
        // A failing miner: the batch it would have enqueued is taken out again.
        #expect(throws: SimileError.self) { try memory.loss(loss, batch(2, rows: 2), [0, 1], miner: FailingMiner()) }
        #expect(memory == before)
        do {
            _ = try memory.loss(Registry.builtin.loss("npairs"), batch(2, rows: 2), [0, 1])
        } catch {
            #expect("\(error)".contains("cross-batch memory"), "\(error)")
        }
        #expect(throws: SimileError.self) { try CrossBatchMemory<Float>(embeddingSize: 0) }
        #expect(throws: SimileError.self) { try CrossBatchMemory<Float>(embeddingSize: 4, capacity: 0) }
    }

    /// Every loss that takes reference embeddings and tuples runs against the memory, with and
    /// without a miner, as the queue wraps around; every other loss is refused by name.
    @Test func everyPairLossAndMinerWorksWithTheMemory() throws {
        let registry = Registry.builtin
        var used = 0
        for descriptor in registry.descriptors(.loss) {
            var parameters = (descriptor.examples.first ?? []).filter { !$0.hasPrefix("embedding-size=") }
            if descriptor.parameter(named: "embedding-size") != nil { parameters.append("embedding-size=4") }
            let loss = try registry.loss(descriptor.name, parameters)
            let labels = [0, 0, 1, 1, 2, 2]
            guard loss is any ReferenceCapable, loss is any TupleCapable else {
                var memory = try CrossBatchMemory<Double>(embeddingSize: 4, capacity: 16)
                #expect(throws: SimileError.self, "\(descriptor.name)") {
                    try memory.loss(loss, Problems.gaussian(rows: 6, columns: 4, seed: 1), labels)
                }
                continue
            }
            used += 1
            for miner in [nil, "batch-hard", "multi-similarity", "pair-margin", "mix(warmup=0)"] {
                var memory = try CrossBatchMemory<Double>(embeddingSize: 4, capacity: 16)
                let built = try miner.map { try registry.miner($0) }
                for step in 0..<4 {
                    let x = Problems.gaussian(rows: 6, columns: 4, seed: UInt64(10 * step + 1))
                    let output = try memory.loss(loss, x, labels, items: Array((6 * step)..<(6 * step + 6)), miner: built,
                                                 context: MiningContext(epoch: 1, step: UInt64(step)))
                    #expect(output.value.isFinite && output.gradient.rows == 6, "\(descriptor.name) with \(miner ?? "all pairs")")
                }
            }
        }
        #expect(used >= 10)
    }

    /// Works in Float too, and a trainable loss gets its parameter gradients.
    @Test func floatAndTrainableLoss() throws {
        var memory = try CrossBatchMemory<Float>(embeddingSize: 5, capacity: 32)
        let loss = try Registry.builtin.loss("margin")
        for step in 0..<4 {
            let x = Problems.gaussian(rows: 8, columns: 5, seed: UInt64(step)).converted(to: Float.self)
            let output = try memory.loss(loss, x, [0, 0, 1, 1, 2, 2, 3, 3], items: Array((8 * step)..<(8 * step + 8)),
                                         miner: Registry.builtin.miner("batch-hard"), context: MiningContext(step: UInt64(step)))
            #expect(output.value.isFinite && output.gradient.rows == 8)
        }
        #expect(memory.count == 32 && memory.isFull)
    }
}

/// Records what a wrapped miner was given and returned.
struct RecordingMiner: Miner {
    static let descriptor = ComponentDescriptor(kind: .miner, name: "spy", summary: "Test miner.")
    let inner: any Miner
    let seen = LockedState<([Int], [Int], Tuples)?>(nil)
    init(_ arguments: Arguments) throws { inner = try arguments.registry.miner("batch-all") }
    init(_ inner: any Miner) { self.inner = inner }
    func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        let tuples = try inner.mine(input)
        seen.withLock { $0 = (input.context.batchItems ?? [], input.context.referenceItems ?? [], tuples) }
        return tuples
    }
}

/// Pairs every anchor with its own fresh slot as positive (ignoring item ids), plus one valid triplet.
struct ItemBlindMiner: Miner {
    static let descriptor = ComponentDescriptor(kind: .miner, name: "careless", summary: "Test miner.")
    init(_ arguments: Arguments) throws {}
    init() {}
    func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        // The memory was empty, so batch row i sits in slot i.
        .triplets([Triplet(0, 0, 2), Triplet(1, 1, 3), Triplet(0, 1, 2), Triplet(2, 2, 0)])
    }
}

struct FailingMiner: Miner {
    static let descriptor = ComponentDescriptor(kind: .miner, name: "failing", summary: "Test miner.")
    init(_ arguments: Arguments) throws {}
    init() {}
    func mine<S: SimileFloat>(_ input: MinerInput<S>) throws -> Tuples {
        throw SimileError.invalidInput("failing miner")
    }
}
