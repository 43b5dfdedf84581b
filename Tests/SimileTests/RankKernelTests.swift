import CSimileKernels
import Testing
@testable import Simile

/// The C kernels of rank counting (`simile_rank_fill_table`, `simile_rank_tally_row`,
/// `simile_rank_tally_lanes`) against their definitions written out here, on values with many
/// exact ties: pos(j) = #{t : key(p_t) < key(j)}, keys ordered by distance, then index.
struct RankKernelTests {
    /// Sorted thresholds for reference indices drawn from 0..<m, at distances from `levels`
    /// values (so ties between thresholds, and with the other entries, are common).
    static func thresholds(_ r: Int, levels: [Float], m: Int, generator: inout SeededGenerator) -> [UInt64] {
        let indices = Array((0..<m).shuffled(using: &generator).prefix(r))
        return indices.map { NearestSelection.key(levels.randomElement(using: &generator)!, $0) }.sorted()
    }

    /// The table that `simile_rank_fill_table` must produce, entry by entry.
    static func expectedTable(cells: [UInt32], beyond: UInt32) -> [UInt32] {
        (0...beyond).map { c in
            let below = UInt32(cells.filter { $0 < c }.count)
            return cells.contains(c) ? below | SIMILE_RANK_OCCUPIED : below
        }
    }

    /// pos of a value at reference index j among sorted thresholds.
    static func position(_ value: Float, _ j: Int, _ keys: [UInt64]) -> Int {
        let key = NearestSelection.key(value, j)
        return keys.filter { $0 < key }.count
    }

    /// The four interleaved copies of the counts, summed.
    static func merged(_ counts: [Int32], _ r: Int) -> [Int32] {
        (0...r).map { t in (0..<RelevantRanks.lanes).reduce(Int32(0)) { $0 + counts[$1 * (r + 1) + t] } }
    }

