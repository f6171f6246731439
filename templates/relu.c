/* relu.c — rectified linear unit, elementwise: out = max(0, x).
 * Math (docs/math.md, elementwise activations): dx = dout · 1[x > 0] (the gradient at x = 0 is taken as 0).
 * GCC and Clang split a large tensor into contiguous ranges run on the pool's threads (nngen_ranges in
 * nngen.h; each element is computed on its own, so the result does not depend on the split); tcc runs one
 * loop. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/relu.c */
#include "nngen.h"
#define FN(name)      relu_##name
#define COUNT         8 /* elements */
#define OUT           0 /* out, same shape as x */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* out[i] for i in [lo, hi): x[i] > 0 ? x[i] : 0 */
static void FN(forward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *out = t->out;
    const real *x = t->x;
    for (long i = lo; i < hi; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

/* Forward: every element, in ranges on the pool's threads (nngen_ranges in nngen.h) when worth it. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    nngen_unary t = {mem + OUT, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(COUNT, 1, FN(forward_range), &t);
}

#if NNGEN_BACKWARD
/* dx[i] for i in [lo, hi): x[i] > 0 ? dout[i] : 0 */
static void FN(backward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *dx = t->dx;
    const real *x = t->x, *dout = t->dout;
    for (long i = lo; i < hi; i++) NNGEN_DX(dx[i], x[i] > 0 ? dout[i] : 0);
}

/* Backward: every element, as forward. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_unary t = {mem + OUT, x, dout, dx};
    (void)train;
    if (dx) nngen_ranges(COUNT, 1, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */
