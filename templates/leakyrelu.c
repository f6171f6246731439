/* leakyrelu.c — leaky rectified linear unit, elementwise, as PyTorch's nn.LeakyReLU:
 *   out = x > 0 ? x : SLOPE·x,   dx = dout·(x > 0 ? 1 : SLOPE)   (the gradient at x = 0 is SLOPE, as PyTorch's). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/leakyrelu.c */
#include "nngen.h"
#define FN(name)      leakyrelu_##name
#define COUNT         8    /* elements */
#define SLOPE         0.01 /* slope for x ≤ 0 */
#define OUT           0    /* out, same shape as x */
#define DX_ACCUMULATE 0    /* 1: add to dx instead of overwriting it */
#endif

/* out[i] for i in [lo, hi): x[i] > 0 ? x[i] : SLOPE·x[i] */
static void FN(forward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *out = t->out;
    const real *x = t->x;
    for (long i = lo; i < hi; i++) out[i] = x[i] > 0 ? x[i] : (real)SLOPE * x[i];
}

/* Forward: every element, in ranges on the pool's threads (nngen_ranges in nngen.h) when worth it. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    nngen_unary t = {mem + OUT, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(COUNT, 1, FN(forward_range), &t);
}

#if NNGEN_BACKWARD
/* dx[i] for i in [lo, hi): x[i] > 0 ? dout[i] : SLOPE·dout[i] */
static void FN(backward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *dx = t->dx;
    const real *x = t->x, *dout = t->dout;
    for (long i = lo; i < hi; i++) NNGEN_DX(dx[i], x[i] > 0 ? dout[i] : (real)SLOPE * dout[i]);
}

/* Backward: every element, as forward. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_unary t = {mem + OUT, x, dout, dx};
    (void)train;
    if (dx) nngen_ranges(COUNT, 1, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */
