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

/* Forward, without overflow for large |x| (exp of a non-positive number only):
 *   x ≥ 0: out = 1/(1 + e^−x)        x < 0: out = e^x/(1 + e^x)   (the same value) */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    (void)train;
    (void)rng;
    for (int i = 0; i < COUNT; i++) {
        const double v = x[i];
        if (v >= 0) {
            out[i] = (real)(1 / (1 + exp(-v)));
        } else {
            const double e = exp(v);
            out[i] = (real)(e / (1 + e));
        }
    }
}

#if NNGEN_BACKWARD
/* Backward from the saved output: dx = dout·out·(1 − out). */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *out = mem + OUT;
    (void)x;
    (void)train;
    if (!dx) return;
    for (int i = 0; i < COUNT; i++) NNGEN_DX(dx[i], dout[i] * out[i] * (1 - out[i]));
}
#endif /* NNGEN_BACKWARD */
