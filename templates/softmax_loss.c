/* softmax_loss.c — softmax cross-entropy averaged over the batch, targets are int32 class ids.
 * Math (docs/math.md, losses): p = softmax(z) computed stably as exp(z − max z)/Σ exp(z − max z);
 *   loss = (1/N) Σ_n (log Σ_k exp(z[n][k] − max) − (z[n][y_n] − max));   dz = (p − onehot(y))/N. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/softmax_loss.c */
#include "nngen.h"
#define FN(name) softmax_loss_##name
#define N        2 /* batch */
#define K        3 /* classes */
#define S_PROB   0 /* saved probabilities (N, K) */
#endif

/* Forward: returns the mean loss, saves the probabilities. A label outside [0, K) gives NaN. */
double FN(forward)(real *mem, const real *logits, const void *target) {
    const int32_t *labels = (const int32_t *)target;
    real *prob = mem + S_PROB;
    double total = 0;
    for (int n = 0; n < N; n++) {
        const real *z = logits + n * K;
        real *p = prob + n * K;
        double max = z[0];
        for (int k = 1; k < K; k++)
            if (z[k] > max) max = z[k];
        double sum = 0;
        for (int k = 0; k < K; k++) sum += exp(z[k] - max);
        for (int k = 0; k < K; k++) p[k] = (real)(exp(z[k] - max) / sum);
        const int32_t y = labels[n];
        if (y < 0 || y >= K) return 0.0 / 0.0;
        total += log(sum) - (z[y] - max);
    }
    return total / N;
}

#if NNGEN_BACKWARD
/* Backward: dlogits[n][k] = (p[n][k] − [k = y_n]) / N */
void FN(backward)(real *mem, const real *logits, const void *target, real *dlogits) {
    const int32_t *labels = (const int32_t *)target;
    const real *prob = mem + S_PROB;
    (void)logits;
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) dlogits[n * K + k] = prob[n * K + k] / N;
        const int32_t y = labels[n];
        if (y >= 0 && y < K) dlogits[n * K + y] -= (real)1 / N;
    }
}
#endif /* NNGEN_BACKWARD */
