/// The rank of every relevant reference in a query's full ranking, without sorting the row.
///
/// For k = all (PML's default), MAP needs the position of every same-label reference among all
/// references. Sorting each row would cost O(M log M) per query; this counts instead.
/// With the R relevant keys sorted, key(p₀) < … < key(p_{R−1}) (keys as in `NearestSelection`:
/// distance, then index), the rank of p_t is the number of references whose key is at most
/// key(p_t). Each reference j is assigned pos(j) = #{t : key(p_t) < key(j)}, and
/// rank(p_t) = #{j : pos(j) ≤ t}: a histogram of pos and its prefix sums.
///
/// pos is found through a uniform grid of G ≥ 16R cells over [d(p₀), d(p_{R−1})], plus one cell
/// for everything beyond: the cell of j gives the first relevant key that could exceed key(j),
/// and one comparison (rarely more: few cells hold a relevant reference) finishes. The cell map
/// is monotone in the distance, so the count is exact. The loop has no other branch: entries
/// beyond the farthest relevant reference (and the excluded one, set to +∞) land in the last
/// cell, whose pos is R, an extra counter that is never read; 64 entries at a time that all lie
/// beyond are skipped after a vectorised count.
struct RelevantRanks: ~Copyable {
    private let keys: UnsafeMutablePointer<UInt64>
    private let counts: UnsafeMutablePointer<Int32>
    private let cellStart: UnsafeMutablePointer<Int32>
    private let capacity: Int

    /// Scratch for up to `capacity` relevant references.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        keys = .allocate(capacity: self.capacity)
        counts = .allocate(capacity: self.capacity + 1)
        cellStart = .allocate(capacity: Self.cells(for: self.capacity) + 2)
    }

    deinit {
        keys.deallocate()
        counts.deallocate()
        cellStart.deallocate()
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
        var sorted = UnsafeMutableBufferPointer(start: keys, count: r)
        sorted.sort()
        if excluded >= 0 && excluded < count { row[excluded] = .infinity }
        let lowest = NearestSelection.value(keys[0])
        let highest = NearestSelection.value(keys[r - 1])
        let cells = Self.cells(for: r)
        let span = highest - lowest
        let scale: Float = span > 0 && (Float(cells) / span).isFinite ? Float(cells) / span : 0
        // Cells 0..<cells cover [lowest, highest]; cell `cells` holds what maps to the top edge
        // and cell `cells + 1` everything beyond `highest`.
        let beyond = Float(cells + 1)
        @inline(__always) func cell(_ value: Float) -> Int {
            if value > highest { return cells + 1 }
            let position = (value - lowest) * scale
            return Int(position > 0 ? (position < beyond ? position : beyond) : 0)
        }
        // cellStart[c] = #{t : cell(d(p_t)) < c}.
        var t = 0
        for c in 0...(cells + 1) {
            while t < r && cell(NearestSelection.value(keys[t])) < c { t += 1 }
            cellStart[c] = Int32(t)
        }
        counts.update(repeating: 0, count: r + 1)
        let keyList = keys, start = cellStart, tally = counts
        let keyCount = r
        var j = 0
        while j < count {
            let end = min(count, j + 64)
            var near: Int32 = 0
            for s in j..<end { near &+= row[s] <= highest ? 1 : 0 }
            if near > 0 {
                for s in j..<end {
                    let value = row[s]
                    let position = (value - lowest) * scale
                    let clamped = value > highest ? beyond : (position > 0 ? (position < beyond ? position : beyond) : 0)
                    var pos = Int(start[Int(clamped)])
                    let key = NearestSelection.key(value, s)
                    while pos < keyCount && keyList[pos] < key { pos += 1 }
                    tally[pos] += 1
                }
            }
            j = end
        }
        var running: Int32 = 0
        for t in 0..<r {
            running += counts[t]
            ranks[t] = running
        }
        return r
    }
}
