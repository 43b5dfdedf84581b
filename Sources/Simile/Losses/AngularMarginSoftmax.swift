import RealModule

/// The computation behind arcface, cosface, sphereface and sub-center-arcface: a softmax
/// cross-entropy over the cosines between the embeddings and the class weights, with a margin
/// applied to the target class's cosine.
///
/// Forward: one GEMM (through `CosineSimilarity`) gives the N×(C·K) cosines; with K sub-centers
/// each class keeps its best one. Each row's logits and cross-entropy (max-shifted, summed in
/// Double) give ℓᵢ and dℓᵢ/dcos in place. Backward: dL/dcos goes back to the embeddings and the
/// weights by two more GEMMs and the two row normalisations.
struct AngularMarginSoftmax: Sendable {
    /// How the target class's cosine c = cos θ is modified.
    enum Target: Sendable {
        /// ArcFace: cos(θ + m) while θ ≤ π − m, else cos θ − m·sin m (m in radians).
        case additiveAngle(Double)
        /// CosFace: cos θ − m.
        case additiveCosine(Double)
        /// SphereFace: ψ(θ) = (−1)ᵏ·cos(mθ) − 2k, k = ⌊θ·m/π⌋, with cos(mθ) = T_m(c).
        case multiplicativeAngle(Int)
    }

    let numClasses: Int
    let subCenters: Int
    let embeddingSize: Int
    let target: Target
    let scale: Double
    /// Multiply the logits by ‖xᵢ‖ (SphereFace, L-Softmax).
    let embeddingNorm: Bool
    /// Multiply the logits by ‖W_c‖ as well (L-Softmax).
    let weightNorm: Bool
    let smoothing: Double
    let reducer: any Reducer
    let loss: String
    /// T_m(c) = Σₙ coefficientₙ·c^(m−2n)·(1 − c²)ⁿ (the multiple-angle formula), for SphereFace.
    private let chebyshev: [Double]

    /// Below this, sin θ is held fixed in the derivative of acos, which would be infinite at c = ±1.
    static let sineFloor = 1e-4

    init(numClasses: Int, subCenters: Int = 1, embeddingSize: Int, target: Target, scale: Double,
         embeddingNorm: Bool = false, weightNorm: Bool = false, smoothing: Double, reducer: any Reducer, loss: String) {
        self.numClasses = numClasses
        self.subCenters = subCenters
        self.embeddingSize = embeddingSize
        self.target = target
        self.scale = scale
        self.embeddingNorm = embeddingNorm
        self.weightNorm = weightNorm
        self.smoothing = smoothing
        self.reducer = reducer
        self.loss = loss
        if case let .multiplicativeAngle(m) = target {
            chebyshev = (0...(m / 2)).map { n in
                (n % 2 == 0 ? 1 : -1) * AngularMarginSoftmax.binomial(m, 2 * n)
            }
        } else {
            chebyshev = []
        }
    }

    static func binomial(_ n: Int, _ k: Int) -> Double {
        var result = 1.0
        for i in 0..<k { result = result * Double(n - i) / Double(i + 1) }
        return result
    }

    @inline(__always)
    private static func power(_ x: Double, _ k: Int) -> Double {
        var result = 1.0
        for _ in 0..<k { result *= x }
        return result
    }

    /// The modified target cosine ψ(c) and dψ/dc.
    @inline(__always)
    func modified(_ c: Double) -> (value: Double, slope: Double) {
        switch target {
        case let .additiveCosine(m):
            return (c - m, 1)
        case let .additiveAngle(m):
            let clamped = Swift.min(Swift.max(c, -1), 1)
            let theta = Double.acos(clamped)
            guard theta <= Double.pi - m else { return (clamped - m * Double.sin(m), 1) }
            // d cos(θ + m)/dc = sin(θ + m)/sin θ; sin θ → 0 at c = ±1.
            let sine = Swift.max((1 - clamped * clamped).squareRoot(), AngularMarginSoftmax.sineFloor)
            return (Double.cos(theta + m), Double.sin(theta + m) / sine)
        case let .multiplicativeAngle(m):
            let theta = Double.acos(Swift.min(Swift.max(c, -1), 1))
            let k = (theta / (Double.pi / Double(m))).rounded(.down)
            let sign: Double = Int(k) % 2 == 0 ? 1 : -1
            // T_m(c) and T_m'(c) from the expansion (a polynomial in c, smooth everywhere).
            let s = 1 - c * c
            var value = 0.0, slope = 0.0
            for (n, coefficient) in chebyshev.enumerated() {
                let p = m - 2 * n
                value += coefficient * Self.power(c, p) * Self.power(s, n)
                if p > 0 { slope += coefficient * Double(p) * Self.power(c, p - 1) * Self.power(s, n) }
                if n > 0 { slope -= coefficient * 2 * Double(n) * Self.power(c, p + 1) * Self.power(s, n - 1) }
            }
            return (sign * value - 2 * k, sign * slope)
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func compute<S: SimileFloat>(_ input: LossInput<S>) throws -> LossOutput<S> {
        let labels = try input.classLabels(loss)
        try ClassifierSupport.check(labels, numClasses: numClasses, columns: input.embeddings.columns,
                                    embeddingSize: embeddingSize, loss: loss)
        let weights = try ClassifierSupport.parameter(input, "weights", loss: loss)
        let x = input.embeddings
        let n = x.rows, c = numClasses, k = subCenters, width = c * k
        let minerWeights = ClassifierSupport.minerWeights(input.tuples, count: n)
        let cosine = CosineSimilarity()
        let matrix = try cosine.forward(x, weights)

        let embeddingNorms: [Double] = embeddingNorm ? Self.rowNorms(x) : []
        let weightNorms: [Double] = weightNorm ? Self.rowNorms(weights) : []
        let scale = self.scale, smoothing = self.smoothing, useEmbeddingNorm = embeddingNorm
        let useWeightNorm = weightNorm
        let engine = self

        // Per row: class cosines (best sub-center), logits, cross-entropy; dℓ/dcos written in place.
        var upstream = Matrix<S>(rows: n, columns: c)
        var best = [Int32](repeating: 0, count: k > 1 ? n * c : 0)
        let results: [RowResult] = matrix.values.elements.withUnsafeBufferPointer { values in
            upstream.elements.withUnsafeMutableBufferPointer { target in
                best.withUnsafeMutableBufferPointer { bestBuffer in
                    let m = SendableConstPointer(values.baseAddress!), out = SendablePointer(target.baseAddress!)
                    let bestPointer = bestBuffer.baseAddress.map { SendablePointer($0) }
                    let chunks = Parallel.map(n, grain: Swift.max(1, 8_192 / width)) { range -> [RowResult] in
                        let cosines = UnsafeMutablePointer<S>.allocate(capacity: c)
                        defer { cosines.deallocate() }
                        return range.map { i in
                            let row = m.pointer + i * width, z = out.pointer + i * c
                            if k == 1 {
                                cosines.update(from: row, count: c)
                            } else {
                                let b = bestPointer!.pointer + i * c
                                for j in 0..<c {
                                    var top = row[j * k], index: Int32 = 0
                                    for q in 1..<k where row[j * k + q] > top {
                                        top = row[j * k + q]
                                        index = Int32(q)
                                    }
                                    cosines[j] = top
                                    b[j] = index
                                }
                            }
                            let y = labels[i]
                            var factor = scale
                            if useEmbeddingNorm { factor *= embeddingNorms[i] }
                            let (psi, slope) = engine.modified(Double(cosines[y]))
                            if useWeightNorm {
                                for j in 0..<c { z[j] = S(factor * weightNorms[j]) * cosines[j] }
                            } else {
                                let f = S(factor)
                                for j in 0..<c { z[j] = f * cosines[j] }
                            }
                            let targetFactor = factor * (useWeightNorm ? weightNorms[y] : 1)
                            z[y] = S(targetFactor * psi)
                            let value = ClassifierSupport.crossEntropy(z, count: c, target: y, smoothing: smoothing)
                            // z now holds g = dℓ/dz.
                            var result = RowResult(value: value, normSlope: 0, targetProduct: Double(z[y]) * targetFactor * psi)
                            if useEmbeddingNorm {
                                var sum = 0.0
                                for j in 0..<c {
                                    sum += Double(z[j]) * Double(cosines[j]) * (useWeightNorm ? weightNorms[j] : 1)
                                }
                                sum += Double(z[y]) * (useWeightNorm ? weightNorms[y] : 1) * (psi - Double(cosines[y]))
                                result.normSlope = scale * sum
                            }
                            // dℓ/dcos = g·factor, and ·ψ' at the target.
                            let gy = Double(z[y])
                            if useWeightNorm {
                                for j in 0..<c { z[j] = S(factor * weightNorms[j]) * z[j] }
                            } else {
                                let f = S(factor)
                                for j in 0..<c { z[j] = f * z[j] }
                            }
                            z[y] = S(gy * targetFactor * slope)
                            return result
                        }
                    }
                    return chunks.flatMap { $0 }
                }
            }
        }

        let (reduction, factors) = try ClassifierSupport.reducePerSample(
            results.map(\.value), minerWeights: minerWeights, reducer: reducer, labels: labels, loss: loss)
        upstream.scaleRows { factors[$0] }

        // Through ‖W_c‖ (L-Softmax): dL/d‖W_c‖ = Σᵢ fᵢ·gᵢ_c·zᵢ_c / ‖W_c‖.
        var weightNormSlope = [Double](repeating: 0, count: useWeightNorm ? c : 0)
        if useWeightNorm {
            for i in 0..<n {
                let y = labels[i]
                for j in 0..<c where j != y {
                    weightNormSlope[j] += Double(upstream[i, j]) * Double(matrix.values[i, j])
                }
                weightNormSlope[y] += factors[i] * results[i].targetProduct
            }
        }

        // Back to all C·K columns: each class's gradient goes to its best sub-center.
        let full: Matrix<S>
        if k == 1 {
            full = upstream
        } else {
            var spread = Matrix<S>(rows: n, columns: width)
            for i in 0..<n {
                for j in 0..<c { spread[i, j * k + Int(best[i * c + j])] = upstream[i, j] }
            }
            full = spread
        }
        let backward = cosine.backward(full, matrix)
        var gradient = backward.x, weightGrad = backward.y!
        if useEmbeddingNorm {
            // dL/dx += (Σ fᵢ·dℓᵢ/d‖xᵢ‖)·xᵢ/‖xᵢ‖ (zero at x = 0, as torch's norm gives).
            for i in 0..<n where embeddingNorms[i] > 0 {
                let s = factors[i] * results[i].normSlope / embeddingNorms[i]
                for d in 0..<x.columns { gradient[i, d] += S(s * Double(x[i, d])) }
            }
        }
        if useWeightNorm {
            for j in 0..<c where weightNorms[j] > 0 {
                let s = weightNormSlope[j] / (weightNorms[j] * weightNorms[j])
                for d in 0..<weights.columns { weightGrad[j, d] += S(s * Double(weights[j, d])) }
            }
        }
        return LossAssembly.finish(input, gradient: gradient, referenceGradient: nil,
                                   terms: [("loss", reduction.value, reduction.included)],
                                   parameterGradients: ["weights": weightGrad])
    }

    /// One row's loss and the two sums the norm gradients need.
    struct RowResult: Sendable {
        var value: Double
        /// Σ_c dℓ/dz_c·z_c/‖x‖, for the gradient through ‖x‖.
        var normSlope: Double
        /// dℓ/dz_y·z_y, for the gradient through ‖W_y‖.
        var targetProduct: Double
    }

    /// ‖row‖₂ of each row, in Double.
    static func rowNorms<S: SimileFloat>(_ m: Matrix<S>) -> [Double] {
        (0..<m.rows).map { i in
            var sum = 0.0
            for d in 0..<m.columns { sum += Double(m[i, d]) * Double(m[i, d]) }
            return sum.squareRoot()
        }
    }
}
