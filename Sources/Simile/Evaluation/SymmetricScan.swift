import CSimileKernels

/// Leave-one-out evaluation from half of the distance matrix: the rank of every same-label
/// reference in each query's full ranking (PML's k = all, or any k counted rather than
/// selected) and the exact L2 pair statistics.
///
/// In leave-one-out the distance between i and j serves query i and query j alike, so only the
/// tiles (I, J) with I ≤ J of the N×N matrix are computed, each by one BLAS product
/// (‖x_i‖² + ‖x_j‖² − 2x_i·x_j clamped at 0, as `DistanceScan` computes them). A tile's rows are
/// counted for their own queries (the row side, `simile_rank_tally_row`) and its columns for
/// theirs (the column side, `simile_rank_tally_lanes`: 16 columns at a time, so that every load
/// of 16 distances serves 16 queries). A diagonal tile needs only its lower triangle (one
/// symmetric rank-k product): row i counts the columns j < i, column j the rows i > j. The
/// counting kernels are C, compiled for AVX-512, AVX2 and the baseline and chosen at run time.
///
/// Counting needs each query's thresholds before its first tile, so they come first, class by
/// class: query i's distances to the other members of its class (one small product per class),
/// sorted by key as in `RelevantRanks`. The tiles then skip same-label pairs and count, for each
/// query, how many other-label references fall below each threshold:
/// rank(p_t) = t + 1 + #{j of another label : key(j) < key(p_t)}, with the grid and table of
/// `RelevantRanks` (each query's grid is fixed by its thresholds; its table is refilled per tile
/// from its thresholds by `simile_rank_fill_table`). The counts are integers, so the ranks
/// do not depend on the order of the tiles, the tile size, the number of cores or the
/// instruction set.
///
/// The pair statistics take each unordered pair once, on the row side (pairs i < j), summed per
/// query around a per-query shift (the root of its mean squared distance), then merged in query
/// order: the same result on any number of cores. The same-label sums come from the class
/// products.
///
/// Memory: 12 bytes per same-label (query, reference) pair (the thresholds and the counts;
/// `stateBytes`), one tile of `tileRows`² distances (16 MiB), and scratch per task
/// (16 tables and counts for the column side).
struct SymmetricScan {
    /// Rows (and columns) per tile: 16 MiB of distances. Each query's table is refilled in
    /// every tile it takes part in, so larger tiles fill less often (2048 rows measured 4 %
    /// faster than 1024 at N = 10,000, D = 128).
    static let defaultTileRows = 2048
    /// The most bytes the thresholds and counts may take; the streaming scan is used above it.
    static let stateBudgetBytes = 128 << 20
    /// Query rows per row-side task.
    fileprivate static let rowGroup = 16
    /// Columns per column-side task: one `SIMD16` of distances per tile row.
    fileprivate static let strip = 16

    struct Output {
        /// Query i's ranks, ascending: `ranks[rankStart[i] ..< rankStart[i] + R_i]`.
        var ranks: [Int32]
        var rankStart: [Int]
        /// Moments of all the pair distances (each pair in both orders, as the streaming scan
        /// counts them), with the same-label count and sum.
        var moments: DistanceMoments
    }

    /// Bytes of the thresholds and the counts that ranking needs: 12 per same-label pair, and the
    /// grids, sums and rank offsets per query.
    static func stateBytes(_ labels: EvaluationLabels) -> Int {
        var pairs = 0
        for c in 0..<labels.classCount {
            let size = labels.referenceStart[c + 1] - labels.referenceStart[c]
            pairs += size * max(0, size - 1)
        }
        return 12 * pairs + (MemoryLayout<RelevantRanks.Grid>.stride + 40) * labels.queryClass.count
    }

