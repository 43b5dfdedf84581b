#if canImport(Accelerate)
import Accelerate
#else
import CSimileBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#endif

/// The BLAS routines behind every Gram and distance matrix, and how they were loaded.
///
/// On Linux Simile loads OpenBLAS with `dlopen` the first time it is needed, rather than linking
/// it. Debian's OpenBLAS chooses its kernels in a constructor that runs when the library loads,
/// and on some CPUs it falls back to slow generic ("Prescott") kernels unless
/// `OPENBLAS_CORETYPE` is set by then. Loading it ourselves lets Simile set that variable from
/// the CPU's features first (AVX-512 → SkylakeX, AVX2 → Haswell). A value the user has set wins.
/// On macOS Simile calls Accelerate directly.
public enum BLAS {
    /// What is computing the matrix products.
    public struct Backend: Sendable, CustomStringConvertible {
        /// The library, e.g. `libopenblas.so.0` or `Accelerate`.
        public let library: String
        /// The library's own description of its build (OpenBLAS's `openblas_get_config`).
        public let configuration: String
        /// The kernel family in use, e.g. `SkylakeX`, `Haswell`, `Prescott`.
        public let kernel: String
        /// Why that kernel: chosen from CPU features, set by the user, or detected by the library.
        public let kernelSource: String
        /// Threads the library will use.
        public let threads: Int

        public var description: String {
            "\(library) (\(configuration)), kernel \(kernel) [\(kernelSource)], \(threads) thread(s)"
        }
    }

    /// Loads the library if needed; throws a clear error when there is none.
    public static func require() throws {
        #if !canImport(Accelerate)
        _ = try loaded.get()
        #endif
    }

    /// The loaded library, its kernel and thread count.
    public static func backend() throws -> Backend {
        #if canImport(Accelerate)
        return Backend(library: "Accelerate", configuration: "Apple Accelerate", kernel: "Accelerate",
                       kernelSource: "system", threads: 0)
        #else
        let library = try loaded.get()
        let kernel = library.corename.flatMap { $0() }.map { String(cString: $0) } ?? "unknown"
        let configuration = library.config.flatMap { $0() }.map { String(cString: $0) } ?? "configuration unknown"
        let threads = library.getThreads.map { Int($0()) } ?? 0
        return Backend(library: library.path, configuration: configuration, kernel: kernel,
                       kernelSource: library.kernelSource, threads: threads)
        #endif
    }

    /// Sets the number of threads the BLAS library uses (OpenBLAS only; ignored elsewhere).
    public static func setThreads(_ count: Int) throws {
        #if !canImport(Accelerate)
        try loaded.get().setThreads?(Int32(max(1, count)))
        #endif
    }

    // MARK: - The routines (callers must have called `require()`)

    static func sgemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        #if canImport(Accelerate)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #else
        library.sgemm(Int32(SIMILE_CBLAS_ROW_MAJOR), trans(ta), trans(tb), Int32(m), Int32(n), Int32(k),
                      alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #endif
    }

    static func dgemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
        _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        #if canImport(Accelerate)
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #else
        library.dgemm(Int32(SIMILE_CBLAS_ROW_MAJOR), trans(ta), trans(tb), Int32(m), Int32(n), Int32(k),
                      alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        #endif
    }

    static func ssyrk(
        _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        #if canImport(Accelerate)
        cblas_ssyrk(CblasRowMajor, CblasLower, CblasNoTrans, Int32(n), Int32(k), alpha, a, Int32(lda),
                    beta, c, Int32(ldc))
        #else
        library.ssyrk(Int32(SIMILE_CBLAS_ROW_MAJOR), Int32(SIMILE_CBLAS_LOWER), Int32(SIMILE_CBLAS_NO_TRANS),
                      Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
        #endif
    }

    static func dsyrk(
        _ n: Int, _ k: Int, _ alpha: Double, _ a: UnsafePointer<Double>, _ lda: Int,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        #if canImport(Accelerate)
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, Int32(n), Int32(k), alpha, a, Int32(lda),
                    beta, c, Int32(ldc))
        #else
        library.dsyrk(Int32(SIMILE_CBLAS_ROW_MAJOR), Int32(SIMILE_CBLAS_LOWER), Int32(SIMILE_CBLAS_NO_TRANS),
                      Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
        #endif
    }

    #if !canImport(Accelerate)
    private static func trans(_ t: Bool) -> Int32 {
        Int32(t ? SIMILE_CBLAS_TRANS : SIMILE_CBLAS_NO_TRANS)
    }

    /// The loaded library. Only valid after `require()` succeeded.
    private static var library: LoadedBLAS {
        switch loaded {
        case let .success(library): return library
        case let .failure(error): fatalError("BLAS used before BLAS.require(): \(error)")
        }
    }
    #endif
}

#if !canImport(Accelerate)
/// The symbols Simile uses, resolved from one loaded library.
final class LoadedBLAS: Sendable {
    let path: String
    let kernelSource: String
    let sgemm: simile_sgemm_fn
    let dgemm: simile_dgemm_fn
    let ssyrk: simile_ssyrk_fn
    let dsyrk: simile_dsyrk_fn
    let corename: simile_corename_fn?
    let config: simile_corename_fn?
    let setThreads: simile_set_threads_fn?
    let getThreads: simile_get_threads_fn?

