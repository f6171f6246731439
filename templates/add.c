/* add.c — elementwise sum of INPUTS tensors of one shape (a residual connection): out = x[0] + x[1] + ...
 * Backward: ∂out/∂x[k] = 1, so each input's gradient receives dout — written, or added where
 * DX_ACCUMULATE_LIST says another reader wrote it first (an input read twice by this layer gets 2·dout).
 * GCC and Clang split a large tensor into contiguous ranges run on the pool's threads (nngen_ranges in
 * nngen.h; each element is computed on its own, so the split changes no bit); tcc runs one loop. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/add.c */
#include "nngen.h"
#define FN(name)           add_##name
#define COUNT              8    /* elements of each input and of the output */
#define OUT                0    /* out, the shape of every input */
#define INPUTS             2    /* inputs x[0], x[1], ... */
#define DX_ACCUMULATE_LIST 0, 0 /* per input: 1 adds to dx[k], 0 overwrites it */
#endif

/* What a range needs: the output and inputs in forward, dout and the inputs' gradients in backward. */
typedef struct {
    real *out;
    const real *const *x;
    const real *dout;
    real *const *dx;
} FN(arguments);

/* out[i] = x[0][i] + x[1][i] + ..., summed left to right, for i in [lo, hi) */
static void FN(forward_range)(void *context, long lo, long hi) {
    const FN(arguments) *t = context;
    real *out = t->out;
    const real *x0 = t->x[0], *x1 = t->x[1];
    for (long i = lo; i < hi; i++) out[i] = x0[i] + x1[i];
    for (int k = 2; k < INPUTS; k++) {
        const real *xk = t->x[k];
        for (long i = lo; i < hi; i++) out[i] += xk[i];
    }
}

/* Forward: out[i] = x[0][i] + x[1][i] + ..., summed left to right. */
void FN(forward)(real *mem, const real *const *x, int train, uint64_t rng) {
    FN(arguments) t = {mem + OUT, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(COUNT, 1, FN(forward_range), &t);
}

#if NNGEN_BACKWARD
/* dx[k][i] = dout[i] (or dx[k][i] += dout[i]) for i in [lo, hi), for every input whose dx[k] is not NULL */
static void FN(backward_range)(void *context, long lo, long hi) {
    static const int accumulate[INPUTS] = {DX_ACCUMULATE_LIST};
    const FN(arguments) *t = context;
    const real *dout = t->dout;
    for (int k = 0; k < INPUTS; k++) {
        real *d = t->dx[k];
        if (!d) continue;
        if (accumulate[k])
            for (long i = lo; i < hi; i++) d[i] += dout[i];
        else
            for (long i = lo; i < hi; i++) d[i] = dout[i];
    }
}

/* Backward: dx[k] = dout (or dx[k] += dout) for every input whose dx[k] is not NULL. */
void FN(backward)(real *mem, const real *const *x, const real *dout, real *const *dx, int train) {
    FN(arguments) t = {NULL, NULL, dout, dx};
    (void)mem;
    (void)x;
    (void)train;
    nngen_ranges(COUNT, 1, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */
