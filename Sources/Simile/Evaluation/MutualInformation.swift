import RealModule

/// Normalised and adjusted mutual information between two labelings, as scikit-learn computes
/// them (`normalized_mutual_info_score`, `adjusted_mutual_info_score`, both with arithmetic
/// normalisation, which is what PML's AccuracyCalculator calls).
///
/// With n_ij the contingency table, a_i and b_j its row and column sums and N the number of
/// samples (natural logarithms):
///
///     MI  = Σ_ij (n_ij/N) · log(N·n_ij / (a_i·b_j))
///     H(U) = −Σ_i (a_i/N) · log(a_i/N)
///     NMI = MI / ((H(U) + H(V)) / 2)
///     EMI = Σ_ij Σ_{n=max(1, a_i+b_j−N)}^{min(a_i, b_j)} (n/N) · log(N·n/(a_i·b_j)) · P(n; a_i, b_j, N)
///     AMI = (MI − EMI) / ((H(U) + H(V)) / 2 − EMI)
///
/// where P(n; a, b, N) = C(a, n)·C(N−a, b−n) / C(N, b) is the hypergeometric probability: EMI is
/// the exact expected MI of two random labelings with the same class sizes (Vinh, Epps and
/// Bailey, 2010). scikit-learn's special cases are kept: one class on both sides (or no
/// samples) gives 1 for both; MI = 0 gives NMI 0; one class on one side only gives AMI 0; the
/// AMI numerator and denominator are kept at least machine epsilon away from 0, sign preserved.
///
/// EMI is summed from the mode of each hypergeometric distribution outwards and stops once a
/// probability falls below 1e-20 of the mode's (the distribution is log-concave, so the rest of
/// the tail is smaller still). scikit-learn sums every term; the two agree to about 1e-15, and
/// this is hundreds of times faster for large classes.
public enum MutualInformation {
    /// NMI with arithmetic normalisation. `labels` and `clusters` must have the same length.
    public static func normalized(labels: [Int], clusters: [Int]) -> Double {
        let table = Contingency(labels, clusters)
        if table.rows.count == table.columns.count && table.rows.count <= 1 { return 1 }
        let mi = table.mutualInformation()
        if mi == 0 { return 0 }
        return mi / ((entropy(table.rows, table.n) + entropy(table.columns, table.n)) / 2)
    }

    /// AMI with arithmetic normalisation and the exact expected mutual information.
    public static func adjusted(labels: [Int], clusters: [Int]) -> Double {
        let table = Contingency(labels, clusters)
        if table.rows.count == table.columns.count && table.rows.count <= 1 { return 1 }
        if table.rows.count == 1 || table.columns.count == 1 { return 0 }
        let mi = table.mutualInformation()
        let emi = expected(rows: table.rows, columns: table.columns, n: table.n)
        let normalizer = (entropy(table.rows, table.n) + entropy(table.columns, table.n)) / 2
        let eps = Double.ulpOfOne
        var denominator = normalizer - emi
        denominator = denominator < 0 ? min(denominator, -eps) : max(denominator, eps)
        var numerator = mi - emi
        numerator = numerator < 0 ? min(numerator, -eps) : max(numerator, eps)
        return numerator / denominator
    }

    /// The entropy (nats) of a labeling with these class sizes.
    static func entropy(_ sizes: [Int], _ n: Int) -> Double {
        guard sizes.count > 1 else { return 0 }
        let logN = Double.log(Double(n))
        var sum = 0.0
        for a in sizes { sum += Double(a) / Double(n) * (Double.log(Double(a)) - logN) }
        return -sum
    }

    /// The expected mutual information of two random labelings with these class sizes.
    static func expected(rows a: [Int], columns b: [Int], n: Int) -> Double {
        guard a.count > 1 && b.count > 1 else { return 0 }
        // logFactorial[k] = log k!
        var logFactorial = [Double](repeating: 0, count: n + 1)
        for k in 0...n { logFactorial[k] = Double.logGamma(Double(k + 1)) }
        let logN = Double.log(Double(n))
        var emi = 0.0
        for ai in a {
            for bj in b {
                let start = max(1, ai + bj - n), end = min(ai, bj)
                guard start <= end else { continue }
                let constant = logFactorial[ai] + logFactorial[bj] + logFactorial[n - ai] + logFactorial[n - bj]
                    - logFactorial[n]
                let logAB = Double.log(Double(ai)) + Double.log(Double(bj))
                func term(_ k: Int) -> (value: Double, probability: Double) {
                    let logP = constant - logFactorial[k] - logFactorial[ai - k] - logFactorial[bj - k]
                        - logFactorial[n - ai - bj + k]
                    let p = Double.exp(logP)
                    return (Double(k) / Double(n) * (logN + Double.log(Double(k)) - logAB) * p, p)
                }
                let mode = min(end, max(start, (ai + 1) * (bj + 1) / (n + 2)))
                let peak = term(mode)
                var sum = peak.value
                let floor = peak.probability * 1e-20
                var k = mode + 1
                while k <= end {
                    let next = term(k)
                    sum += next.value
                    if next.probability < floor { break }
                    k += 1
                }
                k = mode - 1
                while k >= start {
                    let next = term(k)
                    sum += next.value
                    if next.probability < floor { break }
                    k -= 1
                }
                emi += sum
            }
        }
        return emi
    }

    /// The non-zero cells of a contingency table, with its margins.
    struct Contingency {
        /// Row sums (per label) and column sums (per cluster), in sorted label order.
        var rows: [Int] = []
        var columns: [Int] = []
        /// (row, column, count) for every non-zero cell.
        var cells: [(row: Int, column: Int, count: Int)] = []
        let n: Int

        init(_ labels: [Int], _ clusters: [Int]) {
            precondition(labels.count == clusters.count, "labels and clusters differ in length")
            n = labels.count
            let labelIds = Self.dense(labels), clusterIds = Self.dense(clusters)
            rows = [Int](repeating: 0, count: labelIds.count)
            columns = [Int](repeating: 0, count: clusterIds.count)
            var counts: [Int: Int] = [:]
            for (label, cluster) in zip(labels, clusters) {
                let i = labelIds.ids[label]!, j = clusterIds.ids[cluster]!
                rows[i] += 1
                columns[j] += 1
                counts[i * clusterIds.count + j, default: 0] += 1
            }
            cells = counts.keys.sorted().map { ($0 / clusterIds.count, $0 % clusterIds.count, counts[$0]!) }
        }

        private static func dense(_ values: [Int]) -> (ids: [Int: Int], count: Int) {
            let sorted = Array(Set(values)).sorted()
            return (Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1, $0) }), sorted.count)
        }

        /// MI in nats, term by term as scikit-learn writes it (terms below machine epsilon are
        /// dropped, the sum is clipped at 0).
        func mutualInformation() -> Double {
            guard rows.count > 1 && columns.count > 1 else { return 0 }
            let total = Double(n), logTotal = Double.log(total)
            var sum = 0.0
            for cell in cells {
                let fraction = Double(cell.count) / total
                let logOuter = -Double.log(Double(rows[cell.row] * columns[cell.column])) + logTotal + logTotal
                let term = fraction * (Double.log(Double(cell.count)) - logTotal) + fraction * logOuter
                if abs(term) >= Double.ulpOfOne { sum += term }
            }
            return max(sum, 0)
        }
    }
}
