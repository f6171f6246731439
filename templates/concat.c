/* concat.c — concatenation of INPUTS tensors along channels ([N, C_k, H, W] → [N, ΣC_k, H, W]) or
 * features ([N, D_k] → [N, ΣD_k]). Per sample, input k is one contiguous block of SIZES[k] elements, and
 * the output sample is those blocks one after another.
 * Backward: each input's gradient is its block of dout — written, or added where DX_ACCUMULATE_LIST says
 * another reader wrote it first. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/concat.c */
#include "nngen.h"
#define FN(name)           concat_##name
#define N                  2    /* batch */
#define SIZES              3, 5 /* elements per sample of each input: C_k·H·W, or D_k */
#define SAMPLE             8    /* elements per sample of the output: the sum of SIZES */
#define OUT                0    /* out (N, SAMPLE) */
#define INPUTS             2    /* inputs x[0], x[1], ... */
#define DX_ACCUMULATE_LIST 0, 0 /* per input: 1 adds to dx[k], 0 overwrites it */
#endif

/* Forward: out[n][offset_k + i] = x[k][n][i], with offset_k = SIZES[0] + ... + SIZES[k − 1]. */
void FN(forward)(real *mem, const real *const *x, int train, uint64_t rng) {
    static const long sizes[INPUTS] = {SIZES};
    (void)train;
    (void)rng;
    for (int n = 0; n < N; n++) {
        real *o = mem + OUT + (long)n * SAMPLE;
        for (int k = 0; k < INPUTS; k++) {
            memcpy(o, x[k] + n * sizes[k], (size_t)sizes[k] * sizeof(real));
            o += sizes[k];
        }
    }
}

#if NNGEN_BACKWARD
/* Backward: dx[k][n][i] = dout[n][offset_k + i] (or +=), for every input whose dx[k] is not NULL. */
void FN(backward)(real *mem, const real *const *x, const real *dout, real *const *dx, int train) {
    static const long sizes[INPUTS] = {SIZES};
    static const int accumulate[INPUTS] = {DX_ACCUMULATE_LIST};
    long offset = 0;
    (void)mem;
    (void)x;
    (void)train;
    for (int k = 0; k < INPUTS; offset += sizes[k], k++) {
        real *d = dx[k];
        if (!d) continue;
        for (int n = 0; n < N; n++) {
            const real *g = dout + (long)n * SAMPLE + offset;
            real *dn = d + n * sizes[k];
            if (accumulate[k])
                for (long i = 0; i < sizes[k]; i++) dn[i] += g[i];
            else
                for (long i = 0; i < sizes[k]; i++) dn[i] = g[i];
        }
    }
}
#endif /* NNGEN_BACKWARD */
