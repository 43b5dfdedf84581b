#include "simile_kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
#define SIMILE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMILE_CLONES
#endif

static inline float simile_minf(float a, float b) { return a < b ? a : b; }
static inline float simile_maxf(float a, float b) { return a > b ? a : b; }

/* The polynomial, shared by the in-place and the out-of-place loop. */
static inline float simile_exp1(float x) {
    /* Clamping at -86 (not expf's -87.34) keeps 2^k·e normal: subnormal results would take
       the slow microcode path, and masked entries sit exactly here. exp(-86) < 5e-38. */
    float c = simile_minf(simile_maxf(x, -86.0f), 88.37626f);
    /* k = round(c / ln 2) by the 1.5·2^23 trick; the low mantissa bits of t then hold k. */
    float t = c * 1.44269504f + 12582912.0f;
    float k = t - 12582912.0f;
    float r = c - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int32_t tb;
    memcpy(&tb, &t, sizeof tb);
    int32_t bits = (tb - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.33654f ? 0.0f : e * scale;
}

/* Separate loops for in place and out of place: with two pointers that may alias, the
   vectoriser's overlap check fails exactly when in == out and it falls back to scalar code. */
SIMILE_CLONES
static void simile_exp_f32_inplace(float *x, long n) {
    for (long i = 0; i < n; i++) x[i] = simile_exp1(x[i]);
}

SIMILE_CLONES
static void simile_exp_f32_copy(const float *restrict in, float *restrict out, long n) {
    for (long i = 0; i < n; i++) out[i] = simile_exp1(in[i]);
}

void simile_exp_f32(const float *in, float *out, long n) {
    if (in == out) {
        simile_exp_f32_inplace(out, n);
    } else {
        simile_exp_f32_copy(in, out, n);
    }
}

/* Sixteen float lanes: one AVX-512 register, two AVX2 or four SSE registers, with the same
   lane-wise arithmetic (and so the same rounding) in every clone. */
typedef float simile_f32x16 __attribute__((ext_vector_type(16)));

/* Adds the lanes of a1 and a2 to s1 and s2 in lane order (a macro: passing 16-float vectors to
   a function would depend on the clone's ABI). */
#define SIMILE_ADD_LANES(a1, a2, s1, s2)          \
    for (int lane = 0; lane < 16; lane++) {      \
        (s1) += (a1)[lane];                       \
        (s2) += (a2)[lane];                       \
    }

/* The sums of simile_shifted_sums_f32; take_sqrt is a constant at each call below, so every clone
   gets a loop without the test. */
static inline __attribute__((always_inline)) void simile_shifted_sums_body(const float *x, long n, float shift,
                                                                          int take_sqrt, double *sums) {
#pragma clang fp contract(off)
    double s1 = 0, s2 = 0;
    long i = 0;
    while (n - i >= 16) {
        long end = n - i >= 256 ? i + 256 : n - (n - i) % 16;
        simile_f32x16 a1 = 0, a2 = 0;
        for (; i < end; i += 16) {
            simile_f32x16 v;
            memcpy(&v, x + i, sizeof v);
            v = (take_sqrt ? __builtin_elementwise_sqrt(v) : v) - shift;
            a1 += v;
            a2 += v * v;
        }
        SIMILE_ADD_LANES(a1, a2, s1, s2)
    }
    for (; i < n; i++) {
        float v = (take_sqrt ? __builtin_sqrtf(x[i]) : x[i]) - shift;
        s1 += v;
        s2 += v * v;
    }
    sums[0] = s1;
    sums[1] = s2;
}

SIMILE_CLONES
static void simile_shifted_sums_sqrt(const float *x, long n, float shift, double *sums) {
    simile_shifted_sums_body(x, n, shift, 1, sums);
}

SIMILE_CLONES
static void simile_shifted_sums_plain(const float *x, long n, float shift, double *sums) {
    simile_shifted_sums_body(x, n, shift, 0, sums);
}

void simile_shifted_sums_f32(const float *x, long n, float shift, int take_sqrt, double *sums) {
    if (take_sqrt) {
        simile_shifted_sums_sqrt(x, n, shift, sums);
    } else {
        simile_shifted_sums_plain(x, n, shift, sums);
    }
}

const char *simile_kernel_isa(void) {
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
    return "baseline";
}