    private init(path: String, kernelSource: String, handle: UnsafeMutableRawPointer) throws {
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            guard let pointer = dlsym(handle, name) else { return nil }
            return unsafeBitCast(pointer, to: type)
        }
        func required<T>(_ name: String, as type: T.Type) throws -> T {
            guard let function = symbol(name, as: type) else {
                throw SimileError.blasUnavailable(
                    "the BLAS library \(path) has no symbol '\(name)'; install OpenBLAS "
                        + "(apt-get install libopenblas0) or point SIMILE_BLAS_LIBRARY at a CBLAS library")
            }
            return function
        }
        self.path = path
        self.kernelSource = kernelSource
        sgemm = try required("cblas_sgemm", as: simile_sgemm_fn.self)
        dgemm = try required("cblas_dgemm", as: simile_dgemm_fn.self)
        ssyrk = try required("cblas_ssyrk", as: simile_ssyrk_fn.self)
        dsyrk = try required("cblas_dsyrk", as: simile_dsyrk_fn.self)
        corename = symbol("openblas_get_corename", as: simile_corename_fn.self)
        config = symbol("openblas_get_config", as: simile_corename_fn.self)
        setThreads = symbol("openblas_set_num_threads", as: simile_set_threads_fn.self)
        getThreads = symbol("openblas_get_num_threads", as: simile_get_threads_fn.self)
    }

    /// Chooses OpenBLAS's kernel from the CPU (unless the user already did), sets the process
    /// up for repeated large temporaries, then loads the library.
    static func load() -> Result<LoadedBLAS, SimileError> {
        let kernelSource = chooseCoreType()
        configureThreadsAndMemory()
        var candidates = ["libopenblas.so.0", "libopenblas.so", "libblas.so.3", "libcblas.so.3"]
        if let custom = getenv("SIMILE_BLAS_LIBRARY") {
            candidates.insert(String(cString: custom), at: 0)
        }
        var failures: [String] = []
        for path in candidates {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
                failures.append(dlerror().map { String(cString: $0) } ?? path)
                continue
            }
            do {
                return .success(try LoadedBLAS(path: path, kernelSource: kernelSource, handle: handle))
            } catch let error as SimileError {
                failures.append(error.description)
            } catch {
                failures.append("\(error)")
            }
        }
        return .failure(.blasUnavailable(
            "no BLAS library could be loaded (\(failures.joined(separator: "; "))). "
                + "Install OpenBLAS with `apt-get install libopenblas0` (or libopenblas-dev), "
                + "or set SIMILE_BLAS_LIBRARY to the path of a CBLAS library"))
    }

    /// Two process settings that decide how fast repeated loss calls are (measured in
    /// docs/benchmarks.md; each is skipped when the user has set it):
    /// - `OPENBLAS_THREAD_TIMEOUT=4`: OpenBLAS's workers otherwise spin in `sched_yield` for about
    ///   2²⁸ cycles after every call, taking the cores from Simile's own parallel loops.
    /// - glibc's mmap and trim thresholds raised to 32 MiB (its maximum) and 512 MiB: every N×N temporary
    ///   (4 MiB at N = 1024) would otherwise come fresh from the kernel and be page-faulted and
    ///   zeroed on each call, which cost ~40% of a forward+backward pass. Freed blocks are kept for
    ///   reuse instead. `SIMILE_KEEP_MALLOC_DEFAULTS=1` leaves malloc alone.
    private static func configureThreadsAndMemory() {
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil { setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) }
        if getenv("SIMILE_KEEP_MALLOC_DEFAULTS") == nil && getenv("MALLOC_MMAP_THRESHOLD_") == nil
            && getenv("GLIBC_TUNABLES") == nil {
            _ = simile_keep_large_blocks(32 << 20, 512 << 20)
        }
    }

    /// Sets `OPENBLAS_CORETYPE` from the CPU's vector extensions when the user has not set it.
    private static func chooseCoreType() -> String {
        if let user = getenv("OPENBLAS_CORETYPE") {
            return "OPENBLAS_CORETYPE=\(String(cString: user)) from the environment"
        }
        let features = simile_cpu_features()
        let choice: (name: String, why: String)?
        if features & Int32(SIMILE_CPU_AVX512) != 0 {
            choice = ("SkylakeX", "AVX-512")
        } else if features & Int32(SIMILE_CPU_AVX2_FMA) != 0 {
            choice = ("Haswell", "AVX2 and FMA")
        } else {
            choice = nil
        }
        guard let choice else { return "detected by the library" }
        setenv("OPENBLAS_CORETYPE", choice.name, 1)
        return "chosen by Simile from CPU features: \(choice.why)"
    }
}

private let loaded: Result<LoadedBLAS, SimileError> = LoadedBLAS.load()
#endif
