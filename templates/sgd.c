/* sgd.c — stochastic gradient descent update of one parameter tensor, PyTorch's formulation:
 *   g = grad + WEIGHT_DECAY·p;   v = MOMENTUM·v + g;   p = p − lr·v     (without state: p = p − lr·g) */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/sgd.c */
#include "nngen.h"
#define FN(name)     sgd_##name
#define SIZE         8 /* elements of the tensor */
#define MOMENTUM     0.9
#define WEIGHT_DECAY 0.0
#define STATE_SLOTS  1 /* 1 when MOMENTUM > 0: the velocity v */
#define PARAM        0
#define GRAD         64
#define STATE0       128
#endif

void FN(update)(real *mem, double lr, int64_t step) {
    real *p = mem + PARAM;
    const real *grad = mem + GRAD;
    const real rate = (real)lr;
    (void)step;
#if STATE_SLOTS > 0
    real *v = mem + STATE0;
    for (int i = 0; i < SIZE; i++) {
        const real g = grad[i] + (real)WEIGHT_DECAY * p[i];
        v[i] = (real)MOMENTUM * v[i] + g;
        p[i] -= rate * v[i];
    }
#else
    for (int i = 0; i < SIZE; i++) p[i] -= rate * (grad[i] + (real)WEIGHT_DECAY * p[i]);
#endif
}
