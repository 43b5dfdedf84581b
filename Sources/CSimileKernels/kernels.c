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

const char *simile_kernel_isa(void) {
#if defined(__x86_64__) && defined(__linux__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
    return "baseline";
}
