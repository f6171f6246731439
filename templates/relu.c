/* relu.c — rectified linear unit, elementwise: out = max(0, x).
 * Math: seeds/001 §2 — dx = dout · 1[x > 0] (the gradient at x = 0 is taken as 0). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/relu.c */
#include "nngen.h"
#define FN(name) relu_##name
#define COUNT 8    /* elements */
#define OUT 0      /* out, same shape as x */
#endif

/* Forward: out[i] = x[i] > 0 ? x[i] : 0 */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    (void)train;
    (void)rng;
    for (int i = 0; i < COUNT; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

/* Backward: dx[i] = x[i] > 0 ? dout[i] : 0 */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    (void)mem;
    (void)train;
    if (!dx) return;
    for (int i = 0; i < COUNT; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
}
