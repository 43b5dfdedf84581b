import RealModule

/// Statistics of the distances between queries and references: the pairs (query i,
/// reference j) with j not query i itself, i.e. every pair of distinct points in leave-one-out.
///
/// - mean intra distance: over pairs with the same label; mean inter distance: over pairs with
///   different labels; the intra/inter ratio is their quotient (below 1 when classes are tighter
///   than the space between them);
/// - the standard deviation of all pair distances (population form: the evaluated pairs are the
///   whole population).
///
/// Euclidean (L2) statistics are exact: they are accumulated from the same blocked distance pass
/// as the neighbour search. L1 distances have no matrix-product shortcut (N·M·D work), so they are
/// exact up to `exactL1PairLimit` pairs and estimated above it from a seeded sample: for each kind
/// (same label, different label) `l1SamplePairs` pairs drawn uniformly with replacement from all
/// pairs of that kind. Each kind's mean and variance are then unbiased estimates, combined with
/// the exact number of pairs of each kind; the ratio of two unbiased means is consistent, with a
/// relative standard error of about (coefficient of variation)/√samples, below 0.5% at the
/// default 2¹⁶ pairs for the spreads seen in practice.
struct PairDistanceStatistics: Sendable, Equatable {
    var meanIntra: Double?
    var meanInter: Double?
    var standardDeviation: Double?
    var ratio: Double? {
        guard let meanIntra, let meanInter, meanInter > 0 else { return nil }
        return meanIntra / meanInter
    }

    /// From exact moments over every pair.
    init(exact moments: DistanceMoments) {
        let interCount = moments.count - moments.intraCount
        if moments.intraCount > 0 { meanIntra = moments.intraSum / moments.intraCount }
        if interCount > 0 { meanInter = (moments.sum - moments.intraSum) / interCount }
        if moments.count > 0 { standardDeviation = (moments.squaredDeviations / moments.count).squareRoot() }
    }

    /// From per-kind estimates and the exact number of pairs of each kind.
    init(intra: DistanceMoments, intraPairs: Double, inter: DistanceMoments, interPairs: Double) {
        let total = intraPairs + interPairs
        guard total > 0 else { return }
        func variance(_ m: DistanceMoments) -> Double { m.count > 1 ? m.squaredDeviations / (m.count - 1) : 0 }
        if intraPairs > 0 && intra.count > 0 { meanIntra = intra.mean }
        if interPairs > 0 && inter.count > 0 { meanInter = inter.mean }
        let mean = ((meanIntra ?? 0) * intraPairs + (meanInter ?? 0) * interPairs) / total
        var spread = 0.0
        if let meanIntra { spread += intraPairs * (variance(intra) + (meanIntra - mean) * (meanIntra - mean)) }
        if let meanInter { spread += interPairs * (variance(inter) + (meanInter - mean) * (meanInter - mean)) }
        standardDeviation = (spread / total).squareRoot()
    }

