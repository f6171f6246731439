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

/* out[i] for i in [lo, hi): x·½(1 + erf(x/√2)) */
static void FN(forward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *out = t->out;
    const real *x = t->x;
    for (long i = lo; i < hi; i++) {
        const double v = x[i];
        out[i] = (real)(v * 0.5 * (1 + erf(v * GELU_SQRT1_2)));
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
/* dx[i] for i in [lo, hi): dout·(Φ(x) + x·φ(x)) */
static void FN(backward_range)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    real *dx = t->dx;
    const real *x = t->x, *dout = t->dout;
    for (long i = lo; i < hi; i++) {
        const double v = x[i];
        const double cdf = 0.5 * (1 + erf(v * GELU_SQRT1_2));
        const double pdf = exp(-0.5 * v * v) * GELU_INV_SQRT_2PI;
        NNGEN_DX(dx[i], (real)(dout[i] * (cdf + v * pdf)));
    }
}

/* Backward: every element, as forward. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_unary t = {mem + OUT, x, dout, dx};
    (void)train;
    if (dx) nngen_ranges(COUNT, 16, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */

#undef GELU_SQRT1_2
#undef GELU_INV_SQRT_2PI
