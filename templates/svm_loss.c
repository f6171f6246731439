/* svm_loss.c — multiclass SVM (hinge) loss with margin 1, summed over the wrong classes and averaged over
 * the batch; targets are int32 class ids.
 * Math (docs/math.md, losses), with s = scores and y_n the class of sample n:
 *   margin[n][k] = s[n][k] − s[n][y_n] + 1
 *   loss = (1/N) Σ_n Σ_{k ≠ y_n} max(0, margin[n][k])
 *   ds[n][k] = [margin[n][k] > 0]/N for k ≠ y_n,   ds[n][y_n] = −(Σ_{k ≠ y_n} [margin[n][k] > 0])/N
 * (at a kink, margin = 0, the subgradient 0 is taken). Nothing is saved: backward recomputes the margins. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/svm_loss.c */
#include "nngen.h"
#define FN(name) svm_loss_##name
#define N        2 /* batch */
#define K        3 /* classes */
#endif

/* Forward: returns the mean loss. A label outside [0, K) gives NaN (and is never used as an index). */
double FN(forward)(real *mem, const real *logits, const void *target) {
    const int32_t *labels = (const int32_t *)target;
    double total = 0;
    (void)mem;
    for (int n = 0; n < N; n++) {
        const real *s = logits + n * K;
        const int32_t y = labels[n];
        if (y < 0 || y >= K) return 0.0 / 0.0;
        const double correct = s[y];
        for (int k = 0; k < K; k++) {
            if (k == y) continue;
            const double margin = s[k] - correct + 1;
            if (margin > 0) total += margin;
        }
    }
    return total / N;
}

#if NNGEN_BACKWARD
/* Backward: ds[n][k] = [margin > 0]/N for k ≠ y_n; ds[n][y_n] = −(number of positive margins)/N.
 * A row with a label outside [0, K) gets a zero gradient. */
void FN(backward)(real *mem, const real *logits, const void *target, real *dlogits) {
    const int32_t *labels = (const int32_t *)target;
    const real inv_n = (real)1 / N;
    (void)mem;
    for (int n = 0; n < N; n++) {
        const real *s = logits + n * K;
        real *ds = dlogits + n * K;
        const int32_t y = labels[n];
        for (int k = 0; k < K; k++) ds[k] = 0;
        if (y < 0 || y >= K) continue;
        const double correct = s[y];
        int positive = 0;
        for (int k = 0; k < K; k++) {
            if (k == y) continue;
            if (s[k] - correct + 1 > 0) {
                ds[k] = inv_n;
                positive++;
            }
        }
        ds[y] = -(real)positive * inv_n;
    }
}
#endif /* NNGEN_BACKWARD */
