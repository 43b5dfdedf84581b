import CSimileKernels
import RealModule

/// Row-wise elementary functions for the hot loops.
///
/// `Float` rows go through `simile_exp_f32` (CSimileKernels): a polynomial exp (Cephes' expf
/// coefficients, Cody–Waite reduction; at most 1.2e-7 relative error, within 1 ulp) compiled for
/// AVX-512, AVX2 and baseline and chosen at run time: about 90 times faster than libm's expf per
/// element with AVX-512. `Double` calls libm, so the finite-difference tests, which run in
/// Double, see exactly the library function. `exp(_: Float)` is the same polynomial for scalars.
public enum Elementwise {
    /// exp(x) for Float, vectorisable; 0 below −87.3 (where expf underflows), clamped above 88.4.
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -86), 88.37626)  // see simile_exp_f32 on the −86
        // n = round(x / ln 2) by the 1.5·2²³ trick, whose low mantissa bits then hold n.
        let t = clamped * 1.44269504 + 12_582_912.0
        let n = t - 12_582_912.0
        let r = clamped - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let e = p * r * r + r + 1
        let bits = (Int32(bitPattern: t.bitPattern) &- 0x4B40_0000 &+ 127) << 23
        let result = e * Float(bitPattern: UInt32(bitPattern: bits))
        return x < -87.33654 ? 0 : result
    }

    /// log(1 + eˣ) without overflow for large x or loss of precision for very negative x.
    @inline(__always)
    public static func softplus(_ x: Double) -> Double {
        x > 0 ? x + Double.log(onePlus: Double.exp(-x)) : Double.log(onePlus: Double.exp(x))
    }

    /// output[i] = exp(input[i]); input and output may be the same buffer.
    public static func exp(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        simile_exp_f32(input, output, count)
    }

    /// The vector instruction set the element-wise kernels run with ("avx512f", "avx2", "baseline").
    public static var instructionSet: String { String(cString: simile_kernel_isa()) }

    public static func exp(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { output[i] = Double.exp(input[i]) }
    }

    /// (Σⱼ [posⱼ > 0]·vⱼ, Σⱼ [negⱼ > 0]·vⱼ) in Double. The additions may be reassociated
    /// (`Relaxed.sum`), which lets the loop vectorise; a row of N terms loses nothing measurable.
    @inline(__always)
    public static func maskedSums<S: SimileFloat>(_ v: UnsafePointer<S>, _ positives: UnsafePointer<Int32>,
                                                 _ negatives: UnsafePointer<Int32>, count: Int) -> (Double, Double) {
        var sumPositive = 0.0, sumNegative = 0.0
        for j in 0..<count {
            let x = Double(v[j])
            sumPositive = Relaxed.sum(sumPositive, positives[j] > 0 ? x : 0)
            sumNegative = Relaxed.sum(sumNegative, negatives[j] > 0 ? x : 0)
        }
        return (sumPositive, sumNegative)
    }

    /// (max over positives of a·(vⱼ − base), max over negatives of b·(vⱼ − base)), each at least 0
    /// (the zero logit of a log(1 + Σ) term). A max reduction cannot be vectorised without
    /// giving up NaN semantics, so this keeps four independent accumulators per side instead.
    @inline(__always)
    public static func maskedScaledMax<S: SimileFloat>(
        _ v: UnsafePointer<S>, _ positives: UnsafePointer<Int32>, _ negatives: UnsafePointer<Int32>, count: Int,
        base: S, a: S, b: S
    ) -> (S, S) {
        var p0: S = 0, p1: S = 0, p2: S = 0, p3: S = 0
        var n0: S = 0, n1: S = 0, n2: S = 0, n3: S = 0
        @inline(__always) func step(_ j: Int, _ mp: inout S, _ mn: inout S) {
            let x = v[j] - base
            let up = positives[j] > 0 ? a * x : 0, un = negatives[j] > 0 ? b * x : 0
            mp = up > mp ? up : mp
            mn = un > mn ? un : mn
        }
        var j = 0
        while j + 4 <= count {
            step(j, &p0, &n0)
            step(j + 1, &p1, &n1)
            step(j + 2, &p2, &n2)
            step(j + 3, &p3, &n3)
            j += 4
        }
        while j < count {
            step(j, &p0, &n0)
            j += 1
        }
        return (Swift.max(Swift.max(p0, p1), Swift.max(p2, p3)), Swift.max(Swift.max(n0, n1), Swift.max(n2, n3)))
    }
}
