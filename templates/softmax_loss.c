/* softmax_loss.c — softmax cross-entropy averaged over the batch, targets are int32 class ids, with optional
 * label smoothing ε (PyTorch's CrossEntropyLoss(label_smoothing=ε)): the target distribution is
 * q = (1 − ε)·onehot(y) + ε/K. Math (docs/spec.md, loss softmax): p = softmax(z) computed stably as
 * exp(z − max z)/Σ exp(z − max z), and with lse = log Σ_k exp(z[n][k] − max), −log p[n][k] = lse − (z[n][k] − max):
 *   loss = (1/N) Σ_n [(1 − ε)·(−log p[n][y_n]) + (ε/K)·Σ_k −log p[n][k]]   (= −(1/N) Σ_n Σ_k q[n][k]·log p[n][k])
 *   dz   = (p − q)/N                                                      (since Σ_k q[n][k] = 1) */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/softmax_loss.c */
#include "nngen.h"
#define FN(name)  softmax_loss_##name
#define N         2   /* batch */
#define K         3   /* classes */
#define SMOOTHING 0.1 /* label smoothing ε in [0, 1] */
#define S_PROB    0   /* saved probabilities (N, K) */
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
        const double lse = log(sum);
        double nll = lse - (z[y] - max);
        if (SMOOTHING > 0) { /* (1 − ε)·(−log p_y) + (ε/K)·Σ_k −log p_k */
            double all = 0;
            for (int k = 0; k < K; k++) all += lse - (z[k] - max);
            nll = (1 - SMOOTHING) * nll + SMOOTHING / K * all;
        }
        total += nll;
    }
    return total / N;
}

#if NNGEN_BACKWARD
/* Backward: dlogits[n][k] = (p[n][k] − q[n][k]) / N, q = ε/K everywhere plus 1 − ε at y_n (ε = 0: exactly
 * p/N, then 1/N off at y_n) */
void FN(backward)(real *mem, const real *logits, const void *target, real *dlogits) {
    const int32_t *labels = (const int32_t *)target;
    const real *prob = mem + S_PROB;
    (void)logits;
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) dlogits[n * K + k] = (prob[n * K + k] - (real)(SMOOTHING / K)) / N;
        const int32_t y = labels[n];
        if (y >= 0 && y < K) dlogits[n * K + y] -= (real)(1 - SMOOTHING) / N;
    }
}
#endif /* NNGEN_BACKWARD */
