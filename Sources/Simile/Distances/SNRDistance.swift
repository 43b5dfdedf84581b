/// The signal-to-noise-ratio distance Var(ŷ − x̂) / Var(x̂) over the embedding dimensions
/// (PML's `SNRDistance`, Yuan et al. 2019). It is asymmetric: the query row is the signal.
public struct SNRDistance: Distance, Equatable {
    public static let orientation = Orientation.distance

    public static let descriptor = ComponentDescriptor(
        kind: .distance, name: "snr",
        summary: "Signal-to-noise-ratio distance Var(ŷⱼ − x̂ᵢ)/Var(x̂ᵢ) over dimensions (asymmetric).",
        formula: "M[i,j] = Var_k(ŷⱼₖ − x̂ᵢₖ) / Var_k(x̂ᵢₖ)",
        discussion: """
            Needs at least 2 dimensions, and each query embedding must vary across its dimensions \
            (a constant row has no signal, and is reported as an error rather than giving infinity).
            """,
        reference: "PML SNRDistance; Yuan et al., Signal-to-Noise Ratio: A Robust Distance Metric for Deep Metric Learning, CVPR 2019",
        parameters: [.bool("normalize", true, doc: "L2-normalise the embeddings first")],
        examples: [["normalize=false"]])

    public let normalize: Bool

    public init(_ arguments: Arguments) throws {
        normalize = try arguments.bool("normalize")
    }

    init(normalize: Bool) {
        self.normalize = normalize
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func forward<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) throws -> PairwiseMatrix<S> {
        try checkDistanceInputs(x, y, Self.descriptor.name)
        let d = x.columns
        guard d >= 2 else {
            throw SimileError.incompatible("distance 'snr' needs embeddings with at least 2 dimensions; these have \(d)")
        }
        let xn = normalize ? RowNormalization(x) : nil
        let yn = normalize ? y.map { RowNormalization($0) } : nil
        let xu = xn?.output ?? x
        let yu = y == nil ? nil : (yn?.output ?? y!)
        let reference = yu ?? xu
        let dd = Double(d)
        let sx = rowSums(xu), sy = yu.map(rowSums) ?? sx
        let qx = PairwiseAlgebra.squaredNorms(xu), qy = yu.map { PairwiseAlgebra.squaredNorms($0) } ?? qx
        var anchorVariance = [Double](repeating: 0, count: x.rows)
        for i in 0..<x.rows {
            let mean = sx[i] / dd
            let variance = qx[i] / dd - mean * mean
            guard variance > 1e-12 * Swift.max(qx[i] / dd, 1e-300) else {
                throw SimileError.incompatible(
                    "distance 'snr': embeddings row \(i) is constant across its dimensions, so its variance "
                        + "(the signal) is 0 and the ratio is undefined; use another distance or check the embedding")
            }
            anchorVariance[i] = variance
        }
        var values = PairwiseAlgebra.innerProducts(xu, yu)
        let n = values.rows, m = values.columns
        let variances = anchorVariance
        let tolerance = 1024 * Double(S.ulpOfOne)
        values.elements.withUnsafeMutableBufferPointer { pv in
            xu.elements.withUnsafeBufferPointer { px in
                reference.elements.withUnsafeBufferPointer { py in
                    let out = SendablePointer(pv.baseAddress!)
                    let xs = SendableConstPointer(px.baseAddress!), ys = SendableConstPointer(py.baseAddress!)
                    Parallel.forEach(n, grain: 16) { rows in
                        for i in rows {
                            let row = out.pointer + i * m
                            let inverse = 1 / variances[i]
                            for j in 0..<m {
                                let meanDiff = (sy[j] - sx[i]) / dd
                                let scale = (qx[i] + qy[j]) / dd
                                var variance = scale - 2 * Double(row[j]) / dd - meanDiff * meanDiff
                                if variance < tolerance * scale {
                                    // Cancellation: recompute from the rows.
                                    var sum = 0.0, sumSquares = 0.0
                                    for k in 0..<d {
                                        let diff = Double(ys.pointer[j * d + k]) - Double(xs.pointer[i * d + k])
                                        sum += diff
                                        sumSquares += diff * diff
                                    }
                                    variance = sumSquares / dd - (sum / dd) * (sum / dd)
                                }
                                row[j] = S(Swift.max(variance, 0) * inverse)
                            }
                        }
                    }
                }
            }
        }
        var result = PairwiseMatrix(values: values, isSelf: y == nil, xUsed: xu, yUsed: yu,
                                    xNormalization: xn, yNormalization: yn)
        result.rowScalars = anchorVariance.map { S($0) }
        return result
    }

