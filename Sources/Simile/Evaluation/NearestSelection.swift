/// The k smallest entries of a row of distances, in order, ties broken by index.
///
/// An entry is ranked by its key `(distance bits << 32) | index`: for non-negative floats the bit
/// pattern orders like the value, so comparing keys compares distances first and indices second.
/// The row is scanned in index order against a max-heap of the best k keys seen; 64 entries at a
/// time are first counted against the heap's worst distance (a loop that vectorises), so a chunk
/// with nothing better costs a few instructions per entry. An entry equal to the worst distance
/// comes later than every heap entry, so it loses the tie and a strict comparison suffices.
enum NearestSelection {
    /// The key of entry `index` at squared distance `value` (which must be ≥ 0 and not NaN).
    @inline(__always)
    static func key(_ value: Float, _ index: Int) -> UInt64 {
        UInt64(value.bitPattern) << 32 | UInt64(UInt32(truncatingIfNeeded: index))
    }

    @inline(__always)
    static func index(_ key: UInt64) -> Int { Int(key & 0xFFFF_FFFF) }

    @inline(__always)
    static func value(_ key: UInt64) -> Float { Float(bitPattern: UInt32(key >> 32)) }

    /// Writes the keys of the `k` smallest entries of `row[0..<count]`, skipping `excluded`
    /// (−1 for none), into `output` in ascending order; returns how many there were
    /// (fewer than k when the row is shorter).
    static func smallest(_ row: UnsafePointer<Float>, count: Int, excluding excluded: Int, k: Int,
                         into output: UnsafeMutablePointer<UInt64>) -> Int {
        guard k > 0 else { return 0 }
        // Fill the heap with the first k admissible entries.
        var filled = 0
        var j = 0
        while j < count && filled < k {
            if j != excluded {
                output[filled] = key(row[j], j)
                filled += 1
            }
            j += 1
        }
        if filled < k {
            sort(output, filled)
            return filled
        }
        for start in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(output, k, start) }
        var worst = value(output[0])
        while j < count {
            let end = min(count, j + 64)
            var better: Int32 = 0
            for t in j..<end { better &+= row[t] < worst ? 1 : 0 }
            if better > 0 {
                for t in j..<end where row[t] < worst && t != excluded {
                    output[0] = key(row[t], t)
                    siftDown(output, k, 0)
                    worst = value(output[0])
                }
            }
            j = end
        }
        sort(output, k)
        return k
    }

    /// Restores the max-heap property below `start`.
    @inline(__always)
    static func siftDown(_ heap: UnsafeMutablePointer<UInt64>, _ count: Int, _ start: Int) {
        var parent = start
        let item = heap[parent]
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count && heap[child + 1] > heap[child] { child += 1 }
            if heap[child] <= item { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = item
    }

    static func sort(_ keys: UnsafeMutablePointer<UInt64>, _ count: Int) {
        var buffer = UnsafeMutableBufferPointer(start: keys, count: count)
        buffer.sort()
    }
}
