/* mse_loss.c — mean squared error over all N·K elements of the network output (any shape [N, ...], read as
 * (N, K) with K the elements per sample); targets are reals of the output's shape, in the model's dtype.
 * Math (docs/math.md, losses):
 *   loss = (1/(N·K)) Σ_{n,k} (o[n][k] − t[n][k])²,   do[n][k] = 2·(o[n][k] − t[n][k])/(N·K) */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/mse_loss.c */
#include "nngen.h"
#define FN(name) mse_loss_##name
#define N        2 /* batch */
#define K        3 /* output elements per sample */
#endif

/* Forward: returns the mean squared error (summed in double). */
double FN(forward)(real *mem, const real *logits, const void *target) {
    const real *t = (const real *)target;
    double total = 0;
    (void)mem;
    for (int i = 0; i < N * K; i++) {
        const double diff = (double)logits[i] - t[i];
        total += diff * diff;
    }
    return total / ((double)N * K);
}

#if NNGEN_BACKWARD
/* Backward: do = 2·(o − t)/(N·K) */
void FN(backward)(real *mem, const real *logits, const void *target, real *dlogits) {
    const real *t = (const real *)target;
    const double scale = 2.0 / ((double)N * K);
    (void)mem;
    for (int i = 0; i < N * K; i++) dlogits[i] = (real)(scale * ((double)logits[i] - t[i]));
}
#endif /* NNGEN_BACKWARD */
