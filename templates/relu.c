/* relu.c — rectified linear unit, elementwise: out = max(0, x).
 * Math (docs/math.md, elementwise activations): dx = dout · 1[x > 0] (the gradient at x = 0 is taken as 0).
 * GCC and Clang split a large tensor into contiguous ranges run on the pool's threads (nngen_range in
 * nngen.h; each element is computed on its own, so the result does not depend on the split); tcc runs one
 * loop. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/relu.c */
#include "nngen.h"
#define FN(name)      relu_##name
#define COUNT         8 /* elements */
#define OUT           0 /* out, same shape as x */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* out[i] = x[i] > 0 ? x[i] : 0 for i in [lo, hi) */
static void FN(forward_range)(real *out, const real *x, long lo, long hi) {
    for (long i = lo; i < hi; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

#if NNGEN_BACKWARD
/* dx[i] = x[i] > 0 ? dout[i] : 0 for i in [lo, hi) */
static void FN(backward_range)(real *dx, const real *x, const real *dout, long lo, long hi) {
    for (long i = lo; i < hi; i++) NNGEN_DX(dx[i], x[i] > 0 ? dout[i] : 0);
}
#endif

#if NNGEN_FAST
typedef struct {
    real *out;
    const real *x, *dout;
} FN(arguments);

static void FN(forward_task)(void *context, int task) {
    const FN(arguments) *t = context;
    FN(forward_range)(t->out, t->x, nngen_range(COUNT, task), nngen_range(COUNT, task + 1));
}

#if NNGEN_BACKWARD
static void FN(backward_task)(void *context, int task) {
    const FN(arguments) *t = context;
    FN(backward_range)(t->out, t->x, t->dout, nngen_range(COUNT, task), nngen_range(COUNT, task + 1));
}
#endif
#endif

/* Forward: out[i] = x[i] > 0 ? x[i] : 0 */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    (void)train;
    (void)rng;
#if NNGEN_FAST
    FN(arguments) t = {mem + OUT, x, NULL};
    const nngen_job job = {FN(forward_task), &t, NNGEN_RANGES, COUNT < NNGEN_RANGE_SMALL, 0};
    nngen_parallel(&job, 1);
#else
    FN(forward_range)(mem + OUT, x, 0, COUNT);
#endif
}

#if NNGEN_BACKWARD
/* Backward: dx[i] = x[i] > 0 ? dout[i] : 0 */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    (void)mem;
    (void)train;
    if (!dx) return;
#if NNGEN_FAST
    FN(arguments) t = {dx, x, dout};
    const nngen_job job = {FN(backward_task), &t, NNGEN_RANGES, COUNT < NNGEN_RANGE_SMALL, 0};
    nngen_parallel(&job, 1);
#else
    FN(backward_range)(dx, x, dout, 0, COUNT);
#endif
}
#endif /* NNGEN_BACKWARD */
