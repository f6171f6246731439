/* add.c — elementwise sum of INPUTS tensors of one shape (a residual connection): out = x[0] + x[1] + ...
 * Backward: ∂out/∂x[k] = 1, so each input's gradient receives dout — written, or added where
 * DX_ACCUMULATE_LIST says another reader wrote it first (an input read twice by this layer gets 2·dout).
 * With RELU_OUT (a relu alone reads this layer's output, as after a ResNet block's sum) the network calls
 * forward_relu and backward_relu: forward writes relu's output r = max(0, out) instead of out (which is not
 * stored); backward sends each input relu's backward of its output gradient, dr·1[r > 0] (r > 0 exactly
 * where out > 0). The same values as the two layers' separate calls, one pass over memory fewer each way.
 * GCC and Clang split a large tensor into contiguous ranges run on the pool's threads (nngen_ranges in
 * nngen.h; each element is computed on its own, so the split changes no bit); tcc runs one loop. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/add.c */
#include "nngen.h"
#define FN(name)           add_##name
#define COUNT              8    /* elements of each input and of the output */
#define OUT                0    /* out, the shape of every input */
#define INPUTS             2    /* inputs x[0], x[1], ... */
#define DX_ACCUMULATE_LIST 0, 0 /* per input: 1 adds to dx[k], 0 overwrites it */
#define RELU_OUT           8    /* output of a relu applied here; only when one follows */
#endif

/* The range functions below take `fused` (0, or 1 for relu applied here) as a constant: GCC and Clang
 * compile them once per entry point with it known. */
#if NNGEN_FAST
#define PASS NNGEN_INLINE
#else
#define PASS static
#endif

/* What a range needs: where the sum (or relu's output) goes and the inputs forward; dout, relu's output
 * (the mask, when fused) and the inputs' gradients backward. */
typedef struct {
    real *out;
    const real *const *x;
    const real *dout, *mask;
    real *const *dx;
} FN(arguments);

/* out[i] = x[0][i] + x[1][i] + ..., summed left to right, for i in [lo, hi); relu's max(0, out[i]) when
 * `fused` (out is then relu's output). */
PASS void FN(sum)(const FN(arguments) *t, long lo, long hi, int fused) {
    real *out = t->out;
    const real *x0 = t->x[0], *x1 = t->x[1];
    if (fused && INPUTS == 2) {
        for (long i = lo; i < hi; i++) {
            const real v = x0[i] + x1[i];
            out[i] = v > 0 ? v : 0;
        }
        return;
    }
    for (long i = lo; i < hi; i++) out[i] = x0[i] + x1[i];
    for (int k = 2; k < INPUTS; k++) {
        const real *xk = t->x[k];
        for (long i = lo; i < hi; i++) out[i] += xk[i];
    }
    if (fused)
        for (long i = lo; i < hi; i++) out[i] = out[i] > 0 ? out[i] : 0;
}

static void FN(forward_range)(void *context, long lo, long hi) { FN(sum)(context, lo, hi, 0); }

/* Forward: out[i] = x[0][i] + x[1][i] + ..., summed left to right. */
void FN(forward)(real *mem, const real *const *x, int train, uint64_t rng) {
    FN(arguments) t = {mem + OUT, x, NULL, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(COUNT, 1, FN(forward_range), &t);
}

#if NNGEN_BACKWARD
/* dx[k][i] = g (or dx[k][i] += g) for i in [lo, hi), for every input whose dx[k] is not NULL, where g is
 * dout[i], or when `fused` relu's backward mask[i] > 0 ? dout[i] : 0. */
PASS void FN(spread)(const FN(arguments) *t, long lo, long hi, int fused) {
    static const int accumulate[INPUTS] = {DX_ACCUMULATE_LIST};
    const real *dout = t->dout, *mask = t->mask;
    for (int k = 0; k < INPUTS; k++) {
        real *d = t->dx[k];
        if (!d) continue;
        if (accumulate[k])
            for (long i = lo; i < hi; i++) d[i] += fused && !(mask[i] > 0) ? 0 : dout[i];
        else
            for (long i = lo; i < hi; i++) d[i] = fused && !(mask[i] > 0) ? 0 : dout[i];
    }
}

static void FN(backward_range)(void *context, long lo, long hi) { FN(spread)(context, lo, hi, 0); }

/* Backward: dx[k] = dout (or dx[k] += dout) for every input whose dx[k] is not NULL. */
void FN(backward)(real *mem, const real *const *x, const real *dout, real *const *dx, int train) {
    FN(arguments) t = {NULL, x, dout, NULL, dx};
    (void)mem;
    (void)train;
    nngen_ranges(COUNT, 1, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */

#ifdef RELU_OUT
static void FN(forward_relu_range)(void *context, long lo, long hi) { FN(sum)(context, lo, hi, 1); }

/* Forward, then relu on the output: relu's output r = max(0, out), with out as FN(forward) sums it; out
 * itself is not stored. */
void FN(forward_relu)(real *mem, const real *const *x, int train, uint64_t rng) {
    FN(arguments) t = {mem + RELU_OUT, x, NULL, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(COUNT, 1, FN(forward_relu_range), &t);
}

#if NNGEN_BACKWARD
static void FN(backward_relu_range)(void *context, long lo, long hi) { FN(spread)(context, lo, hi, 1); }

/* Relu's backward, then this layer's: dout is relu's output gradient dr; each input receives
 * dr·1[r > 0] (relu's dx, this layer's output gradient), which is never stored. */
void FN(backward_relu)(real *mem, const real *const *x, const real *dout, real *const *dx, int train) {
    FN(arguments) t = {NULL, x, dout, mem + RELU_OUT, dx};
    (void)train;
    nngen_ranges(COUNT, 1, FN(backward_relu_range), &t);
}
#endif /* NNGEN_BACKWARD */
#endif /* RELU_OUT */
#undef PASS
