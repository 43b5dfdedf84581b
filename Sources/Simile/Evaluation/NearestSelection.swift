/// The k smallest entries of a row of distances, in order, ties broken by index.
///
/// An entry is ranked by its key `(distance bits << 32) | index`: for non-negative floats the bit
/// pattern orders like the value, so comparing keys compares distances first and indices second.
///
/// `smallest` scans the row in index order against a max-heap of the best k keys seen; 64
/// entries at a time are first counted against the heap's worst distance (a loop that
/// vectorises), so a chunk with nothing better costs a few instructions per entry. An entry
/// equal to the worst distance comes later than every heap entry, so it loses the tie and a
/// strict comparison suffices. `Selector` is faster on long rows: it guesses a threshold from a
/// sample, collects the entries below it and sorts only those, and falls back on the heap when
/// the guess leaves fewer than k.
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

    /// Sorts keys ascending in place: quicksort (median of three) down to runs of 24, insertion
    /// sort below, heapsort if the partitions degenerate. Unlike the standard library's sort it
    /// allocates nothing, which matters when it runs once per query on ~100 keys.
    static func sort(_ keys: UnsafeMutablePointer<UInt64>, _ count: Int) {
        var depth = 2
        var m = count
        while m > 1 {
            depth += 2
            m >>= 1
        }
        introsort(keys, count, depth)
    }

    private static func introsort(_ keys: UnsafeMutablePointer<UInt64>, _ count: Int, _ depth: Int) {
        var base = keys, n = count, budget = depth
        while n > 24 {
            if budget == 0 {
                heapsort(base, n)
                return
            }
            budget -= 1
            // Median of first, middle and last as the pivot.
            let a = base[0], b = base[n / 2], c = base[n - 1]
            let pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b))
            var i = 0, j = n - 1
            while true {
                while base[i] < pivot { i += 1 }
                while pivot < base[j] { j -= 1 }
                if i >= j { break }
                (base[i], base[j]) = (base[j], base[i])
                i += 1
                j -= 1
            }
            // Recurse into the smaller side, loop on the larger.
            let left = j + 1
            if left < n - left {
                introsort(base, left, budget)
                base += left
                n -= left
            } else {
                introsort(base + left, n - left, budget)
                n = left
            }
        }
        for i in 1..<max(1, n) {
            let item = base[i]
            var j = i
            while j > 0 && base[j - 1] > item {
                base[j] = base[j - 1]
                j -= 1
            }
            base[j] = item
        }
    }

    private static func heapsort(_ keys: UnsafeMutablePointer<UInt64>, _ count: Int) {
        for start in stride(from: count / 2 - 1, through: 0, by: -1) { siftDown(keys, count, start) }
        var end = count - 1
        while end > 0 {
            (keys[0], keys[end]) = (keys[end], keys[0])
            siftDown(keys, end, 0)
            end -= 1
        }
    }

    /// Reusable scratch for choosing the k smallest entries of many rows of length m.
    struct Selector: ~Copyable {
        let k: Int
        private let sampleSize: Int
        private let sampleRank: Int
        private let capacity: Int
        private let lowest: UnsafeMutablePointer<Float>
        private let candidates: UnsafeMutablePointer<UInt64>

        /// Sampling pays off when a row is at least 16k long; shorter rows use the heap.
        init(k: Int, rowLength m: Int) {
            self.k = k
            sampleSize = m >= 16 * k && k >= 1 ? min(m, 8 * k) : 0
            // The sample's q-th smallest value leaves about 2k entries below it.
            sampleRank = sampleSize > 0 ? max(1, (2 * k * sampleSize + m - 1) / m) : 0
            capacity = 8 * k + 64
            lowest = .allocate(capacity: max(1, sampleRank))
            candidates = .allocate(capacity: sampleSize > 0 ? capacity : 1)
        }

        deinit {
            lowest.deallocate()
            candidates.deallocate()
        }

        /// As `NearestSelection.smallest`: the keys of the k smallest entries of
        /// `row[0..<count]` but `excluded`, ascending, into `output`; returns how many.
        func smallest(_ row: UnsafePointer<Float>, count m: Int, excluding excluded: Int,
                      into output: UnsafeMutablePointer<UInt64>) -> Int {
            guard sampleSize > 0, m >= 16 * k else {
                return NearestSelection.smallest(row, count: m, excluding: excluded, k: k, into: output)
            }
            // The sampleRank-th smallest of an evenly strided sample, by insertion.
            let stride = m / sampleSize
            var filled = 0
            for t in 0..<sampleSize {
                let value = row[t * stride]
                if filled == sampleRank && value >= lowest[filled - 1] { continue }
                var position = filled == sampleRank ? filled - 1 : filled
                if filled < sampleRank { filled += 1 }
                while position > 0 && lowest[position - 1] > value {
                    lowest[position] = lowest[position - 1]
                    position -= 1
                }
                lowest[position] = value
            }
            let threshold = lowest[sampleRank - 1]
            // Collect the entries below it, 64 at a time after a vectorised count.
            var found = 0
            var j = 0
            while j < m {
                let end = Swift.min(m, j + 64)
                var below: Int32 = 0
                for t in j..<end { below &+= row[t] < threshold ? 1 : 0 }
                if below > 0 {
                    if found + Int(below) > capacity {
                        return NearestSelection.smallest(row, count: m, excluding: excluded, k: k, into: output)
                    }
                    for t in j..<end where row[t] < threshold && t != excluded {
                        candidates[found] = NearestSelection.key(row[t], t)
                        found += 1
                    }
                }
                j = end
            }
            guard found >= k else {
                return NearestSelection.smallest(row, count: m, excluding: excluded, k: k, into: output)
            }
            NearestSelection.sort(candidates, found)
            output.update(from: candidates, count: k)
            return k
        }
    }
}
