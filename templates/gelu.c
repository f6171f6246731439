/* gelu.c — Gaussian error linear unit, exact form (PyTorch's nn.GELU(), approximate='none'), elementwise:
 *   out = x·Φ(x),   Φ(x) = ½(1 + erf(x/√2))   (the standard normal CDF)
 *   dx  = dout·(Φ(x) + x·φ(x)),   φ(x) = e^(−x²/2)/√(2π)   (its density: d/dx x·Φ(x) = Φ(x) + x·Φ'(x))
 * Computed in double from x, which stays in the producing layer's slot until backward. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/gelu.c */
#include "nngen.h"
#define FN(name)      gelu_##name
#define COUNT         8 /* elements */
#define OUT           0 /* out, same shape as x */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

#define GELU_SQRT1_2      0.70710678118654752440 /* 1/√2 */
#define GELU_INV_SQRT_2PI 0.39894228040143267794 /* 1/√(2π) */

/* Forward: out = x·½(1 + erf(x/√2)) */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    (void)train;
    (void)rng;
    for (long i = 0; i < COUNT; i++) {
        const double v = x[i];
        out[i] = (real)(v * 0.5 * (1 + erf(v * GELU_SQRT1_2)));
    }
}

#if NNGEN_BACKWARD
/* Backward: dx = dout·(Φ(x) + x·φ(x)) */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    (void)mem;
    (void)train;
    if (!dx) return;
    for (long i = 0; i < COUNT; i++) {
        const double v = x[i];
        const double cdf = 0.5 * (1 + erf(v * GELU_SQRT1_2));
        const double pdf = exp(-0.5 * v * v) * GELU_INV_SQRT_2PI;
        NNGEN_DX(dx[i], (real)(dout[i] * (cdf + v * pdf)));
    }
}
#endif /* NNGEN_BACKWARD */

#undef GELU_SQRT1_2
#undef GELU_INV_SQRT_2PI
