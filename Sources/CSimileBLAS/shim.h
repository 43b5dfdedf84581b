#ifndef SIMILE_BLAS_SHIM_H
#define SIMILE_BLAS_SHIM_H

/*
 * The CBLAS routines Simile calls, as C function-pointer types.
 *
 * Simile does not link a BLAS library at build time. It loads one with dlopen when first
 * needed, after choosing OpenBLAS's kernel for this CPU (OpenBLAS picks its kernel in a
 * constructor, before main, from OPENBLAS_CORETYPE). These typedefs pin the exact C ABI of
 * the symbols it looks up. The enum values are the standard CBLAS ones.
 */

enum {
    SIMILE_CBLAS_ROW_MAJOR = 101,
    SIMILE_CBLAS_NO_TRANS = 111,
    SIMILE_CBLAS_TRANS = 112,
    SIMILE_CBLAS_UPPER = 121,
    SIMILE_CBLAS_LOWER = 122,
};

typedef void (*simile_sgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k,
                                float alpha, const float *a, int lda, const float *b, int ldb,
                                float beta, float *c, int ldc);
typedef void (*simile_dgemm_fn)(int order, int trans_a, int trans_b, int m, int n, int k,
                                double alpha, const double *a, int lda, const double *b, int ldb,
                                double beta, double *c, int ldc);
typedef void (*simile_ssyrk_fn)(int order, int uplo, int trans, int n, int k,
                                float alpha, const float *a, int lda,
                                float beta, float *c, int ldc);
typedef void (*simile_dsyrk_fn)(int order, int uplo, int trans, int n, int k,
                                double alpha, const double *a, int lda,
                                double beta, double *c, int ldc);
typedef char *(*simile_corename_fn)(void);
typedef void (*simile_set_threads_fn)(int);
typedef int (*simile_get_threads_fn)(void);

/* Bits returned by simile_cpu_features(). */
enum {
    SIMILE_CPU_AVX2_FMA = 1,   /* AVX2 and FMA, with OS support for YMM state */
    SIMILE_CPU_AVX512 = 2,     /* AVX-512 F, CD, BW, DQ and VL, with OS support for ZMM state */
    SIMILE_CPU_AVX512_BF16 = 4 /* AVX-512 BF16 (Cooper Lake and later) */
};

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static inline unsigned long long simile_xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* The vector extensions this CPU and OS support, as SIMILE_CPU_* bits. */
static inline int simile_cpu_features(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int has_fma = (c >> 12) & 1, has_osxsave = (c >> 27) & 1, has_avx = (c >> 28) & 1;
    if (!has_osxsave || !has_avx) return 0;
    unsigned long long xcr0 = simile_xgetbv0();
    int ymm_ok = (xcr0 & 0x6) == 0x6;
    int zmm_ok = (xcr0 & 0xe6) == 0xe6;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int has_avx2 = (b >> 5) & 1;
    int has_avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 28) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
    int features = 0;
    if (ymm_ok && has_avx2 && has_fma) features |= SIMILE_CPU_AVX2_FMA;
    if (zmm_ok && has_avx512) {
        features |= SIMILE_CPU_AVX512;
        unsigned int a1, b1, c1, d1;
        if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) && ((a1 >> 5) & 1)) features |= SIMILE_CPU_AVX512_BF16;
    }
    return features;
}
#else
static inline int simile_cpu_features(void) { return 0; }
#endif

/* Raises glibc's mmap and trim thresholds so that large temporaries are reused rather than
   page-faulted in afresh on every call (see configureThreadsAndMemory in BLAS.swift).
   glibc refuses an mmap threshold above 32 MiB (HEAP_MAX), so that is the most it can be.
   Returns 1 when both settings were applied. */
#if defined(__linux__) && defined(__has_include)
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif
#endif
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
static inline int simile_keep_large_blocks(int mmap_threshold, int trim_threshold) {
    int mmap_set = mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    int trim_set = mallopt(M_TRIM_THRESHOLD, trim_threshold);
    /* Blocks above the (capped) mmap threshold, e.g. 64 MiB matrices at N = 4096, would still be
       mapped afresh on every call; serving every block from the heap keeps them for reuse. */
    int max_set = mallopt(M_MMAP_MAX, 0);
    return mmap_set && trim_set && max_set;
}
#else
static inline int simile_keep_large_blocks(int mmap_threshold, int trim_threshold) {
    (void)mmap_threshold; (void)trim_threshold; return 0;
}
#endif

#endif
