/* add.c — elementwise sum of INPUTS tensors of one shape (a residual connection): out = x[0] + x[1] + ...
 * Backward: ∂out/∂x[k] = 1, so each input's gradient receives dout — written, or added where
 * DX_ACCUMULATE_LIST says another reader wrote it first (an input read twice by this layer gets 2·dout). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/add.c */
#include "nngen.h"
#define FN(name)           add_##name
#define COUNT              8    /* elements of each input and of the output */
#define OUT                0    /* out, the shape of every input */
#define INPUTS             2    /* inputs x[0], x[1], ... */
#define DX_ACCUMULATE_LIST 0, 0 /* per input: 1 adds to dx[k], 0 overwrites it */
#endif

/* Forward: out[i] = x[0][i] + x[1][i] + ..., summed left to right. */
void FN(forward)(real *mem, const real *const *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *x0 = x[0], *x1 = x[1];
    (void)train;
    (void)rng;
    for (long i = 0; i < COUNT; i++) out[i] = x0[i] + x1[i];
    for (int k = 2; k < INPUTS; k++) {
        const real *xk = x[k];
        for (long i = 0; i < COUNT; i++) out[i] += xk[i];
    }
}

#if NNGEN_BACKWARD
/* Backward: dx[k] = dout (or dx[k] += dout) for every input whose dx[k] is not NULL. */
void FN(backward)(real *mem, const real *const *x, const real *dout, real *const *dx, int train) {
    static const int accumulate[INPUTS] = {DX_ACCUMULATE_LIST};
    (void)mem;
    (void)x;
    (void)train;
    for (int k = 0; k < INPUTS; k++) {
        real *d = dx[k];
        if (!d) continue;
        if (accumulate[k])
            for (long i = 0; i < COUNT; i++) d[i] += dout[i];
        else
            for (long i = 0; i < COUNT; i++) d[i] = dout[i];
    }
}
#endif /* NNGEN_BACKWARD */
