/* rmsprop.c — RMSprop update of every parameter, PyTorch's torch.optim.RMSprop (alpha = DECAY, no momentum,
 * not centered), the rule of Tieleman & Hinton's lecture 6.5:
 *   g = grad + WEIGHT_DECAY·p
 *   cache = DECAY·cache + (1 − DECAY)·g²             (state 0: the running mean of g²)
 *   p = p − lr·g / (sqrt(cache) + EPS)
 * Arithmetic is in double; the state is stored as real. Parameters, gradients and the cache share one
 * layout (regions at 0, GRADS and STATE0), so one loop over the parameter tensors (RANGES) updates them all. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/rmsprop.c */
#include "nngen.h"
#define FN(name)     rmsprop_##name
#define DECAY        0.99
#define EPS          1e-8
#define WEIGHT_DECAY 0.0
#define STATE_SLOTS  1           /* the cache */
#define GRADS        128         /* the gradients region: a parameter's gradient is at its offset + GRADS */
#define STATE0       256         /* the cache region, same layout */
#define TENSORS      2           /* parameter tensors */
#define RANGES       0, 8, 64, 3 /* offset, size of each parameter tensor */
#endif

#if NNGEN_BACKWARD /* an optimizer is part of training builds only (nngen_update_all is too) */

#if TENSORS > 0
/* The update of `count` elements: parameters p, gradients grad, cache c. */
static void FN(update_range)(real *p, const real *grad, real *c, long count, double lr) {
    for (long i = 0; i < count; i++) {
        const double g = (double)grad[i] + WEIGHT_DECAY * p[i];
        const double ci = DECAY * c[i] + (1 - DECAY) * g * g;
        c[i] = (real)ci;
        p[i] = (real)(p[i] - lr * g / (sqrt(ci) + EPS));
    }
}

/* Elements o .. o + count of every region (nngen_update_all's pieces; any order gives the same bits). */
typedef struct {
    real *mem;
    double lr;
} FN(update_context);

static void FN(update_piece)(void *context, long o, long count) {
    const FN(update_context) *u = context;
    FN(update_range)(u->mem + o, u->mem + GRADS + o, u->mem + STATE0 + o, count, u->lr);
}
#endif

void FN(update)(real *mem, double lr, int64_t step) {
#if TENSORS > 0
    static const long ranges[2 * TENSORS] = {RANGES}; /* offset, size */
    FN(update_context) u = {mem, lr};
    nngen_update_all(ranges, TENSORS, FN(update_piece), &u);
#else
    (void)mem;
    (void)lr;
#endif
    (void)step;
}
#endif /* NNGEN_BACKWARD */
