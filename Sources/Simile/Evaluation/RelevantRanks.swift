import CSimileKernels

/// The rank of every relevant reference in a query's full ranking, without sorting the row.
///
/// For k = all (PML's default), MAP needs the position of every same-label reference among all
/// references. Sorting each row would cost O(M log M) per query; this counts instead.
/// With the R relevant keys sorted, key(p₀) < … < key(p_{R−1}) (keys as in `NearestSelection`:
/// distance, then index), the rank of p_t is the number of references whose key is at most
/// key(p_t). Each reference j is assigned pos(j) = #{t : key(p_t) < key(j)}, and
/// rank(p_t) = #{j : pos(j) ≤ t}: a histogram of pos and its prefix sums.
///
/// pos is read from a table over a uniform grid of G ≥ 16R cells on [d(p₀), d(p_{R−1})], plus
/// cells for everything beyond. The cell index is a monotone function of the distance (scaled,
/// clamped and rounded by the 2²³ trick: `simile_rank_cell`, shared with the C kernels that
/// count), computed the same way for the relevant references, so a cell without a relevant
/// reference gives pos directly; in the few cells that hold one (a table bit says which), keys
/// are compared. The count is therefore exact. Entries beyond the farthest relevant reference
/// (and the excluded one, set to +∞) land in a last cell whose pos is R, an extra counter that
/// is never read. The counting itself is the C kernel `simile_rank_tally_row` (cells computed
/// at the CPU's vector width); it keeps the histogram in four interleaved copies, so that
/// consecutive entries falling in the same bin do not wait on each other's increment.
struct RelevantRanks: ~Copyable {
    private let keys: UnsafeMutablePointer<UInt64>
    private let counts: UnsafeMutablePointer<Int32>
    private let table: UnsafeMutablePointer<UInt32>
    private let capacity: Int

    /// Interleaved copies of the histogram, as the C kernels keep them.
    static let lanes = 4

    /// Scratch for up to `capacity` relevant references.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        keys = .allocate(capacity: self.capacity)
        counts = .allocate(capacity: Self.lanes * (self.capacity + 1))
        table = .allocate(capacity: Self.tableCapacity(for: self.capacity))
    }

    deinit {
        keys.deallocate()
        counts.deallocate()
        table.deallocate()
    }

    /// Grid cells for r relevant references: a power of two ≥ 16r (at least 64, at most 2²⁰).
    static func cells(for r: Int) -> Int {
        var cells = 64
        while cells < 16 * r && cells < 1 << 20 { cells <<= 1 }
        return cells
    }

    /// Writes the 1-based ranks of the references `relevant` (which must not contain
    /// `excluded`) within `row[0..<count]`, not counting entry `excluded` (−1 for none), into
    /// `ranks` in ascending order; returns how many (R). Overwrites `row[excluded]` with +∞.
    func ranks(_ row: UnsafeMutablePointer<Float>, count: Int, relevant: UnsafeBufferPointer<Int32>,
               excluding excluded: Int, into ranks: UnsafeMutablePointer<Int32>) -> Int {
        let r = relevant.count
        precondition(r <= capacity, "RelevantRanks: more relevant references than its capacity")
        guard r > 0 else { return 0 }
        for (t, p) in relevant.enumerated() { keys[t] = NearestSelection.key(row[Int(p)], Int(p)) }
        NearestSelection.sort(keys, r)
        if excluded >= 0 && excluded < count { row[excluded] = .infinity }
        let grid = Self.grid(keys: keys, count: r)
        simile_rank_fill_table(table, keys, r, grid)
        counts.update(repeating: 0, count: Self.lanes * (r + 1))
        simile_rank_tally_row(row, nil, nil, 0, 0, count, 0, grid, table, keys, r, counts, nil)
        Self.prefixSums(counts, r, into: ranks)
        return r
    }

    /// ranks[t] = Σ_{s ≤ t} counts[s] over the `lanes` interleaved copies (stride r + 1).
    static func prefixSums(_ counts: UnsafePointer<Int32>, _ r: Int, into ranks: UnsafeMutablePointer<Int32>) {
        let stride = r + 1
        var running: Int32 = 0
        for t in 0..<r {
            running &+= counts[t] &+ counts[stride + t] &+ counts[2 * stride + t] &+ counts[3 * stride + t]
            ranks[t] = running
        }
    }

    /// The grid over the distances of R sorted keys, as the C kernels take it: `lowest`,
    /// `highest`, `scale`, and `top`, the cell of everything beyond `highest` (as a Float).
    typealias Grid = simile_rank_grid

    /// Table entries to allocate for r relevant references: the grid, the cell beyond it, and
    /// room for the whole-vector stores of `simile_rank_fill_table`.
    static func tableCapacity(for r: Int) -> Int { cells(for: r) + 2 + Int(SIMILE_RANK_TABLE_SPILL) }

    /// The grid of R sorted keys (r ≥ 1): from the lowest to the highest distance, `cells(for: r)` cells.
    static func grid(keys: UnsafePointer<UInt64>, count r: Int) -> Grid {
        let lowest = NearestSelection.value(keys[0])
        let highest = NearestSelection.value(keys[r - 1])
        let cells = Self.cells(for: r)
        let span = highest - lowest
        let scale: Float = span > 0 && (Float(cells) / span).isFinite ? Float(cells) / span : 0
        // Positions 0...cells cover [lowest, highest]; cells + 1 is everything beyond `highest`.
        return Grid(lowest: lowest, highest: highest, scale: scale, top: Float(cells + 1))
    }
}
