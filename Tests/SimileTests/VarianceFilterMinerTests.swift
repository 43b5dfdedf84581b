import Dispatch
import Foundation
import Testing
@testable import Simile

/// variance-filter: a negative that stays close over epochs is dropped after the stated number
/// of epochs and not before; a far observation forgets it; the state round-trips.
struct VarianceFilterMinerTests {
    let registry = Registry.builtin
    static let labels = [0, 0, 1, 1, 2, 2]
    static let items = [100, 101, 102, 103, 104, 105]

    /// Row 2 (item 102, label 1) sits almost on row 0 (item 100, label 0): a noisy pair when
    /// `close`; every other negative is far (unit vectors at right angles, or nearly).
    static func batch(close: Bool = true) -> Matrix<Double> {
        var x = Matrix<Double>(rows: 6, columns: 6)
        x[0, 0] = 1
        x[1, 0] = 1
        x[1, 1] = 0.5
        if close {
            x[2, 0] = 1
            x[2, 2] = 0.01
        } else {
            x[2, 2] = 1
        }
        x[3, 3] = 1
        x[4, 4] = 1
        x[5, 5] = 1
        return x
    }

    static func input(epoch: Int, close: Bool = true, items: [Int]? = items, order: [Int] = Array(0..<6)) -> MinerInput<Double> {
        let x = batch(close: close).gatherRows(order)
        return MinerInput(embeddings: x, labels: order.map { labels[$0] },
                          context: MiningContext(epoch: epoch, step: UInt64(epoch), referenceItems: nil,
                                                 batchItems: items.map { ids in order.map { ids[$0] } }))
    }

    /// batch-all's triplets of an input, less those whose negative pairs rows holding items 100 and 102.
    func expected(_ input: MinerInput<Double>, dropped: Bool) throws -> Tuples {
        let all = try registry.miner("batch-all").mine(input)
        guard dropped, case let .triplets(list) = all else { return all }
        let ids = input.context.batchItems ?? Self.items
        return .triplets(list.filter { Set([ids[$0.anchor], ids[$0.negative]]) != Set([100, 102]) })
    }