    /// With c = U/Var(x̂ᵢ), m = mean(ŷⱼ − x̂ᵢ), μᵢ = mean(x̂ᵢ), R = Σⱼc, T = Σⱼ c·M, K = Σᵢ c:
    /// dx̂ᵢ = (2/D)(Rᵢx̂ᵢ − (C·Ŷ)ᵢ + Σⱼ cᵢⱼmᵢⱼ − Tᵢ(x̂ᵢ − μᵢ)),  dŷⱼ = (2/D)(Kⱼŷⱼ − (Cᵀ·X̂)ⱼ − Σᵢ cᵢⱼmᵢⱼ).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func backward<S: SimileFloat>(_ upstream: Matrix<S>, _ forward: PairwiseMatrix<S>)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        let xu = forward.xUsed
        let yu = forward.yUsed ?? xu
        let n = xu.rows, m = yu.rows, d = xu.columns
        let dd = Double(d)
        let sx = rowSums(xu), sy = forward.yUsed.map(rowSums) ?? sx
        // Row statistics in parallel (each task owns its rows); column statistics afterwards.
        var c = upstream
        let rowStats: [(r: Double, t: Double, shift: Double)] = c.elements.withUnsafeMutableBufferPointer { pc in
            forward.values.elements.withUnsafeBufferPointer { pv in
                let cs = SendablePointer(pc.baseAddress!), vs = SendableConstPointer(pv.baseAddress!)
                return Parallel.map(n, grain: 16) { rows in
                    rows.map { i -> (r: Double, t: Double, shift: Double) in
                        let inverseVariance = 1 / Double(forward.rowScalars[i])
                        let row = cs.pointer + i * m, value = vs.pointer + i * m
                        var r = 0.0, t = 0.0, shift = 0.0
                        for j in 0..<m {
                            let cij = Double(row[j]) * inverseVariance
                            row[j] = S(cij)
                            r += cij
                            t += cij * Double(value[j])
                            shift += cij * (sy[j] - sx[i]) / dd
                        }
                        return (r, t, shift)
                    }
                }.flatMap { $0 }
            }
        }
        let r = rowStats.map(\.r), t = rowStats.map(\.t), rowShift = rowStats.map(\.shift)
        // K_j = Σᵢ cᵢⱼ and Σᵢ cᵢⱼ·mᵢⱼ = (s_yⱼ·K_j − Σᵢ cᵢⱼ·s_xᵢ) / D.
        var k = [Double](repeating: 0, count: m), weighted = k
        c.elements.withUnsafeBufferPointer { pc in
            for i in 0..<n {
                let row = pc.baseAddress! + i * m
                let sxi = sx[i]
                for j in 0..<m {
                    let cij = Double(row[j])
                    k[j] += cij
                    weighted[j] += cij * sxi
                }
            }
        }
        let columnShift = (0..<m).map { j in (sy[j] * k[j] - weighted[j]) / dd }
        let scale = 2 / dd
        func xPart(_ product: Matrix<S>) -> [Double] {
            var g = [Double](repeating: 0, count: n * d)
            for i in 0..<n {
                let mu = sx[i] / dd
                for kk in 0..<d {
                    let xv = Double(xu.elements[i * d + kk])
                    g[i * d + kk] = scale * (r[i] * xv - Double(product.elements[i * d + kk]) + rowShift[i] - t[i] * (xv - mu))
                }
            }
            return g
        }
        func yPart(_ product: Matrix<S>) -> [Double] {
            var g = [Double](repeating: 0, count: m * d)
            for j in 0..<m {
                for kk in 0..<d {
                    g[j * d + kk] = scale * (k[j] * Double(yu.elements[j * d + kk]) - Double(product.elements[j * d + kk]) - columnShift[j])
                }
            }
            return g
        }
        if forward.isSelf {
            // dX = x-slot + y-slot; the two products merge into (C + Cᵀ)·X̂.
            let product = Matrix.product(PairwiseAlgebra.symmetrizedSum(c), xu)
            var zero = product
            for index in zero.elements.indices { zero.elements[index] = 0 }
            let gx = xPart(product), gy = yPart(zero)
            let total = Matrix<S>(rows: n, columns: d, elements: zip(gx, gy).map { S($0 + $1) })
            return forward.throughNormalization(total, nil)
        }
        let gx = Matrix<S>(rows: n, columns: d, elements: xPart(Matrix.product(c, yu)).map { S($0) })
        let gy = Matrix<S>(rows: m, columns: d, elements: yPart(Matrix.product(c, transposeA: true, xu)).map { S($0) })
        return forward.throughNormalization(gx, gy)
    }

    private func rowSums<S: SimileFloat>(_ x: Matrix<S>) -> [Double] {
        (0..<x.rows).map { i in x.row(i).reduce(0.0) { $0 + Double($1) } }
    }
}
