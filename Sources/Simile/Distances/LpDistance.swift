import RealModule

/// The Lp distance ‖x̂ − ŷ‖ₚ raised to `power` (PML's `LpDistance`).
///
/// For p = 2 the matrix comes from one Gram product: d² = ‖x̂‖² + ‖ŷ‖² − 2x̂·ŷ. Where that
/// formula cancels badly (pairs much closer than their norms) the pair is recomputed directly,
/// so duplicates get exactly 0 and a zero subgradient. Other p use direct O(N·M·D) loops.
public struct LpDistance: Distance, Equatable {
    public static let orientation = Orientation.distance

    public static let descriptor = ComponentDescriptor(
        kind: .distance, name: "lp",
        summary: "Lp distance between (by default L2-normalised) embeddings, optionally raised to a power.",
        formula: "M[i,j] = ‖x̂ᵢ − ŷⱼ‖ₚ^power,  x̂ = x / max(‖x‖ₚ, 1e-12) when normalize",
        discussion: "p=2 goes through BLAS. A duplicate pair has distance exactly 0 and a zero subgradient.",
        reference: "PML LpDistance (default p=2, power=1, normalize_embeddings=True)",
        parameters: [
            .double("p", 2, range: .atLeast(1), doc: "the norm's exponent (2 = Euclidean, 1 = Manhattan)"),
            .double("power", 1, range: .greaterThan(0), doc: "exponent applied to the distance (2 = squared)"),
            .bool("normalize", true, doc: "divide each embedding by its Lp norm first"),
        ],
        examples: [["power=2"], ["normalize=false"], ["p=1"], ["p=3", "power=2"]])

    public let p: Double
    public let power: Double
    public let normalize: Bool

    public init(_ arguments: Arguments) throws {
        p = try arguments.double("p")
        power = try arguments.double("power")
        normalize = try arguments.bool("normalize")
    }

    init(p: Double, power: Double, normalize: Bool) {
        self.p = p
        self.power = power
        self.normalize = normalize
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func forward<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) throws -> PairwiseMatrix<S> {
        try checkDistanceInputs(x, y, Self.descriptor.name)
        let xn = normalize ? RowNormalization(x, p: p) : nil
        let yn = normalize ? y.map { RowNormalization($0, p: p) } : nil
        let xu = xn?.output ?? x
        let yu = y == nil ? nil : (yn?.output ?? y!)
        // p = 2 with power 2 is the squared distance straight from the Gram matrix.
        let squaredOnly = p == 2 && power == 2
        let distances = p == 2 ? LpKernels.euclidean(xu, yu, squared: squaredOnly) : LpKernels.distances(xu, yu, p: p)
        var values = distances
        if power != 1 && !squaredOnly {
            values.elements = distances.elements.map { S(Double.pow(Double($0), power)) }
        }
        var result = PairwiseMatrix(values: values, isSelf: y == nil, xUsed: xu, yUsed: yu,
                                    xNormalization: xn, yNormalization: yn)
        // The backward pass needs d itself when another power was applied.
        if power != 1 && !squaredOnly { result.rowScalars = distances.elements }
        return result
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func backward<S: SimileFloat>(_ upstream: Matrix<S>, _ forward: PairwiseMatrix<S>)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        if p == 2 && power == 2 {
            let (gx, gy) = LpKernels.euclideanBackward(upstream, forward.values, forward.xUsed, forward.yUsed,
                                                       squared: true)
            return forward.throughNormalization(gx, gy)
        }
        // dL/dd from dL/d(d^power).
        let d = power == 1 ? forward.values.elements : forward.rowScalars
        var dd = upstream
        if power != 1 {
            for index in dd.elements.indices {
                let di = Double(d[index])
                dd.elements[index] = di > 0 ? S(Double(upstream.elements[index]) * power * Double.pow(di, power - 1)) : 0
            }
        }
        var distances = forward.values
        distances.elements = d
        let (gx, gy): (Matrix<S>, Matrix<S>?)
        if p == 2 {
            (gx, gy) = LpKernels.euclideanBackward(dd, distances, forward.xUsed, forward.yUsed, squared: false)
        } else {
            (gx, gy) = LpKernels.backward(dd, distances, forward.xUsed, forward.yUsed, p: p)
        }
        return forward.throughNormalization(gx, gy)
    }
}

