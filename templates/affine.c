/* affine.c — fully connected layer: out = x·W + b on the input flattened to (N, D).
 * Math: seeds/001 §1 — dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_n dout[n]. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/affine.c */
#include "nngen.h"
#define FN(name) affine_##name
#define N 2        /* batch */
#define D 3        /* input features */
#define M 4        /* output features */
#define OUT 0      /* out (N, M) */
#define P_WEIGHT 64
#define G_WEIGHT 128
#define P_BIAS 192
#define G_BIAS 256
#endif

/* Forward. x is (N, D), W is (D, M), b is (M), out is (N, M):
 *   out[n][m] = b[m] + Σ_d x[n][d]·W[d][m]
 * The d-then-m loop order streams rows of W, which compilers vectorize. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *w = mem + P_WEIGHT;
    const real *b = mem + P_BIAS;
    (void)train;
    (void)rng;
    for (int n = 0; n < N; n++) {
        real *o = out + n * M;
        for (int m = 0; m < M; m++) o[m] = b[m];
        for (int d = 0; d < D; d++) {
            const real xv = x[n * D + d];
            const real *wrow = w + d * M;
            for (int m = 0; m < M; m++) o[m] += xv * wrow[m];
        }
    }
}

/* Backward. dout is (N, M). Writes (not accumulates) the parameter gradients:
 *   dW[d][m] = Σ_n x[n][d]·dout[n][m]      (D, M)
 *   db[m]    = Σ_n dout[n][m]               (M)
 *   dx[n][d] = Σ_m dout[n][m]·W[d][m]      (N, D), skipped when dx is NULL (the first layer) */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *w = mem + P_WEIGHT;
    real *dw = mem + G_WEIGHT;
    real *db = mem + G_BIAS;
    (void)train;
    for (int i = 0; i < D * M; i++) dw[i] = 0;
    for (int m = 0; m < M; m++) db[m] = 0;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * M;
        for (int m = 0; m < M; m++) db[m] += g[m];
        for (int d = 0; d < D; d++) {
            const real xv = x[n * D + d];
            real *dwrow = dw + d * M;
            for (int m = 0; m < M; m++) dwrow[m] += xv * g[m];
        }
    }
    if (!dx) return;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * M;
        for (int d = 0; d < D; d++) {
            const real *wrow = w + d * M;
            real s = 0;
            for (int m = 0; m < M; m++) s += g[m] * wrow[m];
            dx[n * D + d] = s;
        }
    }
}
