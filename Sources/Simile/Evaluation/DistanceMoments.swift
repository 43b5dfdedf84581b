import CSimileKernels

/// Count, mean and sum of squared deviations of a set of distances, split into same-label
/// ("intra") and all pairs; merged in a fixed order (Chan et al.'s pairwise update), so
/// sums over millions of pairs keep their precision and do not depend on the thread count.
struct DistanceMoments: Sendable, Equatable {
    var count = 0.0
    var mean = 0.0
    /// Σ (d − mean)².
    var squaredDeviations = 0.0
    /// Same-label pairs among them, and the sum of their distances.
    var intraCount = 0.0
    var intraSum = 0.0

    var sum: Double { mean * count }

    /// Adds another set of pairs.
    mutating func merge(_ other: DistanceMoments) {
        guard other.count > 0 else { return }
        intraCount += other.intraCount
        intraSum += other.intraSum
        guard count > 0 else {
            (count, mean, squaredDeviations) = (other.count, other.mean, other.squaredDeviations)
            return
        }
        let total = count + other.count
        let delta = other.mean - mean
        mean += delta * other.count / total
        squaredDeviations += other.squaredDeviations + delta * delta * count * other.count / total
        count = total
    }

    /// The moments of one query's distances `row[j]` (or `√row[j]` when `squared`) to every
    /// reference but `excluded`, with `relevant` (not containing `excluded`) marking the
    /// same-label references. Sums run in blocks of 256 in Float (vectorised, in the C kernel
    /// `simile_shifted_sums_f32`: Swift's square root is a libm call that does not vectorise on
    /// Linux), each block added in Double, around a shift close to the mean so that the squares
    /// do not cancel.
    static func row(_ row: UnsafePointer<Float>, count m: Int, excluding excluded: Int,
                    relevant: UnsafeBufferPointer<Int32>, squared: Bool) -> DistanceMoments {
        @inline(__always) func value(_ x: Float) -> Float { squared ? x.squareRoot() : x }
        // The shift: the mean of up to 64 entries.
        var probe = 0.0, probed = 0
        var j = 0
        while j < m && probed < 64 {
            if j != excluded {
                probe += Double(value(row[j]))
                probed += 1
            }
            j += 1
        }
        guard probed > 0 else { return DistanceMoments() }
        let shift = Float(probe / Double(probed))
        var sums = (0.0, 0.0)
        withUnsafeMutableBytes(of: &sums) { raw in
            simile_shifted_sums_f32(row, m, shift, squared ? 1 : 0, raw.baseAddress!.assumingMemoryBound(to: Double.self))
        }
        var (first, second) = sums
        var n = Double(m)
        if excluded >= 0 && excluded < m {
            let v = Double(value(row[excluded]) - shift)
            first -= v
            second -= v * v
            n -= 1
        }
        var intra = 0.0
        for p in relevant { intra += Double(value(row[Int(p)])) }
        let mean = Double(shift) + first / n
        return DistanceMoments(count: n, mean: mean, squaredDeviations: max(0, second - first * first / n),
                               intraCount: Double(relevant.count), intraSum: intra)
    }
}
