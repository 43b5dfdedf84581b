/// Groups the classes of a batch by where their embeddings lie, so that a miner can look for
/// negatives only among neighbouring classes (`cascade clusters=K`).
///
/// Points are class representatives (unit vectors, `ClassMeans`). Two methods:
/// - `kmeans`: k-means++ seeding (seeded), then Lloyd iterations; O(C·K·D) per iteration.
/// - `hash`: the sign pattern of the representative on ⌈log₂ K⌉ seeded Gaussian directions
///   (random-hyperplane LSH, which keeps classes at a small angle together); O(C·D·log K), and
///   the same class lands in the same group as long as its mean keeps its side of each plane.
/// A group left with one class (it could offer no negative) joins the group with the nearest
/// centroid, repeatedly, so every group has at least two classes unless there is only one group.
enum LabelClustering {
    enum Method: String, CaseIterable, Sendable {
        case kmeans, hash
    }

    /// The group of each point (row of `points`), numbered 0..<groups in order of first
    /// appearance, and the number of groups.
    static func groups(_ points: Matrix<Double>, clusters: Int, method: Method, iterations: Int, seed: Int,
                       step: UInt64) -> (assignment: [Int], groups: Int) {
        let c = points.rows
        guard c > 1, clusters > 1 else { return ([Int](repeating: 0, count: c), c > 0 ? 1 : 0) }
        var assignment: [Int]
        switch method {
        case .kmeans:
            assignment = kmeans(points, k: max(1, min(clusters, c / 2)), iterations: iterations,
                                generator: SeededGenerator(seed: UInt64(seed), stream: step))
        case .hash:
            assignment = hash(points, clusters: clusters, seed: seed)
        }
        mergeSingletons(points, &assignment)
        // Renumber in order of first appearance.
        var number: [Int: Int] = [:]
        for (i, g) in assignment.enumerated() {
            if number[g] == nil { number[g] = number.count }
            assignment[i] = number[g]!
        }
        return (assignment, number.count)
    }

    static func squaredDistance(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ d: Int) -> Double {
        var sum = 0.0
        for k in 0..<d {
            let t = a[k] - b[k]
            sum += t * t
        }
        return sum
    }

    static func kmeans(_ points: Matrix<Double>, k: Int, iterations: Int, generator start: SeededGenerator) -> [Int] {
        var generator = start
        let c = points.rows, d = points.columns
        var centers = [Double](repeating: 0, count: k * d)
        var assignment = [Int](repeating: 0, count: c)
        points.elements.withUnsafeBufferPointer { p in
            let x = p.baseAddress!
            // k-means++: the first center uniformly, then each with probability ∝ squared distance.
            var nearest = [Double](repeating: .infinity, count: c)
            var chosen = Int.random(in: 0..<c, using: &generator)
            for center in 0..<k {
                for t in 0..<d { centers[center * d + t] = x[chosen * d + t] }
                var total = 0.0
                centers.withUnsafeBufferPointer { cs in
                    for i in 0..<c {
                        nearest[i] = min(nearest[i], squaredDistance(x + i * d, cs.baseAddress! + center * d, d))
                        total += nearest[i]
                    }
                }
                guard center + 1 < k else { break }
                if total > 0 {
                    var u = Double.random(in: 0..<total, using: &generator)
                    chosen = c - 1
                    for i in 0..<c {
                        u -= nearest[i]
                        if u < 0 {
                            chosen = i
                            break
                        }
                    }
                } else {
                    chosen = Int.random(in: 0..<c, using: &generator)
                }
            }
            // Lloyd iterations; ties go to the lower center; an empty cluster keeps its center.
            for iteration in 0..<max(iterations, 1) {
                var changed = iteration == 0
                centers.withUnsafeBufferPointer { cs in
                    for i in 0..<c {
                        var best = 0, bestValue = Double.infinity
                        for center in 0..<k {
                            let value = squaredDistance(x + i * d, cs.baseAddress! + center * d, d)
                            if value < bestValue {
                                bestValue = value
                                best = center
                            }
                        }
                        if assignment[i] != best { changed = true }
                        assignment[i] = best
                    }
                }
                if !changed { break }
                var sums = [Double](repeating: 0, count: k * d)
                var counts = [Int](repeating: 0, count: k)
                for i in 0..<c {
                    counts[assignment[i]] += 1
                    for t in 0..<d { sums[assignment[i] * d + t] += x[i * d + t] }
                }
                for center in 0..<k where counts[center] > 0 {
                    for t in 0..<d { centers[center * d + t] = sums[center * d + t] / Double(counts[center]) }
                }
            }
        }
        return assignment
    }

    static func hash(_ points: Matrix<Double>, clusters: Int, seed: Int) -> [Int] {
        let c = points.rows, d = points.columns
        var bits = 0
        while (1 << bits) < clusters { bits += 1 }
        var generator = SeededGenerator(seed: UInt64(seed), stream: 0x6C61_6265_6C68_6173)
        let planes = (0..<(bits * d)).map { _ in generator.nextGaussian() }
        return (0..<c).map { i in
            var code = 0
            for b in 0..<bits {
                var dot = 0.0
                for t in 0..<d { dot += points[i, t] * planes[b * d + t] }
                if dot >= 0 { code |= 1 << b }
            }
            return code
        }
    }

    /// Joins every one-class group to the group with the nearest centroid, in increasing group
    /// order. O(s·G·D) for s singletons among G groups.
    static func mergeSingletons(_ points: Matrix<Double>, _ assignment: inout [Int]) {
        let d = points.columns
        let names = Array(Set(assignment)).sorted()
        guard names.count > 1 else { return }
        var index: [Int: Int] = [:]
        for (g, name) in names.enumerated() { index[name] = g }
        var group = assignment.map { index[$0]! }
        var counts = [Int](repeating: 0, count: names.count)
        var sums = [Double](repeating: 0, count: names.count * d)
        var member = [Int](repeating: 0, count: names.count)
        for (i, g) in group.enumerated() {
            counts[g] += 1
            member[g] = i
            for t in 0..<d { sums[g * d + t] += points[i, t] }
        }
        var live = names.count
        for lonely in 0..<names.count where counts[lonely] == 1 && live > 1 {
            let point = member[lonely]
            var best = -1, bestValue = Double.infinity
            for g in 0..<names.count where g != lonely && counts[g] > 0 {
                var value = 0.0
                for t in 0..<d {
                    let diff = points[point, t] - sums[g * d + t] / Double(counts[g])
                    value += diff * diff
                }
                if value < bestValue {
                    bestValue = value
                    best = g
                }
            }
            group[point] = best
            counts[lonely] = 0
            counts[best] += 1
            for t in 0..<d { sums[best * d + t] += points[point, t] }
            live -= 1
        }
        assignment = group
    }
}
