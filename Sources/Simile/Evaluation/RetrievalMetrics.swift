/// PML's kNN metrics for one query, from the ranks of its relevant references.
///
/// Everything AccuracyCalculator computes from a query's k neighbours depends only on where the
/// same-label references sit in that list: with r₁ < r₂ < … their 1-based ranks, R the number of
/// same-label references (not counting the query itself) and K the number of neighbours,
///
/// - precision@1 = [r₁ = 1]
/// - R-precision = #{t : r_t ≤ min(R, K)} / min(R, K)
/// - MAP@R = (1/R) Σ_{t : r_t ≤ min(R, K)} t / r_t
/// - MAP = (1/R) Σ_{t : r_t ≤ K} t / r_t   (still divided by R when K < R, as in PML)
/// - reciprocal rank = 1 / r₁ if r₁ ≤ K, else 0
/// - recall@k = [r₁ ≤ k]
struct RetrievalMetrics: Sendable, Equatable {
    var precisionAt1 = 0.0
    var rPrecision = 0.0
    var mapAtR = 0.0
    var map = 0.0
    var reciprocalRank = 0.0
    /// r₁, or 0 when no relevant reference was among those searched.
    var firstRank: Int32 = 0

    init() {}

    /// - Parameters:
    ///   - ranks: the ranks found, ascending (any beyond K are ignored by the PML metrics).
    ///   - relevant: R, at least 1.
    ///   - depth: K, at least 1.
    init(ranks: UnsafeBufferPointer<Int32>, relevant: Int, depth: Int) {
        firstRank = ranks.first ?? 0
        let cutoff = min(relevant, depth)
        var hitsWithinCutoff = 0
        var sumWithinCutoff = 0.0, sumWithinDepth = 0.0
        for (t, rank) in ranks.enumerated() {
            let r = Int(rank)
            if r > depth { break }
            let precision = Double(t + 1) / Double(r)
            sumWithinDepth += precision
            if r <= cutoff {
                hitsWithinCutoff += 1
                sumWithinCutoff += precision
            }
        }
        precisionAt1 = firstRank == 1 ? 1 : 0
        rPrecision = Double(hitsWithinCutoff) / Double(cutoff)
        mapAtR = sumWithinCutoff / Double(relevant)
        map = sumWithinDepth / Double(relevant)
        reciprocalRank = firstRank >= 1 && Int(firstRank) <= depth ? 1 / Double(firstRank) : 0
    }

    /// The mean of `value` over the included queries, or, with `perClass`, the mean over classes
    /// of the per-class means (PML's `avg_of_avgs`). nil when no query is included.
    static func average(_ value: (Int) -> Double, included: [Int], classOf: (Int) -> Int, perClass: Bool) -> Double? {
        guard !included.isEmpty else { return nil }
        guard perClass else {
            var sum = 0.0
            for i in included { sum += value(i) }
            return sum / Double(included.count)
        }
        var sums: [Int: (sum: Double, count: Int)] = [:]
        for i in included {
            let c = classOf(i)
            let entry = sums[c] ?? (0, 0)
            sums[c] = (entry.sum + value(i), entry.count + 1)
        }
        var total = 0.0
        for c in sums.keys.sorted() {
            let entry = sums[c]!
            total += entry.sum / Double(entry.count)
        }
        return total / Double(sums.count)
    }
}
