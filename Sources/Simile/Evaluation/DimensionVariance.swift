/// The variance of each embedding dimension over a set of embeddings.
///
/// Unbiased (divided by N − 1, as `torch.var` and `numpy.var(ddof=1)`), two passes in Double.
/// A dimension whose variance is near 0 carries no information; a very uneven spread shows
/// that a few dimensions dominate the distances.
enum DimensionVariance {
    /// One variance per column; nil for fewer than two rows.
    static func of(_ x: Matrix<Float>) -> [Double]? {
        let n = x.rows, d = x.columns
        guard n >= 2 else { return nil }
        var mean = [Double](repeating: 0, count: d)
        var squares = [Double](repeating: 0, count: d)
        x.elements.withUnsafeBufferPointer { buffer in
            mean.withUnsafeMutableBufferPointer { meanBuffer in
                squares.withUnsafeMutableBufferPointer { squareBuffer in
                    let means = meanBuffer.baseAddress!, sums = squareBuffer.baseAddress!
                    for i in 0..<n {
                        let row = buffer.baseAddress! + i * d
                        for t in 0..<d { means[t] += Double(row[t]) }
                    }
                    for t in 0..<d { means[t] /= Double(n) }
                    for i in 0..<n {
                        let row = buffer.baseAddress! + i * d
                        for t in 0..<d {
                            let deviation = Double(row[t]) - means[t]
                            sums[t] += deviation * deviation
                        }
                    }
                }
            }
        }
        return squares.map { $0 / Double(n - 1) }
    }
}