/// The Manhattan (L1) distance: `lp` with p = 1, as PML's `LpDistance(p=1)`.
public struct ManhattanDistance: Distance, Equatable {
    public static let orientation = Orientation.distance

    public static let descriptor = ComponentDescriptor(
        kind: .distance, name: "manhattan", aliases: ["l1"],
        summary: "L1 (Manhattan) distance; the same as lp(p=1).",
        formula: "M[i,j] = (Σₖ |x̂ᵢₖ − ŷⱼₖ|)^power,  x̂ = x / max(‖x‖₁, 1e-12) when normalize",
        discussion: "Normalisation divides by the L1 norm, as PML's LpDistance(p=1) does. Not a BLAS product: O(N·M·D).",
        reference: "PML LpDistance(p=1)",
        parameters: [
            .double("power", 1, range: .greaterThan(0), doc: "exponent applied to the distance"),
            .bool("normalize", true, doc: "divide each embedding by its L1 norm first"),
        ],
        examples: [["normalize=false"]])

    private let lp: LpDistance

    public init(_ arguments: Arguments) throws {
        lp = LpDistance(p: 1, power: try arguments.double("power"), normalize: try arguments.bool("normalize"))
    }

    public func forward<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?) throws -> PairwiseMatrix<S> {
        try lp.forward(x, y)
    }

    public func backward<S: SimileFloat>(_ upstream: Matrix<S>, _ forward: PairwiseMatrix<S>)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        lp.backward(upstream, forward)
    }
}

