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

/* Forward: out[i] = x[i] > 0 ? x[i] : SLOPE·x[i] */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    (void)train;
    (void)rng;
    for (long i = 0; i < COUNT; i++) out[i] = x[i] > 0 ? x[i] : (real)SLOPE * x[i];
}

#if NNGEN_BACKWARD
/* Backward: dx[i] = x[i] > 0 ? dout[i] : SLOPE·dout[i] */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    (void)mem;
    (void)train;
    if (!dx) return;
    for (long i = 0; i < COUNT; i++) NNGEN_DX(dx[i], x[i] > 0 ? dout[i] : (real)SLOPE * dout[i]);
}
#endif /* NNGEN_BACKWARD */