    /// - Parameters:
    ///   - x: the embeddings, queries and references at once (leave-one-out).
    ///   - ranking: count the ranks (otherwise only the statistics).
    ///   - pairStatistics: accumulate the moments of the pair distances.
    static func run(_ x: Matrix<Float>, labels: EvaluationLabels, ranking: Bool, pairStatistics: Bool,
                    tileRows: Int = defaultTileRows) -> Output {
        let n = x.rows, d = x.columns
        let norms = DistanceScan.squaredNorms(x)
        let classOf = labels.queryClass
        let relevantCounts = (0..<n).map { labels.relevantCount(query: $0) }
        // Query i's sorted thresholds start at keyStart[i]; its R_i + 1 counts at keyStart[i] + i.
        var keyStart = [Int](repeating: 0, count: n + 1)
        if ranking {
            for i in 0..<n { keyStart[i + 1] = keyStart[i] + relevantCounts[i] }
        }
        var counts = [Int32](repeating: 0, count: ranking ? keyStart[n] + n : 1)
        let shifts = pairStatistics ? Self.shifts(x, norms: norms) : []
        let maxRelevant = ranking ? (relevantCounts.max() ?? 0) : 0
        // Per query: its thresholds and grid; the sum of its same-label distances, and the count,
        // the shifted sum and the shifted sum of squares of its pair distances.
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, keyStart[n]))
        let grids = UnsafeMutablePointer<RelevantRanks.Grid>.allocate(capacity: n)
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: 4 * n)
        sums.initialize(repeating: 0, count: 4 * n)
        defer {
            keys.deallocate()
            grids.deallocate()
            sums.deallocate()
        }
        let intraSums = sums, pairs = sums + n, first = sums + 2 * n, second = sums + 3 * n

        x.elements.withUnsafeBufferPointer { xs in
            norms.withUnsafeBufferPointer { ns in
                classOf.withUnsafeBufferPointer { cs in
                    relevantCounts.withUnsafeBufferPointer { rs in
                        keyStart.withUnsafeBufferPointer { ks in
                            shifts.withUnsafeBufferPointer { shiftBuffer in
                                counts.withUnsafeMutableBufferPointer { countBuffer in
                                    let context = Context(
                                        x: xs.baseAddress!, n: n, d: d, norms: ns.baseAddress!, classOf: cs.baseAddress!,
                                        relevant: rs.baseAddress!, keyStart: ks.baseAddress!, keys: keys, grids: grids,
                                        counts: countBuffer.baseAddress!, intraSums: intraSums, first: first,
                                        second: second, pairs: pairs, shifts: shiftBuffer.baseAddress, ranking: ranking,
                                        pairStatistics: pairStatistics, maxRelevant: maxRelevant)
                                    context.sameLabel(labels)
                                    context.tiles(tileRows: max(1, tileRows))
                                }
                            }
                        }
                    }
                }
            }
        }

        // ranks[t] = t + 1 + #{other-label references below threshold t}, in place of the counts.
        var rankStart = [Int](repeating: 0, count: n)
        if ranking {
            for i in 0..<n {
                let base = keyStart[i] + i
                rankStart[i] = base
                var running: Int32 = 0
                for t in 0..<relevantCounts[i] {
                    running &+= counts[base + t]
                    counts[base + t] = Int32(t + 1) &+ running
                }
            }
        }
        var moments = DistanceMoments()
        if pairStatistics {
            var unordered = DistanceMoments()
            for i in 0..<n where pairs[i] > 0 {
                let m = pairs[i]
                unordered.merge(DistanceMoments(count: m, mean: Double(shifts[i]) + first[i] / m,
                                                squaredDeviations: max(0, second[i] - first[i] * first[i] / m)))
            }
            var intraSum = 0.0
            for i in 0..<n { intraSum += intraSums[i] }
            let intraCount = relevantCounts.reduce(0, +)
            moments = DistanceMoments(count: 2 * unordered.count, mean: unordered.mean,
                                      squaredDeviations: 2 * unordered.squaredDeviations,
                                      intraCount: Double(intraCount), intraSum: intraSum)
        }
        return Output(ranks: counts, rankStart: rankStart, moments: moments)
    }

    /// Per query, the root of its mean squared distance to all the embeddings,
    /// ‖x_i‖² + mean‖x‖² − 2x_i·x̄: close to its mean distance, the shift of its sums.
    private static func shifts(_ x: Matrix<Float>, norms: [Float]) -> [Float] {
        let n = x.rows, d = x.columns
        var mean = [Double](repeating: 0, count: d)
        var meanNorm = 0.0
        x.elements.withUnsafeBufferPointer { xs in
            for i in 0..<n {
                let row = xs.baseAddress! + i * d
                for t in 0..<d { mean[t] += Double(row[t]) }
                meanNorm += Double(norms[i])
            }
        }
        for t in 0..<d { mean[t] /= Double(n) }
        meanNorm /= Double(n)
        return x.elements.withUnsafeBufferPointer { xs in
            (0..<n).map { i in
                let row = xs.baseAddress! + i * d
                var dot = 0.0
                for t in 0..<d { dot += Double(row[t]) * mean[t] }
                return Float(max(0, Double(norms[i]) + meanNorm - 2 * dot).squareRoot())
            }
        }
    }

    /// The buffers of one run, shared by its tasks (each task writes only its own queries' entries).
    private struct Context: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let n: Int
        let d: Int
        let norms: UnsafePointer<Float>
        let classOf: UnsafePointer<Int32>
        let relevant: UnsafePointer<Int>
        let keyStart: UnsafePointer<Int>
        let keys: UnsafeMutablePointer<UInt64>
        /// Each query's grid (fixed by its thresholds).
        let grids: UnsafeMutablePointer<RelevantRanks.Grid>
        let counts: UnsafeMutablePointer<Int32>
        let intraSums: UnsafeMutablePointer<Double>
        let first: UnsafeMutablePointer<Double>
        let second: UnsafeMutablePointer<Double>
        let pairs: UnsafeMutablePointer<Double>
        let shifts: UnsafePointer<Float>?
        let ranking: Bool
        let pairStatistics: Bool
        let maxRelevant: Int

        /// Same-label distances, class by class (in batches of up to 2²² distances): each query's
        /// sorted thresholds and the sum of its same-label distances.
        func sameLabel(_ labels: EvaluationLabels) {
            let classCount = labels.classCount
            let batchLimit = 1 << 22
            labels.referenceStart.withUnsafeBufferPointer { startBuffer in
                labels.referenceRows.withUnsafeBufferPointer { memberBuffer in
                    let starts = SendableConstPointer(startBuffer.baseAddress!)
                    let rows = SendableConstPointer(memberBuffer.baseAddress!)
                    let classStart = starts.pointer, members = rows.pointer
                    var c = 0
                    while c < classCount {
                        // Classes c..<end, whose products take `total` distances.
                        var end = c, total = 0
                        var productStart: [Int] = []
                        while end < classCount {
                            let size = classStart[end + 1] - classStart[end]
                            if end > c && total + size * size > batchLimit { break }
                            productStart.append(total)
                            total += size * size
                            end += 1
                        }
                        let products = UnsafeMutablePointer<Float>.allocate(capacity: max(1, total))
                        defer { products.deallocate() }
                        var packed = [Float]()
                        for e in c..<end {
                            let size = classStart[e + 1] - classStart[e]
                            guard size >= 2 else { continue }
                            packed.removeAll(keepingCapacity: true)
                            for s in classStart[e]..<classStart[e + 1] {
                                let row = x + Int(members[s]) * d
                                packed.append(contentsOf: UnsafeBufferPointer(start: row, count: d))
                            }
                            packed.withUnsafeBufferPointer { p in
                                Float.gemm(transposeA: false, transposeB: true, m: size, n: size, k: d, alpha: -2,
                                           a: p.baseAddress!, lda: d, b: p.baseAddress!, ldb: d, beta: 0,
                                           c: products + productStart[e - c], ldc: size)
                            }
                        }
                        // Each member of these classes: its thresholds and same-label sum.
                        let from = classStart[c], to = classStart[end]
                        let batch = c
                        let offsets = productStart
                        let productPointer = SendableConstPointer(UnsafePointer(products))
                        Parallel.forEach(to - from, grain: 16) { range in
                            let classStart = starts.pointer, members = rows.pointer
                            var e = batch
                            for local in range {
                                let s = from + local
                                while classStart[e + 1] <= s { e += 1 }
                                let size = classStart[e + 1] - classStart[e]
                                guard size >= 2 else { continue }
                                let a = s - classStart[e]
                                let i = Int(members[s])
                                let row = productPointer.pointer + offsets[e - batch] + a * size
                                let own = norms[i]
                                let out = keys + keyStart[i]
                                var t = 0
                                var sum = 0.0
                                for b in 0..<size where b != a {
                                    let q = Int(members[classStart[e] + b])
                                    let value = own + norms[q] + row[b]
                                    let squared = value > 0 ? value : 0
                                    if ranking {
                                        out[t] = NearestSelection.key(squared, q)
                                        t += 1
                                    }
                                    if pairStatistics { sum += Double(squared.squareRoot()) }
                                }
                                if ranking && t > 0 {
                                    NearestSelection.sort(out, t)
                                    grids[i] = RelevantRanks.grid(keys: out, count: t)
                                }
                                intraSums[i] = sum
                            }
                        }
                        c = end
                    }
                }
            }
        }

        /// Every tile (I, J) with I ≤ J: one product, then the row and column sides in parallel.
        func tiles(tileRows: Int) {
            let side = min(tileRows, n)
            // Rows padded to whole strips plus one more, so that the row stride is not a power of
            // two (the column side reads down the rows; a power-of-two stride would map every
            // row to the same cache sets).
            let ldc = (side + SymmetricScan.strip - 1) / SymmetricScan.strip * SymmetricScan.strip + SymmetricScan.strip
            // Aligned to cache lines, so that each strip of 16 columns is one line per row.
            let tile = UnsafeMutableRawPointer.allocate(byteCount: 4 * (side * ldc + SymmetricScan.strip), alignment: 64)
                .bindMemory(to: Float.self, capacity: side * ldc + SymmetricScan.strip)
            tile.initialize(repeating: 0, count: side * ldc + SymmetricScan.strip)
            defer { tile.deallocate() }
            let tilePointer = SendableConstPointer(UnsafePointer(tile))
            let blocks = (n + side - 1) / side
            for bi in 0..<blocks {
                let rows = (bi * side)..<min(n, (bi + 1) * side)
                for bj in bi..<blocks {
                    let columns = (bj * side)..<min(n, (bj + 1) * side)
                    // A diagonal tile needs only its lower triangle (pairs j < i): half a product.
                    let diagonal = bi == bj
                    if diagonal {
                        Float.syrkLower(n: rows.count, k: d, alpha: -2, a: x + rows.lowerBound * d, lda: d, beta: 0,
                                        c: tile, ldc: ldc)
                    } else {
                        Float.gemm(transposeA: false, transposeB: true, m: rows.count, n: columns.count, k: d, alpha: -2,
                                   a: x + rows.lowerBound * d, lda: d, b: x + columns.lowerBound * d, ldb: d, beta: 0,
                                   c: tile, ldc: ldc)
                    }
                    let rowTasks = (rows.count + SymmetricScan.rowGroup - 1) / SymmetricScan.rowGroup
                    let columnTasks = ranking ? (columns.count + SymmetricScan.strip - 1) / SymmetricScan.strip : 0
                    Parallel.forEach(rowTasks + columnTasks, grain: 1) { tasks in
                        var scratch = Scratch(maxRelevant: maxRelevant, width: side)
                        for task in tasks {
                            if task < rowTasks {
                                let group = (rows.lowerBound + task * SymmetricScan.rowGroup)..<min(rows.upperBound, rows.lowerBound + (task + 1) * SymmetricScan.rowGroup)
                                for i in group {
                                    rowSide(i, tile: tilePointer.pointer + (i - rows.lowerBound) * ldc,
                                            columns: diagonal ? columns.lowerBound..<i : columns, scratch: &scratch)
                                }
                            } else {
                                let start = columns.lowerBound + (task - rowTasks) * SymmetricScan.strip
                                // Below the diagonal, rows after the strip's first column.
                                let below = diagonal ? (start + 1)..<rows.upperBound : rows
                                columnSide(start..<min(columns.upperBound, start + SymmetricScan.strip), rows: below,
                                           tile: tilePointer.pointer + (below.lowerBound - rows.lowerBound) * ldc
                                               + (start - columns.lowerBound),
                                           ldc: ldc, diagonal: diagonal, scratch: &scratch)
                            }
                        }
                        scratch.deallocate()
                    }
                }
            }
        }

        /// Query i against `columns` of one tile (`tile` points at its row; in a diagonal tile the
        /// columns before i): the pair sums, then the counts of the other-label columns.
        func rowSide(_ i: Int, tile: UnsafePointer<Float>, columns: Range<Int>, scratch: inout Scratch) {
            let width = columns.count
            guard width > 0 else { return }
            let r = ranking ? relevant[i] : 0
            let statistics = pairStatistics ? scratch.values : nil
            if r > 0 {
                // The distances, counted as they are computed; same-label columns (the query
                // itself among them) count elsewhere: +∞ lands beyond every threshold, in the
                // counter that is never read. The clamped distances go to `values` for the sums.
                let grid = grids[i]
                simile_rank_fill_table(scratch.table, keys + keyStart[i], r, grid)
                let local = scratch.counts
                local.update(repeating: 0, count: RelevantRanks.lanes * (r + 1))
                simile_rank_tally_row(tile, norms + columns.lowerBound, classOf + columns.lowerBound, norms[i], classOf[i],
                                      width, columns.lowerBound, grid, scratch.table, keys + keyStart[i], r, local,
                                      statistics)
                let target = counts + keyStart[i] + i
                let stride = r + 1
                for t in 0...r {
                    target[t] &+= local[t] &+ local[stride + t] &+ local[2 * stride + t] &+ local[3 * stride + t]
                }
            } else if let statistics {
                let own = norms[i], columnNorms = norms + columns.lowerBound
                for s in 0..<width {
                    let value = own + columnNorms[s] + tile[s]
                    statistics[s] = value > 0 ? value : 0
                }
            }
            if let statistics, let shifts {
                var sums = (0.0, 0.0)
                withUnsafeMutableBytes(of: &sums) { raw in
                    simile_shifted_sums_f32(statistics, width, shifts[i], 1, raw.baseAddress!.assumingMemoryBound(to: Double.self))
                }
                first[i] += sums.0
                second[i] += sums.1
                pairs[i] += Double(width)
            }
        }

        /// Queries `columns` (at most 16) against the rows of one tile above the diagonal
        /// (`tile` points at their first distance, row stride `ldc`): the counts of the
        /// other-label rows, 16 columns per load (`simile_rank_tally_lanes`).
        func columnSide(_ columns: Range<Int>, rows: Range<Int>, tile: UnsafePointer<Float>, ldc: Int, diagonal: Bool,
                        scratch: inout Scratch) {
            let lanes = scratch.lanes
            var active = 0
            for l in 0..<SymmetricScan.strip {
                let j = columns.lowerBound + l
                let r = l < columns.count ? relevant[j] : 0
                guard r > 0 else {
                    // An empty grid: every value lands in cell 1, which is never read.
                    lanes.setEmpty(l)
                    continue
                }
                let grid = grids[j]
                let table = lanes.tables + l * lanes.tableStride
                simile_rank_fill_table(table, keys + keyStart[j], r, grid)
                lanes.norm[l] = norms[j]
                lanes.label[l] = classOf[j]
                // In a diagonal tile only rows i > j count for column j (the lower triangle).
                lanes.after[l] = diagonal ? Int32(j) : .min
                lanes.lowest[l] = grid.lowest
                lanes.highest[l] = grid.highest
                lanes.scale[l] = grid.scale
                lanes.top[l] = grid.top
                lanes.keys[l] = UnsafePointer(keys + keyStart[j])
                lanes.keyCount[l] = r
                lanes.counts[l]!.update(repeating: 0, count: RelevantRanks.lanes * (r + 1))
                lanes.active[active] = Int32(l)
                active += 1
            }
            guard active > 0, !rows.isEmpty else { return }
            var arguments = lanes.arguments
            arguments.active_count = active
            simile_rank_tally_lanes(tile, ldc, rows.count, Int32(rows.lowerBound), norms + rows.lowerBound,
                                    classOf + rows.lowerBound, &arguments)
            for k in 0..<active {
                let l = Int(lanes.active[k])
                let j = columns.lowerBound + l
                let target = counts + keyStart[j] + j
                let local = UnsafePointer(lanes.counts[l]!), stride = lanes.keyCount[l] + 1
                for t in 0..<stride {
                    target[t] &+= local[t] &+ local[stride + t] &+ local[2 * stride + t] &+ local[3 * stride + t]
                }
            }
        }
    }

    /// The 16 queries of a column-side task, as `simile_rank_tally_lanes` reads them.
    private struct Lanes {
        let norm: UnsafeMutablePointer<Float>
        let lowest: UnsafeMutablePointer<Float>
        let highest: UnsafeMutablePointer<Float>
        let scale: UnsafeMutablePointer<Float>
        let top: UnsafeMutablePointer<Float>
        let label: UnsafeMutablePointer<Int32>
        let after: UnsafeMutablePointer<Int32>
        let active: UnsafeMutablePointer<Int32>
        let keys: UnsafeMutablePointer<UnsafePointer<UInt64>?>
        let keyCount: UnsafeMutablePointer<Int>
        let counts: UnsafeMutablePointer<UnsafeMutablePointer<Int32>?>
        let tables: UnsafeMutablePointer<UInt32>
        let tableStride: Int

        init(maxRelevant: Int) {
            let strip = SymmetricScan.strip
            norm = .allocate(capacity: strip)
            lowest = .allocate(capacity: strip)
            highest = .allocate(capacity: strip)
            scale = .allocate(capacity: strip)
            top = .allocate(capacity: strip)
            label = .allocate(capacity: strip)
            after = .allocate(capacity: strip)
            active = .allocate(capacity: strip)
            keys = .allocate(capacity: strip)
            keys.initialize(repeating: nil, count: strip)
            keyCount = .allocate(capacity: strip)
            keyCount.initialize(repeating: 0, count: strip)
            counts = .allocate(capacity: strip)
            let countStride = RelevantRanks.lanes * (maxRelevant + 1)
            let allCounts = UnsafeMutablePointer<Int32>.allocate(capacity: strip * countStride)
            for l in 0..<strip { counts[l] = allCounts + l * countStride }
            tableStride = RelevantRanks.tableCapacity(for: max(1, maxRelevant))
            // Read only for the lanes being counted, once filled.
            tables = .allocate(capacity: strip * tableStride)
        }

        /// Lane l counts nothing: its values all land in cell 1 of its table.
        func setEmpty(_ l: Int) {
            norm[l] = 0
            label[l] = -1
            after[l] = .min
            lowest[l] = 0
            highest[l] = 0
            scale[l] = 0
            top[l] = 1
        }

        var arguments: simile_rank_lanes {
            simile_rank_lanes(norm: norm, label: label, after: after, lowest: lowest, highest: highest, scale: scale,
                              top: top, tables: tables, table_stride: tableStride, active: active, active_count: 0,
                              keys: keys, key_count: keyCount, counts: counts)
        }

        func deallocate() {
            norm.deallocate()
            lowest.deallocate()
            highest.deallocate()
            scale.deallocate()
            top.deallocate()
            label.deallocate()
            after.deallocate()
            active.deallocate()
            keys.deallocate()
            keyCount.deallocate()
            counts[0]!.deallocate()
            counts.deallocate()
            tables.deallocate()
        }
    }

    /// Per-task scratch.
    private struct Scratch {
        /// A row side's clamped distances (for the pair sums), table and counts.
        let values: UnsafeMutablePointer<Float>
        let table: UnsafeMutablePointer<UInt32>
        let counts: UnsafeMutablePointer<Int32>
        /// A column side's lanes.
        let lanes: Lanes

        init(maxRelevant: Int, width: Int) {
            values = .allocate(capacity: max(1, width))
            table = .allocate(capacity: RelevantRanks.tableCapacity(for: max(1, maxRelevant)))
            counts = .allocate(capacity: RelevantRanks.lanes * (maxRelevant + 1))
            lanes = Lanes(maxRelevant: maxRelevant)
        }

        func deallocate() {
            values.deallocate()
            table.deallocate()
            counts.deallocate()
            lanes.deallocate()
        }
    }
}
