/* sigmoid.c — logistic function, elementwise: out = σ(x) = 1/(1 + e^−x).
 * Math (docs/math.md, elementwise activations): σ'(x) = σ(x)·(1 − σ(x)), so backward needs only the output, which
 * stays in this layer's output slot until backward. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/sigmoid.c */
#include "nngen.h"
#define FN(name)      sigmoid_##name
#define COUNT         8 /* elements */
#define OUT           0 /* out, same shape as x */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* out[i] for i in [lo, hi), without overflow for large |x| (exp of a non-positive number only):
 *   x ≥ 0: out = 1/(1 + e^−x)        x < 0: out = e^x/(1 + e^x)   (the same value) */
static void FN(forward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *out = t->out;
    const real *x = t->x;
    for (long i = lo; i < hi; i++) {
        const double v = x[i];
        if (v >= 0) {
            out[i] = (real)(1 / (1 + exp(-v)));
        } else {
            const double e = exp(v);
            out[i] = (real)(e / (1 + e));
        }
    }
}

/* Forward: every element, in ranges on the pool's threads (nngen_ranges in nngen.h) when worth it. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    nngen_unary t = {mem + OUT, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(COUNT, 16, FN(forward_range), &t);
}

#if NNGEN_BACKWARD
/* dx[i] for i in [lo, hi): dout[i]·out[i]·(1 − out[i]) */
static void FN(backward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *dx = t->dx;
    const real *out = t->out, *dout = t->dout;
    for (long i = lo; i < hi; i++) NNGEN_DX(dx[i], dout[i] * out[i] * (1 - out[i]));
}

/* Backward: every element, as forward. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_unary t = {mem + OUT, x, dout, dx};
    (void)train;
    if (dx) nngen_ranges(COUNT, 16, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */
