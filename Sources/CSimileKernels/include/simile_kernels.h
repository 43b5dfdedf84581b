#ifndef SIMILE_KERNELS_H
#define SIMILE_KERNELS_H

/*
 * Element-wise kernels that must run at the CPU's full vector width.
 *
 * Swift has no function multiversioning, and compiling Swift for a target CPU makes the binary
 * non-portable. These few loops are C compiled with `target_clones`, so the loader picks an
 * AVX-512, AVX2 or baseline version at run time (on x86-64 Linux; a plain build elsewhere).
 */

/* out[i] = exp(in[i]) for n floats; in and out are the same buffer or do not overlap.
   Cephes' expf polynomial with Cody–Waite reduction: at most 1.2e-7 relative error (≤ 1 ulp)
   for x ≥ −86; exp(−86) ≈ 4.5e-38 for −87.34 ≤ x < −86 (an absolute error below 5e-38, which
   keeps every intermediate normal: subnormals are slow); 0 below −87.34; saturating above 88.38. */
void simile_exp_f32(const float *in, float *out, long n);

/* sums[0] = Σ (f(x[i]) − shift) and sums[1] = Σ (f(x[i]) − shift)² over n floats, where f is the
   square root when take_sqrt is nonzero and the identity otherwise. Each block of 256 elements is
   summed in float in 16 fixed lanes (no fused multiply-add), the lanes and blocks in double in
   a fixed order: the result is the same with every instruction set. */
void simile_shifted_sums_f32(const float *x, long n, float shift, int take_sqrt, double *sums);

/* The instruction set the dispatcher chose for simile_exp_f32: "avx512f", "avx2" or "baseline". */
const char *simile_kernel_isa(void);

#endif