    @Test func fillTableMatchesItsDefinition() {
        var generator = SeededGenerator(seed: 21)
        for trial in 0..<60 {
            let r = trial < 10 ? trial + 1 : Int.random(in: 1...300, using: &generator)
            let levels = (0..<Int.random(in: 1...50, using: &generator)).map { _ in Float(Int.random(in: 0...400, using: &generator)) * 0.25 }
            let keys = Self.thresholds(r, levels: levels, m: 2 * r + 5, generator: &generator)
            let grid = keys.withUnsafeBufferPointer { RelevantRanks.grid(keys: $0.baseAddress!, count: r) }
            let cells = keys.map { simile_rank_cell(NearestSelection.value($0), grid.lowest, grid.highest, grid.scale, grid.top) }
            if grid.lowest < grid.highest { #expect(cells.first == 0 && cells.last == UInt32(grid.top) - 1, "trial \(trial)") }
            // Stale entries must not survive the fill.
            var table = [UInt32](repeating: 0xDEAD_BEEF, count: RelevantRanks.tableCapacity(for: r))
            simile_rank_fill_table(&table, keys, r, grid)
            #expect(Array(table[0...Int(UInt32(grid.top))]) == Self.expectedTable(cells: cells, beyond: UInt32(grid.top)), "trial \(trial)")
        }
    }

    @Test func rowTallyCountsEveryPosition() {
        var generator = SeededGenerator(seed: 22)
        for trial in 0..<60 {
            let m = Int.random(in: 1...700, using: &generator)
            let r = Int.random(in: 1...min(m, 120), using: &generator)
            let levels = (0..<Int.random(in: 1...30, using: &generator)).map { _ in Float(Int.random(in: 0...60, using: &generator)) * 0.5 }
            let first = Int.random(in: 0...5000, using: &generator)
            let keys = Self.thresholds(r, levels: levels, m: m, generator: &generator).map { key in
                NearestSelection.key(NearestSelection.value(key), NearestSelection.index(key) + first)
            }
            let grid = keys.withUnsafeBufferPointer { RelevantRanks.grid(keys: $0.baseAddress!, count: r) }
            var table = [UInt32](repeating: 0, count: RelevantRanks.tableCapacity(for: r))
            simile_rank_fill_table(&table, keys, r, grid)

            // Distances given as they are, some beyond every threshold or +∞.
            let values: [Float] = (0..<m).map { _ in
                let u = Int.random(in: 0..<20, using: &generator)
                return u == 0 ? .infinity : u == 1 ? 1000 : levels.randomElement(using: &generator)!
            }
            var expected = [Int32](repeating: 0, count: r + 1)
            for (s, value) in values.enumerated() { expected[Self.position(value, first + s, keys)] += 1 }
            var counts = [Int32](repeating: 0, count: RelevantRanks.lanes * (r + 1))
            simile_rank_tally_row(values, nil, nil, 0, 0, m, first, grid, table, keys, r, &counts, nil)
            #expect(Self.merged(counts, r) == expected, "trial \(trial) values")

            // The same distances from products and norms, with labels: same-label entries do not count.
            let norms: [Float] = (0..<m).map { _ in Float(Int.random(in: 0...8, using: &generator)) }
            let own = Float(Int.random(in: 0...8, using: &generator))
            let products = (0..<m).map { values[$0] - own - norms[$0] }
            let labels: [Int32] = (0..<m).map { _ in Int32(Int.random(in: 0..<4, using: &generator)) }
            var distanceExpected = [Int32](repeating: 0, count: r + 1)
            var clampedExpected = [Float](repeating: 0, count: m)
            for s in 0..<m {
                let value = max(0, own + norms[s] + products[s])
                clampedExpected[s] = value
                distanceExpected[Self.position(labels[s] == 2 ? .infinity : value, first + s, keys)] += 1
            }
            var clamped = [Float](repeating: -1, count: m)
            counts = [Int32](repeating: 0, count: RelevantRanks.lanes * (r + 1))
            simile_rank_tally_row(products, norms, labels, own, 2, m, first, grid, table, keys, r, &counts, &clamped)
            #expect(Self.merged(counts, r) == distanceExpected, "trial \(trial) distances")
            #expect(clamped.elementsEqual(clampedExpected) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "trial \(trial) clamped")
            // Without the clamped distances (a separately compiled loop).
            counts = [Int32](repeating: 0, count: RelevantRanks.lanes * (r + 1))
            simile_rank_tally_row(products, norms, labels, own, 2, m, first, grid, table, keys, r, &counts, nil)
            #expect(Self.merged(counts, r) == distanceExpected, "trial \(trial) distances, not stored")
        }
    }

    @Test func laneTallyCountsEachColumn() {
        var generator = SeededGenerator(seed: 23)
        for trial in 0..<30 {
            let rows = Int.random(in: 1...150, using: &generator)
            let ldc = 16 + 16 * Int.random(in: 0...2, using: &generator)
            let firstRow = Int32(Int.random(in: 0...300, using: &generator))
            let levels = (0..<Int.random(in: 1...25, using: &generator)).map { _ in Float(Int.random(in: 0...40, using: &generator)) * 0.5 }
            let rowNorms: [Float] = (0..<rows).map { _ in Float(Int.random(in: 0...6, using: &generator)) }
            let rowLabels: [Int32] = (0..<rows).map { _ in Int32(Int.random(in: 0..<5, using: &generator)) }
            // Distances from the levels, written as products: distance − row norm − column norm.
            let laneNorms: [Float] = (0..<16).map { _ in Float(Int.random(in: 0...6, using: &generator)) }
            var products = [Float](repeating: 0, count: rows * ldc + 16)
            for i in 0..<rows {
                for l in 0..<16 { products[i * ldc + l] = levels.randomElement(using: &generator)! - rowNorms[i] - laneNorms[l] }
            }
            // Lanes with thresholds (some left out: an unused column), some below the diagonal.
            let activeLanes = (0..<16).filter { _ in Int.random(in: 0..<4, using: &generator) > 0 }
            var keys = [[UInt64]](repeating: [0], count: 16), grids = [RelevantRanks.Grid?](repeating: nil, count: 16)
            var labels = [Int32](repeating: -1, count: 16), after = [Int32](repeating: .min, count: 16)
            let stride = RelevantRanks.tableCapacity(for: 200)
            var tables = [UInt32](repeating: 0, count: 16 * stride)
            for l in activeLanes {
                let r = Int.random(in: 1...min(rows + 3, 200), using: &generator)
                keys[l] = Self.thresholds(r, levels: levels, m: rows + 3, generator: &generator).map { key in
                    NearestSelection.key(NearestSelection.value(key), NearestSelection.index(key) + Int(firstRow))
                }
                let grid = keys[l].withUnsafeBufferPointer { RelevantRanks.grid(keys: $0.baseAddress!, count: r) }
                grids[l] = grid
                tables.withUnsafeMutableBufferPointer { simile_rank_fill_table($0.baseAddress! + l * stride, keys[l], r, grid) }
                labels[l] = Int32(Int.random(in: 0..<5, using: &generator))
                if Bool.random(using: &generator) { after[l] = firstRow + Int32(Int.random(in: 0..<rows, using: &generator)) }
            }
            var lowest = [Float](repeating: 0, count: 16), highest = lowest, scale = lowest
            var top = [Float](repeating: 1, count: 16)
            for l in activeLanes {
                lowest[l] = grids[l]!.lowest
                highest[l] = grids[l]!.highest
                scale[l] = grids[l]!.scale
                top[l] = grids[l]!.top
            }
            let keyCounts = (0..<16).map { activeLanes.contains($0) ? keys[$0].count : 0 }
            let active = activeLanes.map(Int32.init)

            // The kernel reads pointers that must outlive the call: copies it owns here.
            var owned: [UnsafeMutableRawPointer] = []
            func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
                let pointer = UnsafeMutablePointer<T>.allocate(capacity: max(1, array.count))
                pointer.initialize(from: array, count: array.count)
                owned.append(UnsafeMutableRawPointer(pointer))
                return pointer
            }
            defer { owned.forEach { $0.deallocate() } }
            let countPointers = (0..<16).map { copy([Int32](repeating: 0, count: RelevantRanks.lanes * (keyCounts[$0] + 1))) }
            var lanes = simile_rank_lanes(
                norm: copy(laneNorms), label: copy(labels), after: copy(after), lowest: copy(lowest),
                highest: copy(highest), scale: copy(scale), top: copy(top), tables: copy(tables), table_stride: stride,
                active: copy(active), active_count: active.count,
                keys: copy(keys.map { Optional(UnsafePointer(copy($0))) }), key_count: copy(keyCounts),
                counts: copy(countPointers.map { Optional($0) }))
            simile_rank_tally_lanes(products, ldc, rows, firstRow, rowNorms, rowLabels, &lanes)
            let counts = (0..<16).map { Array(UnsafeBufferPointer(start: countPointers[$0], count: RelevantRanks.lanes * (keyCounts[$0] + 1))) }
            for l in activeLanes {
                let r = keys[l].count
                var expected = [Int32](repeating: 0, count: r + 1)
                for i in 0..<rows {
                    let index = Int(firstRow) + i
                    let excluded = rowLabels[i] == labels[l] || Int32(index) <= after[l]
                    let value = max(0, rowNorms[i] + laneNorms[l] + products[i * ldc + l])
                    expected[Self.position(excluded ? .infinity : value, index, keys[l])] += 1
                }
                #expect(Self.merged(counts[l], r) == expected, "trial \(trial) lane \(l)")
            }
        }
    }
}
