/* adamw.c — AdamW update of every parameter, PyTorch's torch.optim.AdamW (Loshchilov & Hutter 2019): Adam
 * whose weight decay shrinks the parameter itself instead of entering the gradient. With t = step (from 1):
 *   p = p·(1 − lr·WEIGHT_DECAY)                     (rounded to real, as PyTorch's in-place mul_)
 *   m = BETA1·m + (1 − BETA1)·g                     (state 0: first-moment estimate)
 *   v = BETA2·v + (1 − BETA2)·g²                    (state 1: second-moment estimate)
 *   p = p − lr · (m / (1 − BETA1^t)) / (sqrt(v / (1 − BETA2^t)) + EPS)
 * The bias corrections are per step: step_size = lr/(1 − BETA1^t) and 1/sqrt(1 − BETA2^t), as PyTorch.
 * Arithmetic is in double; the state is stored as real. Parameters, gradients, m and v share one layout
 * (regions at 0, GRADS, STATE0 and STATE1), so one loop over the parameter tensors (RANGES) updates them all. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/adamw.c */
#include "nngen.h"
#define FN(name)     adamw_##name
#define BETA1        0.9
#define BETA2        0.999
#define EPS          1e-8
#define WEIGHT_DECAY 0.01
#define STATE_SLOTS  2           /* m and v */
#define GRADS        128         /* the gradients region: a parameter's gradient is at its offset + GRADS */
#define STATE0       256         /* the m region, same layout */
#define STATE1       384         /* the v region, same layout */
#define TENSORS      2           /* parameter tensors */
#define RANGES       0, 8, 64, 3 /* offset, size of each parameter tensor */
#endif

#if NNGEN_BACKWARD /* an optimizer is part of training builds only (nngen_update_all is too) */

#if TENSORS > 0
/* The update of `count` elements: parameters p, gradients grad, moments m and v. */
static void FN(update_range)(real *p, const real *grad, real *m, real *v, long count, double shrink,
                             double step_size, double inv_sqrt_correction2) {
    for (long i = 0; i < count; i++) {
        const double g = grad[i];
        const double mi = BETA1 * m[i] + (1 - BETA1) * g;
        const double vi = BETA2 * v[i] + (1 - BETA2) * g * g;
        const real decayed = (real)(p[i] * shrink);
        m[i] = (real)mi;
        v[i] = (real)vi;
        p[i] = (real)(decayed - step_size * mi / (sqrt(vi) * inv_sqrt_correction2 + EPS));
    }
}

/* Elements o .. o + count of every region (nngen_update_all's pieces; any order gives the same bits). */
typedef struct {
    real *mem;
    double shrink, step_size, inv_sqrt_correction2;
} FN(update_context);

static void FN(update_piece)(void *context, long o, long count) {
    const FN(update_context) *u = context;
    real *mem = u->mem;
    FN(update_range)(mem + o, mem + GRADS + o, mem + STATE0 + o, mem + STATE1 + o, count, u->shrink,
                     u->step_size, u->inv_sqrt_correction2);
}
#endif

void FN(update)(real *mem, double lr, int64_t step) {
#if TENSORS > 0
    static const long ranges[2 * TENSORS] = {RANGES}; /* offset, size */
    const double t = step > 0 ? (double)step : 1; /* step counts from 1; 0 would divide by 1 − β^0 = 0 */
    const double shrink = 1 - lr * WEIGHT_DECAY;
    const double step_size = lr / (1 - pow(BETA1, t));
    const double inv_sqrt_correction2 = 1 / sqrt(1 - pow(BETA2, t));
    FN(update_context) u = {mem, shrink, step_size, inv_sqrt_correction2};
    nngen_update_all(ranges, TENSORS, FN(update_piece), &u);
#else
    (void)mem;
    (void)lr;
    (void)step;
#endif
}
#endif /* NNGEN_BACKWARD */
