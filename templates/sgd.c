/* sgd.c — stochastic gradient descent update of every parameter, PyTorch's torch.optim.SGD:
 *   g = grad + WEIGHT_DECAY·p;   v = MOMENTUM·v + g;   p = p − lr·v     (without momentum: p = p − lr·g)
 * Parameters, gradients and the velocity share one layout (regions at 0, GRADS and STATE0), so one loop
 * over the parameter tensors (RANGES: offset and size of each, without the padding between them) updates
 * them all. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/sgd.c */
#include "nngen.h"
#define FN(name)     sgd_##name
#define MOMENTUM     0.9
#define WEIGHT_DECAY 0.0
#define STATE_SLOTS  1           /* 1 when MOMENTUM > 0: the velocity v */
#define GRADS        128         /* the gradients region: a parameter's gradient is at its offset + GRADS */
#define STATE0       256         /* the velocity region, same layout */
#define TENSORS      2           /* parameter tensors */
#define RANGES       0, 8, 64, 3 /* offset, size of each parameter tensor */
#endif

#if NNGEN_BACKWARD /* an optimizer is part of training builds only (nngen_update_all is too) */

#if TENSORS > 0
/* The update of `count` elements: parameters p, gradients grad, velocity v (unused without momentum). */
static void FN(update_range)(real *p, const real *grad, real *v, long count, real rate) {
#if STATE_SLOTS > 0
    for (long i = 0; i < count; i++) {
        const real g = grad[i] + (real)WEIGHT_DECAY * p[i];
        v[i] = (real)MOMENTUM * v[i] + g;
        p[i] -= rate * v[i];
    }
#else
    (void)v;
    for (long i = 0; i < count; i++) p[i] -= rate * (grad[i] + (real)WEIGHT_DECAY * p[i]);
#endif
}

/* Elements o .. o + count of every region (nngen_update_all's pieces; any order gives the same bits). */
typedef struct {
    real *mem;
    real rate;
} FN(update_context);

static void FN(update_piece)(void *context, long o, long count) {
    const FN(update_context) *u = context;
#if STATE_SLOTS > 0
    real *v = u->mem + STATE0 + o;
#else
    real *v = 0;
#endif
    FN(update_range)(u->mem + o, u->mem + GRADS + o, v, count, u->rate);
}
#endif

void FN(update)(real *mem, double lr, int64_t step) {
#if TENSORS > 0
    static const long ranges[2 * TENSORS] = {RANGES}; /* offset, size */
    FN(update_context) u = {mem, (real)lr};
    nngen_update_all(ranges, TENSORS, FN(update_piece), &u);
#else
    (void)mem;
    (void)lr;
#endif
    (void)step;
}
#endif /* NNGEN_BACKWARD */
