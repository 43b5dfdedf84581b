import RealModule

/// Seeded k-means (Lloyd's algorithm from k-means++ starts), for NMI and AMI.
///
/// - Start: k-means++ (Arthur and Vassilvitskii, 2007): the first centre is a uniformly random
///   point, each next one a point drawn with probability proportional to its squared distance to
///   the nearest centre chosen so far. When every remaining point coincides with a centre, the
///   lowest-numbered point not yet chosen is taken.
/// - Iterations: assign every point to its nearest centre (squared distances from one BLAS
///   product per iteration; ties go to the lower centre), stop when no assignment changes,
///   otherwise move each centre to the mean of its points. A centre left without points moves to
///   the point farthest from its own centre (as scikit-learn does), which then changes cluster.
/// - Restarts: independent starts from generator streams 0, 1, …; the lowest inertia (sum of
///   squared distances to the assigned centres) wins, the earlier start on a tie.
///
/// Everything is deterministic for a seed: random draws come from `SeededGenerator`, sums over
/// points are merged in a fixed order, and the result does not depend on the number of cores.
public enum KMeans {
    public struct Result: Sendable, Equatable {
        /// The cluster of each point, 0..<k.
        public var assignments: [Int32]
        /// k × D centres.
        public var centres: Matrix<Float>
        /// Σ_i ‖x_i − c(x_i)‖².
        public var inertia: Double
        /// Lloyd iterations run by the winning start.
        public var iterations: Int
        /// Whether the winning start stopped because no assignment changed.
        public var converged: Bool
    }

    /// Clusters the rows of `x` into `k` clusters.
    /// - Throws: when k is not in 1...rows.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func cluster<S: SimileFloat>(_ x: Matrix<S>, k: Int, restarts: Int = 1, iterations: Int = 20,
                                              seed: UInt64 = 0) throws -> Result {
        guard x.rows > 0, x.columns > 0 else { throw SimileError.empty("k-means needs at least one point with at least one dimension") }
        guard k >= 1 && k <= x.rows else {
            throw SimileError.invalidInput("k-means with k=\(k) needs 1 ≤ k ≤ \(x.rows) (the number of points)")
        }
        guard restarts >= 1, iterations >= 0 else {
            throw SimileError.invalidInput("k-means needs restarts ≥ 1 and iterations ≥ 0")
        }
        try x.requireFinite("k-means input")
        try BLAS.require()
        let points = S.self == Float.self ? x as! Matrix<Float> : x.converted(to: Float.self)
        let norms = DistanceScan.squaredNorms(points)
        var best: Result?
        for start in 0..<restarts {
            var generator = SeededGenerator(seed: seed, stream: UInt64(start))
            let result = run(points, norms: norms, k: k, iterations: iterations, generator: &generator)
            if best == nil || result.inertia < best!.inertia { best = result }
        }
        return best!
    }

    static func run(_ x: Matrix<Float>, norms: [Float], k: Int, iterations: Int,
                    generator: inout SeededGenerator) -> Result {
        var centres = plusPlus(x, norms: norms, k: k, generator: &generator)
        var assignments = [Int32](repeating: -1, count: x.rows)
        var nearest = [Float](repeating: 0, count: x.rows)
        var iteration = 0
        var converged = false
        while true {
            let changed = assign(x, norms: norms, centres: centres, assignments: &assignments, nearest: &nearest)
            if !changed && iteration > 0 {
                converged = true
                break
            }
            if iteration == iterations { break }
            centres = update(x, assignments: assignments, nearest: &nearest, k: k, previous: centres)
            iteration += 1
        }
        var inertia = 0.0
        for value in nearest { inertia += Double(value) }
        return Result(assignments: assignments, centres: centres, inertia: inertia, iterations: iteration,
                      converged: converged)
    }

    /// k-means++ seeding.
    ///
    /// After each new centre, every point's squared distance to its nearest centre so far is
    /// updated. A point is skipped when the triangle inequality shows that the new centre cannot
    /// be nearer: ‖c_new − c_own‖ ≥ 2‖x − c_own‖ (c_own the centre that gave its distance), checked
    /// with a 0.1% margin that covers the rounding of both sides. The computed distance of a
    /// skipped point would therefore not have been smaller either, so the seeding is the same as
    /// computing every distance; at 100 centres most points are skipped at most steps.
    static func plusPlus(_ x: Matrix<Float>, norms: [Float], k: Int, generator: inout SeededGenerator) -> Matrix<Float> {
        let n = x.rows, d = x.columns
        var centres = Matrix<Float>(rows: k, columns: d)
        var chosen = [Bool](repeating: false, count: n)
        var distance = [Float](repeating: .infinity, count: n)
        // The centre (by order of choice) that gave each point its distance, and the squared
        // distances from the newest centre to every earlier one.
        var owner = [Int32](repeating: 0, count: n)
        var separation = [Float](repeating: 0, count: k)
        var pick = Int.random(in: 0..<n, using: &generator)
        for c in 0..<k {
            chosen[pick] = true
            for t in 0..<d { centres[c, t] = x[pick, t] }
            guard c + 1 < k else { break }
            centres.elements.withUnsafeBufferPointer { cs in
                let centre = cs.baseAddress! + c * d
                for e in 0..<c {
                    let other = cs.baseAddress! + e * d
                    var squared: Float = 0
                    for t in 0..<d {
                        let difference = centre[t] - other[t]
                        squared = Relaxed.multiplyAdd(difference, difference, squared)
                    }
                    separation[e] = squared
                }
            }
            // Update each point's squared distance to its nearest chosen centre; sum them.
            let newest = Int32(c)
            let partials: [Double] = x.elements.withUnsafeBufferPointer { xs in
                distance.withUnsafeMutableBufferPointer { ds in
                    owner.withUnsafeMutableBufferPointer { os in
                        separation.withUnsafeBufferPointer { ss in
                            let points = SendableConstPointer(xs.baseAddress!)
                            let nearest = SendablePointer(ds.baseAddress!)
                            let owners = SendablePointer(os.baseAddress!)
                            let apart = SendableConstPointer(ss.baseAddress!)
                            let centre = SendableConstPointer(xs.baseAddress! + pick * d)
                            return Parallel.map(n, grain: 1024) { range in
                                var sum = 0.0
                                for i in range {
                                    let current = nearest.pointer[i]
                                    // Skip when ‖c_new − c_own‖² > 4·1.001·‖x − c_own‖².
                                    if !(apart.pointer[Int(owners.pointer[i])] > 4.004 * current) {
                                        let row = points.pointer + i * d
                                        var squared: Float = 0
                                        for t in 0..<d {
                                            let difference = row[t] - centre.pointer[t]
                                            squared = Relaxed.multiplyAdd(difference, difference, squared)
                                        }
                                        if squared < current {
                                            nearest.pointer[i] = squared
                                            owners.pointer[i] = newest
                                        }
                                    }
                                    sum += Double(nearest.pointer[i])
                                }
                                return sum
                            }
                        }
                    }
                }
            }
            let total = partials.reduce(0, +)
            if total > 0 {
                let target = Double.random(in: 0..<total, using: &generator)
                var running = 0.0
                pick = -1
                var lastPositive = 0
                for i in 0..<n where distance[i] > 0 {
                    running += Double(distance[i])
                    lastPositive = i
                    if running > target {
                        pick = i
                        break
                    }
                }
                if pick < 0 { pick = lastPositive }
            } else {
                pick = chosen.firstIndex(of: false) ?? 0
            }
        }
        return centres
    }

    /// Assigns each point to its nearest centre; returns whether any assignment changed.
    static func assign(_ x: Matrix<Float>, norms: [Float], centres: Matrix<Float>, assignments: inout [Int32],
                       nearest: inout [Float]) -> Bool {
        let n = x.rows, k = centres.rows
        let centreNorms = DistanceScan.squaredNorms(centres)
        // −2·X·Cᵀ in blocks of rows so that memory stays bounded.
        let blockRows = max(1, min(n, (8 << 20) / (4 * k)))
        var changed = false
        var block = Matrix<Float>(rows: blockRows, columns: k)
        var start = 0
        while start < n {
            let rows = min(blockRows, n - start)
            x.elements.withUnsafeBufferPointer { xs in
                centres.elements.withUnsafeBufferPointer { cs in
                    block.elements.withUnsafeMutableBufferPointer { bs in
                        Float.gemm(transposeA: false, transposeB: true, m: rows, n: k, k: x.columns, alpha: -2,
                                   a: xs.baseAddress! + start * x.columns, lda: x.columns, b: cs.baseAddress!,
                                   ldb: x.columns, beta: 0, c: bs.baseAddress!, ldc: k)
                    }
                }
            }
            let flags: [Bool] = block.elements.withUnsafeBufferPointer { bs in
                assignments.withUnsafeMutableBufferPointer { assigned in
                    nearest.withUnsafeMutableBufferPointer { near in
                        centreNorms.withUnsafeBufferPointer { cn in
                            let products = SendableConstPointer(bs.baseAddress!)
                            let target = SendablePointer(assigned.baseAddress!)
                            let distance = SendablePointer(near.baseAddress!)
                            let centreNorm = SendableConstPointer(cn.baseAddress!)
                            let first = start
                            return Parallel.map(rows, grain: 256) { range in
                                var any = false
                                for li in range {
                                    let row = products.pointer + li * k
                                    let (best, bestValue) = nearestCentre(row, centreNorm.pointer, k)
                                    let i = first + li
                                    let squared = norms[i] + bestValue
                                    distance.pointer[i] = squared > 0 ? squared : 0
                                    if target.pointer[i] != Int32(best) {
                                        target.pointer[i] = Int32(best)
                                        any = true
                                    }
                                }
                                return any
                            }
                        }
                    }
                }
            }
            if flags.contains(true) { changed = true }
            start += rows
        }
        return changed
    }

    /// The first c minimising ‖c‖² − 2x·c (`norms[c] + products[c]`) and that minimum: the minimum
    /// in 8 lanes, then the first index that reaches it (the lowest centre on a tie).
    @inline(__always)
    static func nearestCentre(_ products: UnsafePointer<Float>, _ norms: UnsafePointer<Float>, _ k: Int) -> (Int, Float) {
        var lowest = SIMD8<Float>(repeating: .infinity)
        var c = 0
        let p = UnsafeRawPointer(products), q = UnsafeRawPointer(norms)
        while c + 8 <= k {
            let value = q.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
                + p.loadUnaligned(fromByteOffset: 4 * c, as: SIMD8<Float>.self)
            lowest = lowest.replacing(with: value, where: value .< lowest)
            c += 8
        }
        var minimum = lowest.min()
        while c < k {
            let value = norms[c] + products[c]
            if value < minimum { minimum = value }
            c += 1
        }
        var best = 0
        while best < k - 1 && norms[best] + products[best] != minimum { best += 1 }
        return (best, norms[best] + products[best])
    }

    /// The mean of each cluster's points; an empty cluster takes the point farthest from its centre.
    static func update(_ x: Matrix<Float>, assignments: [Int32], nearest: inout [Float], k: Int,
                       previous: Matrix<Float>) -> Matrix<Float> {
        let n = x.rows, d = x.columns
        var counts = [Int](repeating: 0, count: k)
        for a in assignments { counts[Int(a)] += 1 }
        // Partial sums per chunk of points, in Double, merged in chunk order.
        let chunkCount = max(1, min(8, n / 2048))
        let chunkSize = (n + chunkCount - 1) / chunkCount
        let partials: [[Double]] = x.elements.withUnsafeBufferPointer { xs in
            assignments.withUnsafeBufferPointer { assigned in
                let points = SendableConstPointer(xs.baseAddress!)
                let cluster = SendableConstPointer(assigned.baseAddress!)
                return Parallel.map(chunkCount, grain: 1) { chunks in
                    var sums = [Double](repeating: 0, count: k * d)
                    sums.withUnsafeMutableBufferPointer { buffer in
                        let total = buffer.baseAddress!
                        for chunk in chunks {
                            for i in (chunk * chunkSize)..<min(n, (chunk + 1) * chunkSize) {
                                let row = points.pointer + i * d
                                let target = total + Int(cluster.pointer[i]) * d
                                for t in 0..<d { target[t] += Double(row[t]) }
                            }
                        }
                    }
                    return sums
                }
            }
        }
        var sums = [Double](repeating: 0, count: k * d)
        for partial in partials {
            for index in 0..<(k * d) { sums[index] += partial[index] }
        }
        var centres = previous
        var taken = Set<Int>()
        for c in 0..<k {
            if counts[c] > 0 {
                for t in 0..<d { centres[c, t] = Float(sums[c * d + t] / Double(counts[c])) }
            } else {
                // The point farthest from its centre (lowest index on a tie) becomes this centre.
                var far = -1
                for i in 0..<n where !taken.contains(i) && (far < 0 || nearest[i] > nearest[far]) { far = i }
                guard far >= 0 else { continue }
                taken.insert(far)
                for t in 0..<d { centres[c, t] = x[far, t] }
                nearest[far] = 0
            }
        }
        return centres
    }
}
