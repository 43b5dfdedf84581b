import RealModule

/// The scalar types Simile computes in: `Float` for work, `Double` for proofs.
///
/// Production code stores embeddings and pairwise matrices as `Float` and accumulates long sums
/// in `Double`. The same code instantiated at `Double` is what the finite-difference gradient
/// tests run, so that their central differences are accurate.
public protocol SimileFloat: Real, BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// C = alpha·op(A)·op(B) + beta·C on row-major buffers (CBLAS `?gemm`).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// The lower triangle of C = alpha·A·Aᵀ + beta·C on row-major buffers (CBLAS `?syrk`).
    static func syrkLower(
        n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// output[i] = exp(input[i]) over a row (see `Elementwise`); may work in place.
    static func exp(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)
}

extension Float: SimileFloat {
    public static func exp(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.exp(input, output, count: count)
    }

    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        BLAS.sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    public static func syrkLower(
        n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        BLAS.ssyrk(n, k, alpha, a, lda, beta, c, ldc)
    }
}

extension Double: SimileFloat {
    public static func exp(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        Elementwise.exp(input, output, count: count)
    }

    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        BLAS.dgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    public static func syrkLower(
        n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        BLAS.dsyrk(n, k, alpha, a, lda, beta, c, ldc)
    }
}