    @Test func dropsAPersistentlyCloseNegativeAfterTheStatedEpochsAndNotBefore() throws {
        let filter = try registry.miner("variance-filter(miner=batch-all, epsilon=0.2, epochs=3)") as! VarianceFilterMiner
        // Epoch 1 (twice: counted once), epoch 2: kept.
        for epoch in [1, 1, 2] {
            let input = Self.input(epoch: epoch)
            #expect(try filter.mine(input) == expected(input, dropped: false), "epoch \(epoch)")
        }
        #expect(filter.closeEpochs(anchorKey: 100, referenceKey: 102) == 2)
        #expect(filter.closeEpochs(anchorKey: 102, referenceKey: 100) == 2)
        #expect(filter.trackedPairs == 2, "only the close pair, in both directions")
        #expect(filter.keysByRowIndex == false)
        // Epoch 3, with the rows in another order: the items are recognised and the pair dropped.
        let shuffled = Self.input(epoch: 3, order: [3, 2, 5, 0, 4, 1])
        let result = try filter.mine(shuffled)
        #expect(try result == expected(shuffled, dropped: true))
        #expect(try result != expected(shuffled, dropped: false))
        // Still close later in epoch 3 and in epoch 4: still dropped.
        #expect(try filter.mine(Self.input(epoch: 4)) == expected(Self.input(epoch: 4), dropped: true))
        // A far observation forgets the pair; close again, it starts over.
        #expect(try filter.mine(Self.input(epoch: 5, close: false)) == expected(Self.input(epoch: 5, close: false), dropped: false))
        #expect(filter.closeEpochs(anchorKey: 100, referenceKey: 102) == 0 && filter.trackedPairs == 0)
        for epoch in [6, 7] {
            #expect(try filter.mine(Self.input(epoch: epoch)) == expected(Self.input(epoch: epoch), dropped: false))
        }
        #expect(try filter.mine(Self.input(epoch: 9)) == expected(Self.input(epoch: 9), dropped: true),
                "epochs without meeting do not reset the count")
    }

    /// The pair lives in the reference (a cross-batch memory): keys are the reference item ids.
    @Test func keysReferenceRowsByTheirItemIds() throws {
        let filter = try registry.miner("variance-filter(miner=batch-hard, epsilon=0.2, epochs=2)")
        let x = Self.batch()
        for epoch in 1...3 {
            // The reference holds the batch rows in a different order each epoch.
            let order = epoch % 2 == 0 ? [5, 4, 3, 2, 1, 0] : [1, 3, 5, 0, 2, 4]
            let context = MiningContext(epoch: epoch, referenceItems: order.map { Self.items[$0] }, batchItems: Self.items)
            let input = MinerInput(embeddings: x, labels: Self.labels, reference: x.gatherRows(order),
                                   referenceLabels: order.map { Self.labels[$0] }, context: context)
            let tuples = try filter.mine(input)
            let hard = try registry.miner("batch-hard").mine(input)
            let noisy = tuples.asPairs.negative.contains { $0.anchor == 0 && context.referenceItems![$0.other] == 102 }
            #expect(noisy == (epoch < 2), "epoch \(epoch)")
            #expect(hard.asPairs.negative.contains { $0.anchor == 0 && context.referenceItems![$0.other] == 102 })
            try StrategyTesting.check(tuples, input)
        }
    }

    @Test func withoutIdsItKeysByRowAndSaysSo() throws {
        let filter = try registry.miner("variance-filter(miner=batch-all, epochs=2)") as! VarianceFilterMiner
        #expect(filter.keysByRowIndex == nil)
        _ = try filter.mine(Self.input(epoch: 1, items: nil))
        #expect(filter.keysByRowIndex == true)
        #expect(filter.closeEpochs(anchorKey: 0, referenceKey: 2) == 1)
        #expect(try filter.mine(Self.input(epoch: 2, items: nil)) == expected(Self.input(epoch: 2, items: nil), dropped: true))
        do {
            _ = try filter.mine(Self.input(epoch: 3))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("item ids") && "\(error)".contains("reset"), "\(error)")
        }
        filter.reset()
        #expect(filter.keysByRowIndex == nil)
        _ = try filter.mine(Self.input(epoch: 3))
        #expect(filter.keysByRowIndex == false)
    }

    @Test func stateRoundTripsDeterministically() throws {
        let spec = "variance-filter(miner=mix(hard=batch-hard, otherwise=batch-all, warmup=0), epsilon=0.2, epochs=3)"
        let first = try registry.miner(spec) as! VarianceFilterMiner
        let second = try registry.miner(spec) as! VarianceFilterMiner
        for epoch in [1, 2] {
            _ = try first.mine(Self.input(epoch: epoch))
            _ = try second.mine(Self.input(epoch: epoch))
        }
        let saved = try first.state()
        #expect(try second.state() == saved, "the same history gives the same bytes")
        let restored = try registry.miner(spec) as! VarianceFilterMiner
        try restored.restore(saved)
        #expect(try restored.state() == saved)
        #expect(restored.trackedPairs == 2 && restored.closeEpochs(anchorKey: 100, referenceKey: 102) == 2)
        // The nested miner's state came back too.
        #expect((restored.miner as! MixMiner).recentHardness == (first.miner as! MixMiner).recentHardness)
        #expect((restored.miner as! MixMiner).recentHardness.count == 2)
        let next = Self.input(epoch: 3)
        #expect(try restored.mine(next) == first.mine(next))
        // Corrupt or foreign bytes are refused, and leave the state as it was.
        let before = try restored.state()
        #expect(throws: SimileError.self) { try restored.restore(Array(saved.dropLast(3))) }
        #expect(throws: SimileError.self) { try restored.restore(saved + [7]) }
        #expect(throws: SimileError.self) { try restored.restore(try (registry.miner("mix") as! MixMiner).state()) }
        #expect(throws: SimileError.self) { try restored.restore([]) }
        #expect(try restored.state() == before)
        restored.reset()
        #expect(restored.trackedPairs == 0 && (restored.miner as! MixMiner).recentHardness.isEmpty)
        // After a reset the count starts over: at epoch 3 the noisy negative (row 2 for anchor 0) stays.
        let afterReset = try restored.mine(next)
        #expect(afterReset.asPairs.negative.contains(IndexPair(0, 2)))
        #expect(restored.closeEpochs(anchorKey: 100, referenceKey: 102) == 1)
    }

    @Test func capacityBoundsTheHistory() throws {
        // Everything close: every negative pair is tracked, until the capacity forgets the oldest.
        let x = Matrix<Double>(rows: 6, columns: 2, elements: [1, 0, 1, 0.001, 1, 0.002, 1, 0.003, 1, 0.004, 1, 0.005])
        let filter = try registry.miner("variance-filter(miner=batch-all, epochs=2, capacity=10)") as! VarianceFilterMiner
        for epoch in 1...3 {
            _ = try filter.mine(MinerInput(embeddings: x, labels: Self.labels,
                                           context: MiningContext(epoch: epoch, batchItems: Self.items)))
            #expect(filter.trackedPairs <= 10)
        }
        #expect(filter.trackedPairs > 0)
    }

    /// Concurrent calls in one epoch: no crash, and the pair is counted once.
    @Test func concurrentMiningIsSafe() throws {
        let filter = try registry.miner("variance-filter(miner=batch-all, epochs=3)") as! VarianceFilterMiner
        let failures = LockedState(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                _ = try filter.mine(Self.input(epoch: 1))
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(filter.trackedPairs == 2 && filter.closeEpochs(anchorKey: 100, referenceKey: 102) == 1)
    }
}
