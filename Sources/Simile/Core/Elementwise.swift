import RealModule

/// Row-wise elementary functions for the hot loops.
///
/// `Float` uses a polynomial exp that the compiler vectorises (Cephes' expf coefficients,
/// Cody–Waite reduction; at most 1.2e-7 relative error, i.e. within 1 ulp), about ten times
/// faster than calling libm's expf per element. `Double` calls libm, so the finite-difference
/// tests, which run in Double, see exactly the library function.
public enum Elementwise {
    /// exp(x) for Float, vectorisable; 0 below −87.3 (where expf underflows), clamped above 88.4.
    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -87.33654), 88.37626)
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

    /// output[i] = exp(input[i]); input and output may be the same buffer.
    public static func exp(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = exp(input[i]) }
    }

    public static func exp(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { output[i] = Double.exp(input[i]) }
    }
}
