/* tanh.c — hyperbolic tangent, elementwise: out = tanh(x).
 * Math: tanh'(x) = 1 − tanh²(x), so backward needs only the output, which stays in this layer's output slot
 * until backward. (libm's tanh saturates to ±1 for large |x| without overflow.) */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/tanh.c */
#include "nngen.h"
#define FN(name)      tanh_##name
#define COUNT         8 /* elements */
#define OUT           0 /* out, same shape as x */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* Forward: out[i] = tanh(x[i]) */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    (void)train;
    (void)rng;
    for (int i = 0; i < COUNT; i++) out[i] = (real)tanh(x[i]);
}

#if NNGEN_BACKWARD
/* Backward from the saved output: dx = dout·(1 − out²). */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *out = mem + OUT;
    (void)x;
    (void)train;
    if (!dx) return;
    for (int i = 0; i < COUNT; i++) NNGEN_DX(dx[i], dout[i] * (1 - out[i] * out[i]));
}
#endif /* NNGEN_BACKWARD */