    /// L1 statistics: exact when queries × references (less self matches) ≤ `exactLimit`,
    /// otherwise from `samples` pairs of each kind. Returns the number sampled (nil when exact).
    static func l1(query: Matrix<Float>, reference: Matrix<Float>, labels: EvaluationLabels, exactLimit: Int,
                   samples: Int, seed: UInt64) -> (PairDistanceStatistics, sampled: Int?) {
        let n = query.rows, m = reference.rows
        let selfCount = labels.selfReference ? 1 : 0
        let pairs = n * (m - selfCount)
        if pairs <= exactLimit {
            return (exactL1(query: query, reference: reference, labels: labels), nil)
        }
        // Pairs of each kind per query, and their running totals.
        var intraStartList = [Int](repeating: 0, count: n + 1), interStartList = [Int](repeating: 0, count: n + 1)
        for i in 0..<n {
            let r = labels.relevantCount(query: i)
            intraStartList[i + 1] = intraStartList[i] + r
            interStartList[i + 1] = interStartList[i] + (m - selfCount - r)
        }
        let intraStart = intraStartList, interStart = interStartList
        let d = query.columns
        // Chunks of 4,096 draws, each from its own generator stream: parallel, and the same
        // numbers on any number of cores.
        let chunkSize = 4096
        let chunkCount = (samples + chunkSize - 1) / chunkSize
        // The label arrays through pointers: slicing them in the loop would retain and release
        // their storage on every draw, from every thread at once.
        let partials: [(DistanceMoments, DistanceMoments)] = query.elements.withUnsafeBufferPointer { q in
            reference.elements.withUnsafeBufferPointer { r in
                labels.referenceStart.withUnsafeBufferPointer { startBuffer in
                    labels.referenceRows.withUnsafeBufferPointer { rowBuffer in
                        labels.queryClass.withUnsafeBufferPointer { classBuffer in
                            let qs = SendableConstPointer(q.baseAddress!), rs = SendableConstPointer(r.baseAddress!)
                            let starts = SendableConstPointer(startBuffer.baseAddress!)
                            let members = SendableConstPointer(rowBuffer.baseAddress!)
                            let classes = SendableConstPointer(classBuffer.baseAddress!)
                            let selfReference = labels.selfReference
                            return Parallel.map(chunkCount, grain: 1) { chunks in
                                chunks.map { chunk in
                                    var generator = SeededGenerator(seed: seed, stream: 0x4C31_0000 &+ UInt64(chunk))  // "L1"
                                    let draws = min(chunkSize, samples - chunk * chunkSize)
                                    func moments(_ start: [Int], _ pick: (Int, Int) -> Int) -> DistanceMoments {
                                        var result = DistanceMoments()
                                        let total = start[n]
                                        guard total > 0 else { return result }
                                        start.withUnsafeBufferPointer { start in
                                            for _ in 0..<draws {
                                                let u = Int.random(in: 0..<total, using: &generator)
                                                // The query whose range holds u: the last i with start[i] ≤ u.
                                                var low = 0, high = n
                                                while high - low > 1 {
                                                    let middle = (low + high) / 2
                                                    if start[middle] <= u { low = middle } else { high = middle }
                                                }
                                                let j = pick(low, u - start[low])
                                                let value = Double(l1Distance(qs.pointer + low * d, rs.pointer + j * d, d))
                                                result.merge(DistanceMoments(count: 1, mean: value, squaredDeviations: 0))
                                            }
                                        }
                                        return result
                                    }
                                    /// The rows of query i's class.
                                    func classRows(_ i: Int) -> UnsafeBufferPointer<Int32> {
                                        let c = Int(classes.pointer[i])
                                        return UnsafeBufferPointer(start: members.pointer + starts.pointer[c],
                                                                   count: starts.pointer[c + 1] - starts.pointer[c])
                                    }
                                    let intra = moments(intraStart) { i, t in
                                        // The t-th same-label reference of query i, skipping query i itself.
                                        let rows = classRows(i)
                                        var index = t
                                        if selfReference, let own = position(of: Int32(i), in: rows), own <= index { index += 1 }
                                        return Int(rows[index])
                                    }
                                    let inter = moments(interStart) { i, t in
                                        // The t-th reference of another label: t plus the same-label rows before it,
                                        // i.e. the number of s with rows[s] − s ≤ t (non-decreasing in s).
                                        let rows = classRows(i)
                                        var low = 0, high = rows.count
                                        while low < high {
                                            let middle = (low + high) / 2
                                            if Int(rows[middle]) - middle <= t { low = middle + 1 } else { high = middle }
                                        }
                                        return t + low
                                    }
                                    return (intra, inter)
                                }
                            }.flatMap { $0 }
                        }
                    }
                }
            }
        }
        var intra = DistanceMoments(), inter = DistanceMoments()
        for (a, b) in partials {
            intra.merge(a)
            inter.merge(b)
        }
        return (PairDistanceStatistics(intra: intra, intraPairs: Double(intraStart[n]), inter: inter,
                                       interPairs: Double(interStart[n])), samples)
    }

    /// The position of `value` in an ascending buffer, if present.
    static func position(of value: Int32, in rows: UnsafeBufferPointer<Int32>) -> Int? {
        var low = 0, high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if rows[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < rows.count && rows[low] == value ? low : nil
    }

    @inline(__always)
    static func l1Distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
        var sum: Float = 0
        for t in 0..<d { sum = Relaxed.sum(sum, abs(a[t] - b[t])) }
        return sum
    }

    /// Every pair's L1 distance, row by row.
    static func exactL1(query: Matrix<Float>, reference: Matrix<Float>, labels: EvaluationLabels) -> PairDistanceStatistics {
        let n = query.rows, m = reference.rows, d = query.columns
        let selfReference = labels.selfReference
        let partials: [DistanceMoments] = query.elements.withUnsafeBufferPointer { q in
            reference.elements.withUnsafeBufferPointer { r in
                labels.referenceRows.withUnsafeBufferPointer { classRows in
                    let qs = SendableConstPointer(q.baseAddress!), rs = SendableConstPointer(r.baseAddress!)
                    let allRows = SendableConstPointer(classRows.baseAddress!)
                    return Parallel.map(n, grain: max(1, 65_536 / max(1, m * d))) { range in
                        let row = UnsafeMutablePointer<Float>.allocate(capacity: m)
                        let relevant = UnsafeMutablePointer<Int32>.allocate(capacity: m)
                        defer {
                            row.deallocate()
                            relevant.deallocate()
                        }
                        var chunk = DistanceMoments()
                        for i in range {
                            let a = qs.pointer + i * d
                            for j in 0..<m { row[j] = l1Distance(a, rs.pointer + j * d, d) }
                            let c = Int(labels.queryClass[i])
                            var count = 0
                            for s in labels.referenceStart[c]..<labels.referenceStart[c + 1] {
                                let p = allRows.pointer[s]
                                if selfReference && Int(p) == i { continue }
                                relevant[count] = p
                                count += 1
                            }
                            chunk.merge(DistanceMoments.row(row, count: m, excluding: selfReference ? i : -1,
                                                            relevant: UnsafeBufferPointer(start: relevant, count: count),
                                                            squared: false))
                        }
                        return chunk
                    }
                }
            }
        }
        var total = DistanceMoments()
        for partial in partials { total.merge(partial) }
        return PairDistanceStatistics(exact: total)
    }
}
