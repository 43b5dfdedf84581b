/// The row-wise pieces of the MLP's forward and backward passes (everything except the GEMMs).
///
/// Loops run over row chunks in parallel (`Parallel`, split by problem size only), each task
/// writing its own rows, and index through row pointers so that they vectorise. Column sums
/// (bias, γ and β gradients) accumulate in Double, chunk by chunk in a fixed order.
enum MLPKernels {
    /// LayerNorm's ε, PyTorch's default.
    static let layerNormEpsilon = 1e-5

    /// Rows per parallel task for a row width.
    static func grain(width: Int) -> Int { Swift.max(1, 16_384 / Swift.max(1, width)) }

    /// A rows × bias.columns matrix whose every row is `bias` (the start of x·Wᵀ + b).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func broadcast<S: SimileFloat>(_ bias: Matrix<S>, rows: Int) -> Matrix<S> {
        let width = bias.columns
        var result = Matrix<S>(rows: rows, columns: width)
        bias.elements.withUnsafeBufferPointer { source in
            result.elements.withUnsafeMutableBufferPointer { target in
                guard let base = target.baseAddress, let from = source.baseAddress else { return }
                for i in 0..<rows { (base + i * width).update(from: from, count: width) }
            }
        }
        return result
    }

    /// The block after a hidden Linear, in place on z (rows × width):
    /// u = γ·ẑ + β with ẑ = (z − mean)/√(var + ε) when `gamma` is given, then a = f(u), then
    /// a ⊙ mask when `mask` is given. When `cache` is true it also returns u, ẑ and 1/√(var + ε).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func hiddenForward<S: SimileFloat>(
        _ z: inout Matrix<S>, gamma: Matrix<S>?, beta: Matrix<S>?, activation: Activation, mask: Matrix<S>?,
        cache: Bool
    ) -> (preActivation: Matrix<S>?, normalized: Matrix<S>?, inverseDeviations: [S]?) {
        let rows = z.rows, width = z.columns
        var preActivation = cache ? Matrix<S>(rows: rows, columns: width) : nil
        var normalized = cache && gamma != nil ? Matrix<S>(rows: rows, columns: width) : nil
        var inverse = cache && gamma != nil ? [S](repeating: 0, count: rows) : nil
        let empty: [S] = []
        z.elements.withUnsafeMutableBufferPointer { zBuffer in
            (gamma?.elements ?? empty).withUnsafeBufferPointer { gammaBuffer in
                (beta?.elements ?? empty).withUnsafeBufferPointer { betaBuffer in
                    (mask?.elements ?? empty).withUnsafeBufferPointer { maskBuffer in
                        withOptionalPointer(&preActivation) { preBuffer in
                            withOptionalPointer(&normalized) { normBuffer in
                                withOptionalArrayPointer(&inverse) { inverseBuffer in
                                    let zp = SendablePointer(zBuffer.baseAddress!)
                                    // (An empty array's buffer has a base address too: test the optionals.)
                                    let gp = gamma == nil ? nil : gammaBuffer.baseAddress.map { SendableConstPointer($0) }
                                    let bp = beta == nil ? nil : betaBuffer.baseAddress.map { SendableConstPointer($0) }
                                    let mp = mask == nil ? nil : maskBuffer.baseAddress.map { SendableConstPointer($0) }
                                    let pre = preBuffer.map { SendablePointer($0) }
                                    let norm = normBuffer.map { SendablePointer($0) }
                                    let inv = inverseBuffer.map { SendablePointer($0) }
                                    Parallel.forEach(rows, grain: grain(width: width)) { range in
                                        for i in range {
                                            let row = zp.pointer + i * width
                                            if let gp, let bp {
                                                var sum = 0.0
                                                for k in 0..<width { sum += Double(row[k]) }
                                                let mean = sum / Double(width)
                                                var squares = 0.0
                                                for k in 0..<width {
                                                    let d = Double(row[k]) - mean
                                                    squares += d * d
                                                }
                                                let r = 1 / (squares / Double(width) + layerNormEpsilon).squareRoot()
                                                let m = S(mean), rs = S(r)
                                                inv?.pointer[i] = rs
                                                let n = norm.map { $0.pointer + i * width }
                                                for k in 0..<width {
                                                    let hat = (row[k] - m) * rs
                                                    n?[k] = hat
                                                    row[k] = gp.pointer[k] * hat + bp.pointer[k]
                                                }
                                            }
                                            if let pre { (pre.pointer + i * width).update(from: row, count: width) }
                                            activation.apply(row, row, count: width)
                                            if let mp {
                                                let m = mp.pointer + i * width
                                                for k in 0..<width { row[k] *= m[k] }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (preActivation, normalized, inverse)
    }

    /// The backward pass of `hiddenForward`, in place on g (dL/da → dL/dz). Returns dL/dγ and
    /// dL/dβ (1 × width) when the layer has LayerNorm.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func hiddenBackward<S: SimileFloat>(
        _ g: inout Matrix<S>, preActivation: Matrix<S>, normalized: Matrix<S>?, inverseDeviations: [S]?,
        gamma: Matrix<S>?, activation: Activation, mask: Matrix<S>?
    ) -> (gamma: Matrix<S>, beta: Matrix<S>)? {
        let rows = g.rows, width = g.columns
        let empty: [S] = []
        let hasNorm = gamma != nil
        let partials: [[Double]] = g.elements.withUnsafeMutableBufferPointer { gBuffer in
            preActivation.elements.withUnsafeBufferPointer { preBuffer in
                (normalized?.elements ?? empty).withUnsafeBufferPointer { normBuffer in
                    (inverseDeviations ?? empty).withUnsafeBufferPointer { invBuffer in
                        (gamma?.elements ?? empty).withUnsafeBufferPointer { gammaBuffer in
                            (mask?.elements ?? empty).withUnsafeBufferPointer { maskBuffer in
                                let gp = SendablePointer(gBuffer.baseAddress!)
                                let up = SendableConstPointer(preBuffer.baseAddress!)
                                // (An empty array's buffer has a base address too: test the optionals.)
                                let np = normalized == nil ? nil : normBuffer.baseAddress.map { SendableConstPointer($0) }
                                let ip = inverseDeviations == nil ? nil : invBuffer.baseAddress.map { SendableConstPointer($0) }
                                let gammaPointer = gamma == nil ? nil : gammaBuffer.baseAddress.map { SendableConstPointer($0) }
                                let mp = mask == nil ? nil : maskBuffer.baseAddress.map { SendableConstPointer($0) }
                                return Parallel.map(rows, grain: grain(width: width)) { range -> [Double] in
                                    // [dγ (width), dβ (width)] over this chunk's rows.
                                    var sums = [Double](repeating: 0, count: hasNorm ? 2 * width : 0)
                                    let scratch = UnsafeMutablePointer<S>.allocate(capacity: width)
                                    defer { scratch.deallocate() }
                                    for i in range {
                                        let row = gp.pointer + i * width
                                        if let mp {
                                            let m = mp.pointer + i * width
                                            for k in 0..<width { row[k] *= m[k] }
                                        }
                                        activation.multiplyByDerivative(up.pointer + i * width, row, count: width)
                                        guard let np, let ip, let gammaPointer else { continue }
                                        let hat = np.pointer + i * width
                                        let r = ip.pointer[i]
                                        // dẑ = g ⊙ γ; dz = r·(dẑ − mean(dẑ) − ẑ·mean(dẑ ⊙ ẑ))
                                        var meanD = 0.0, meanDH = 0.0
                                        sums.withUnsafeMutableBufferPointer { s in
                                            for k in 0..<width {
                                                let gk = Double(row[k]), hk = Double(hat[k])
                                                s[k] += gk * hk
                                                s[width + k] += gk
                                                let d = row[k] * gammaPointer.pointer[k]
                                                scratch[k] = d
                                                meanD += Double(d)
                                                meanDH += Double(d) * hk
                                            }
                                        }
                                        let a = S(meanD / Double(width)), b = S(meanDH / Double(width))
                                        for k in 0..<width { row[k] = r * (scratch[k] - a - hat[k] * b) }
                                    }
                                    return sums
                                }
                            }
                        }
                    }
                }
            }
        }
        guard hasNorm else { return nil }
        var total = [Double](repeating: 0, count: 2 * width)
        for part in partials {
            for k in 0..<(2 * width) { total[k] += part[k] }
        }
        return (Matrix(rows: 1, columns: width, elements: total[0..<width].map { S($0) }),
                Matrix(rows: 1, columns: width, elements: total[width...].map { S($0) }))
    }

    /// Σ over rows, as a 1 × columns matrix (accumulated in Double).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func columnSums<S: SimileFloat>(_ g: Matrix<S>) -> Matrix<S> {
        let rows = g.rows, width = g.columns
        let partials: [[Double]] = g.elements.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return [] }
            let p = SendableConstPointer(base)
            return Parallel.map(rows, grain: grain(width: width)) { range -> [Double] in
                var sums = [Double](repeating: 0, count: width)
                sums.withUnsafeMutableBufferPointer { s in
                    for i in range {
                        let row = p.pointer + i * width
                        for k in 0..<width { s[k] += Double(row[k]) }
                    }
                }
                return sums
            }
        }
        var total = [Double](repeating: 0, count: width)
        for part in partials {
            for k in 0..<width { total[k] += part[k] }
        }
        return Matrix(rows: 1, columns: width, elements: total.map { S($0) })
    }

    /// Calls `body` with a pointer to an optional matrix's elements (nil when it is nil).
    private static func withOptionalPointer<S, R>(_ matrix: inout Matrix<S>?,
                                                  _ body: (UnsafeMutablePointer<S>?) -> R) -> R {
        guard matrix != nil else { return body(nil) }
        return matrix!.elements.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }

    private static func withOptionalArrayPointer<S, R>(_ array: inout [S]?,
                                                       _ body: (UnsafeMutablePointer<S>?) -> R) -> R {
        guard array != nil else { return body(nil) }
        return array!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }
}