/// The loops behind `LpDistance`.
enum LpKernels {
    /// ‖xᵢ − yⱼ‖ (or its square) via the Gram matrix, clamped at 0. Pairs whose squared distance
    /// is below a cancellation threshold are recomputed directly, so near-duplicates are accurate
    /// and duplicates are exactly 0. Comparing x with itself uses `syrk` and fills both triangles
    /// in one blocked pass.
    static func euclidean<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?, squared: Bool) -> Matrix<S> {
        let sx = PairwiseAlgebra.squaredNorms(x)
        let sy = y.map { PairwiseAlgebra.squaredNorms($0) } ?? sx
        let d = x.columns
        let tolerance = 1024 * Double(S.ulpOfOne)
        let reference = y ?? x
        var g: Matrix<S>
        if y == nil {
            g = Matrix(rows: x.rows, columns: x.rows)
            x.elements.withUnsafeBufferPointer { px in
                g.elements.withUnsafeMutableBufferPointer { pg in
                    S.syrkLower(n: x.rows, k: d, alpha: 1, a: px.baseAddress!, lda: d, beta: 0,
                                c: pg.baseAddress!, ldc: x.rows)
                }
            }
        } else {
            g = Matrix.product(x, reference, transposeB: true)
        }
        let n = g.rows, m = g.columns
        x.elements.withUnsafeBufferPointer { px in
            reference.elements.withUnsafeBufferPointer { py in
                g.elements.withUnsafeMutableBufferPointer { pg in
                    let xs = SendableConstPointer(px.baseAddress!)
                    let ys = SendableConstPointer(py.baseAddress!)
                    let out = SendablePointer(pg.baseAddress!)
                    let sxs = sx.map { S($0) }, sys = sy.map { S($0) }
                    let tol = S(tolerance)
                    /// Pairs the Gram formula cannot resolve, recomputed from the rows.
                    @Sendable func exact(_ i: Int, _ j: Int) -> S {
                        var sum = 0.0
                        for k in 0..<d {
                            let diff = Double(xs.pointer[i * d + k]) - Double(ys.pointer[j * d + k])
                            sum += diff * diff
                        }
                        return S(sum)
                    }
                    if y == nil {
                        // Lower tiles from syrk; each value goes to (i, j) and (j, i).
                        let gram = SendableConstPointer(UnsafePointer(out.pointer))
                        sys.withUnsafeBufferPointer { normsBuffer in
                            let norms = SendableConstPointer(normsBuffer.baseAddress!)
                            PairwiseAlgebra.fillSymmetric(out.pointer, n) { rows, columns, diagonal, values, _ in
                                let j0 = columns.lowerBound
                                for i in rows {
                                    let si = sxs[i]
                                    let v = values + (i - rows.lowerBound) * PairwiseAlgebra.tile
                                    let g = gram.pointer + i * m + j0, sj = norms.pointer + j0
                                    let count = diagonal ? i - j0 : columns.count
                                    // Vectorisable main pass, then the rare exact recomputations.
                                    for k in 0..<count { v[k] = sj[k] + (si - 2 * g[k]) }
                                    for k in 0..<count where v[k] < tol * (si + sj[k]) { v[k] = exact(i, j0 + k) }
                                    if squared {
                                        for k in 0..<count { v[k] = Swift.max(v[k], 0) }
                                    } else {
                                        for k in 0..<count { v[k] = Swift.max(v[k], 0).squareRoot() }
                                    }
                                    if diagonal { v[i - j0] = 0 }
                                }
                            }
                        }
                    } else {
                        sys.withUnsafeBufferPointer { normsBuffer in
                            let norms = SendableConstPointer(normsBuffer.baseAddress!)
                            Parallel.forEach(n, grain: 32) { rows in
                                let sj = norms.pointer
                                for i in rows {
                                    let si = sxs[i]
                                    let o = out.pointer + i * m
                                    // Vectorisable main pass, then the rare exact recomputations.
                                    for j in 0..<m { o[j] = (si + sj[j]) - 2 * o[j] }
                                    for j in 0..<m where o[j] < tol * (si + sj[j]) { o[j] = exact(i, j) }
                                    if squared {
                                        for j in 0..<m { o[j] = Swift.max(o[j], 0) }
                                    } else {
                                        for j in 0..<m { o[j] = Swift.max(o[j], 0).squareRoot() }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return g
    }

    /// Backward of dᵢⱼ = ‖xᵢ − yⱼ‖ (or of d² when `squared`) for upstream U = dL/dM.
    /// With C = dL/d(d²) (U/(2d), 0 where d = 0, or U itself when squared):
    /// dxᵢ = 2(Σⱼ Cᵢⱼ·xᵢ − (C·Y)ᵢ), dyⱼ = 2(Σᵢ Cᵢⱼ·yⱼ − (Cᵀ·X)ⱼ); comparing X with itself,
    /// W = C + Cᵀ is formed in one blocked pass and needs a single product.
    static func euclideanBackward<S: SimileFloat>(_ u: Matrix<S>, _ distances: Matrix<S>, _ x: Matrix<S>,
                                                  _ y: Matrix<S>?, squared: Bool) -> (x: Matrix<S>, y: Matrix<S>?) {
        let n = u.rows, m = u.columns
        var c = Matrix<S>(rows: n, columns: m)
        u.elements.withUnsafeBufferPointer { pu in
            distances.elements.withUnsafeBufferPointer { pd in
                c.elements.withUnsafeMutableBufferPointer { pc in
                    let us = SendableConstPointer(pu.baseAddress!)
                    let ds = SendableConstPointer(pd.baseAddress!)
                    let out = SendablePointer(pc.baseAddress!)
                    if y == nil {
                        // W = C + Cᵀ, formed tile by tile: C(i, j) = U(i, j)/(2d) and C(j, i) = U(j, i)/(2d).
                        PairwiseAlgebra.fillSymmetric(out.pointer, n) { rows, columns, _, values, transposed in
                            PairwiseAlgebra.loadTransposed(us.pointer, n, rows: rows, columns: columns, into: transposed)
                            let width = columns.count
                            for i in rows {
                                let offset = (i - rows.lowerBound) * PairwiseAlgebra.tile
                                let v = values + offset, tr = transposed + offset
                                let u = us.pointer + i * m + columns.lowerBound, dist = ds.pointer + i * m + columns.lowerBound
                                if squared {
                                    for k in 0..<width { v[k] = u[k] + tr[k] }
                                } else {
                                    for k in 0..<width {
                                        let dij = dist[k]
                                        v[k] = dij > 0 ? (u[k] + tr[k]) / (2 * dij) : 0
                                    }
                                }
                            }
                        }
                    } else {
                        Parallel.forEach(n, grain: 32) { rows in
                            for i in rows {
                                let u = us.pointer + i * m, dist = ds.pointer + i * m, w = out.pointer + i * m
                                if squared {
                                    for j in 0..<m { w[j] = u[j] }
                                } else {
                                    for j in 0..<m {
                                        let dij = dist[j]
                                        w[j] = dij > 0 ? u[j] / (2 * dij) : 0
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard let y else {
            return (PairwiseAlgebra.scaledRowsMinus(PairwiseAlgebra.rowSums(c), x, Matrix.product(c, x), scale: 2), nil)
        }
        let gx = PairwiseAlgebra.scaledRowsMinus(PairwiseAlgebra.rowSums(c), x, Matrix.product(c, y), scale: 2)
        let gy = PairwiseAlgebra.scaledRowsMinus(PairwiseAlgebra.columnSums(c), y,
                                                 Matrix.product(c, transposeA: true, x), scale: 2)
        return (gx, gy)
    }

    /// ‖xᵢ − yⱼ‖ₚ by direct loops (any p ≥ 1).
    static func distances<S: SimileFloat>(_ x: Matrix<S>, _ y: Matrix<S>?, p: Double) -> Matrix<S> {
        let reference = y ?? x
        let n = x.rows, m = reference.rows, d = x.columns
        var result = Matrix<S>(rows: n, columns: m)
        x.elements.withUnsafeBufferPointer { px in
            reference.elements.withUnsafeBufferPointer { py in
                result.elements.withUnsafeMutableBufferPointer { pr in
                    let xs = SendableConstPointer(px.baseAddress!)
                    let ys = SendableConstPointer(py.baseAddress!)
                    let out = SendablePointer(pr.baseAddress!)
                    Parallel.forEach(n, grain: 16) { rows in
                        for i in rows {
                            for j in 0..<m {
                                var sum = 0.0
                                for k in 0..<d {
                                    let diff = Swift.abs(Double(xs.pointer[i * d + k]) - Double(ys.pointer[j * d + k]))
                                    sum += p == 1 ? diff : Double.pow(diff, p)
                                }
                                out.pointer[i * m + j] = S(p == 1 ? sum : Double.pow(sum, 1 / p))
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Backward of dᵢⱼ = ‖xᵢ − yⱼ‖ₚ for upstream U = dL/dd:
    /// ∂d/∂xᵢₖ = sign(δ)|δ|^(p−1) / d^(p−1) with δ = xᵢₖ − yⱼₖ (0 where d = 0).
    static func backward<S: SimileFloat>(_ u: Matrix<S>, _ dist: Matrix<S>, _ x: Matrix<S>, _ y: Matrix<S>?, p: Double)
        -> (x: Matrix<S>, y: Matrix<S>?) {
        let reference = y ?? x
        let n = x.rows, m = reference.rows, d = x.columns
        func partial(_ delta: Double, _ distance: Double) -> Double {
            let s: Double = delta > 0 ? 1 : (delta < 0 ? -1 : 0)
            if p == 1 { return s }
            return s * Double.pow(Swift.abs(delta) / distance, p - 1)
        }
        var gx = [Double](repeating: 0, count: n * d)
        var gy = [Double](repeating: 0, count: m * d)
        for i in 0..<n {
            for j in 0..<m {
                let coefficient = Double(u[i, j])
                let distance = Double(dist[i, j])
                guard coefficient != 0, distance > 0 else { continue }
                for k in 0..<d {
                    let g = coefficient * partial(Double(x[i, k]) - Double(reference[j, k]), distance)
                    gx[i * d + k] += g
                    gy[j * d + k] -= g
                }
            }
        }
        if y == nil { for index in gx.indices { gx[index] += gy[index] } }
        let gxMatrix = Matrix<S>(rows: n, columns: d, elements: gx.map { S($0) })
        guard y != nil else { return (gxMatrix, nil) }
        return (gxMatrix, Matrix<S>(rows: m, columns: d, elements: gy.map { S($0) }))
    }
}
