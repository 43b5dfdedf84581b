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
/// clamped and rounded by the 2²³ trick, so 64 of them are computed at a time in vector
/// registers), computed the same way for the relevant references, so a cell without a relevant
/// reference gives pos directly; in the few cells that hold one (a table bit says which), keys
/// are compared. The count is therefore exact. Entries beyond the farthest relevant reference
/// (and the excluded one, set to +∞) land in a last cell whose pos is R, an extra counter that is
/// never read.
struct RelevantRanks: ~Copyable {
    private let keys: UnsafeMutablePointer<UInt64>
    private let counts: UnsafeMutablePointer<Int32>
    private let table: UnsafeMutablePointer<UInt32>
    private let cellsOfChunk: UnsafeMutablePointer<UInt32>
    private let capacity: Int

    /// Marks a table entry whose cell holds a relevant reference.
    private static let occupied: UInt32 = 1 << 31
    private static let chunk = 64

    /// Scratch for up to `capacity` relevant references.
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        keys = .allocate(capacity: self.capacity)
        counts = .allocate(capacity: self.capacity + 1)
        table = .allocate(capacity: Self.cells(for: self.capacity) + 2)
        cellsOfChunk = .allocate(capacity: Self.chunk)
    }

    deinit {
        keys.deallocate()
        counts.deallocate()
        table.deallocate()
        cellsOfChunk.deallocate()
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
        // Positions 0...cells cover [lowest, highest]; cells + 1 is everything beyond `highest`.
        let beyond = UInt32(cells + 1)
        let top = Float(beyond)

        // table[c] = #{t : cell(d(p_t)) < c}, with the `occupied` bit where some p_t has cell c.
        var t = 0
        for c in 0...Int(beyond) {
            var entry = UInt32(t)
            while t < r && Int(Self.cell(NearestSelection.value(keys[t]), lowest, highest, scale, top)) == c {
                entry |= Self.occupied
                t += 1
            }
            table[c] = entry
        }
        counts.update(repeating: 0, count: r + 1)
        let keyList = keys, lookup = table, tally = counts, cellOf = cellsOfChunk
        let keyCount = r, occupied = Self.occupied
        var j = 0
        while j < count {
            let length = min(Self.chunk, count - j)
            let values = row + j
            var near: UInt32 = 0
            for s in 0..<length {
                let cell = Self.cell(values[s], lowest, highest, scale, top)
                cellOf[s] = cell
                near &+= cell == beyond ? 0 : 1
            }
            if near > 0 {
                for s in 0..<length {
                    let entry = lookup[Int(cellOf[s])]
                    var pos = Int(entry & ~occupied)
                    if entry & occupied != 0 {
                        let key = NearestSelection.key(values[s], j + s)
                        while pos < keyCount && keyList[pos] < key { pos += 1 }
                    }
                    tally[pos] += 1
                }
            }
            j += length
        }
        var running: Int32 = 0
        for t in 0..<r {
            running += counts[t]
            ranks[t] = running
        }
        return r
    }

    /// The grid cell of a distance: 0 at or below `lowest`, about `scale`·(value − lowest) up to
    /// `highest`, `top` beyond it. Monotone in `value`; rounding to the nearest integer through
    /// the 2²³ trick keeps the loop free of branches and conversions that trap.
    @inline(__always)
    static func cell(_ value: Float, _ lowest: Float, _ highest: Float, _ scale: Float, _ top: Float) -> UInt32 {
        let position = (value - lowest) * scale
        let clamped = value > highest ? top : (position > 0 ? (position < top ? position : top) : 0)
        return (clamped + 8_388_608).bitPattern &- 0x4B00_0000
    }
}
