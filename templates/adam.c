/* adam.c — Adam update of one parameter tensor, PyTorch's torch.optim.Adam (L2 weight decay added to the
 * gradient, not AdamW's decoupled decay), Kingma & Ba 2015, Algorithm 1. With t = step (counting from 1):
 *   g = grad + WEIGHT_DECAY·p
 *   m = BETA1·m + (1 − BETA1)·g                    (state 0: first-moment estimate)
 *   v = BETA2·v + (1 − BETA2)·g²                   (state 1: second-moment estimate)
 *   p = p − lr · (m / (1 − BETA1^t)) / (sqrt(v / (1 − BETA2^t)) + EPS)
 * The two bias corrections are per step, not per element: computed once as step_size = lr/(1 − BETA1^t)
 * and 1/sqrt(1 − BETA2^t), as PyTorch does. Arithmetic is in double; the state is stored as real. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/adam.c */
#include "nngen.h"
#define FN(name)     adam_##name
#define SIZE         8 /* elements of the tensor */
#define BETA1        0.9
#define BETA2        0.999
#define EPS          1e-8
#define WEIGHT_DECAY 0.0
#define STATE_SLOTS  2 /* m and v */
#define PARAM        0
#define GRAD         64
#define STATE0       128
#define STATE1       192
#endif

void FN(update)(real *mem, double lr, int64_t step) {
    real *p = mem + PARAM;
    const real *grad = mem + GRAD;
    real *m = mem + STATE0;
    real *v = mem + STATE1;
    const double t = step > 0 ? (double)step : 1; /* step counts from 1; 0 would divide by 1 − β^0 = 0 */
    const double step_size = lr / (1 - pow(BETA1, t));
    const double inv_sqrt_correction2 = 1 / sqrt(1 - pow(BETA2, t));
    for (int i = 0; i < SIZE; i++) {
        const double g = (double)grad[i] + WEIGHT_DECAY * p[i];
        const double mi = BETA1 * m[i] + (1 - BETA1) * g;
        const double vi = BETA2 * v[i] + (1 - BETA2) * g * g;
        m[i] = (real)mi;
        v[i] = (real)vi;
        p[i] = (real)(p[i] - step_size * mi / (sqrt(vi) * inv_sqrt_correction2 + EPS));
    }
}
