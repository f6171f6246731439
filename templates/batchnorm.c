/* batchnorm.c — batch normalization of each of C features (x is (N, C) with S = 1) or channels
 * (x is (N, C, H, W) with S = H·W, "spatial batchnorm"), over the M = N·S values that share it.
 * Math: seeds/001 §3, with the corrected normalization x̂ = (x − μ)/sqrt(σ² + ε) and 1/M (not 1/D). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/batchnorm.c */
#include "nngen.h"
#define FN(name) batchnorm_##name
#define N 2        /* batch */
#define C 3        /* features / channels */
#define S 1        /* spatial positions per channel */
#define EPS 1e-5
#define MOMENTUM 0.9
#define OUT 0
#define P_GAMMA 64
#define G_GAMMA 128
#define P_BETA 192
#define G_BETA 256
#define B_RUNNING_MEAN 320
#define B_RUNNING_VAR 384
#define S_MEAN 448
#define S_INVSTD 512
#endif

/* Element (n, c, s) of a (N, C, S) tensor. */
#define AT(t, n, c, s) (t)[((n) * C + (c)) * S + (s)]

/* Forward. Train mode, per channel c over its M = N·S values:
 *   μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²   (biased),   x̂ = (x − μ)/sqrt(σ² + ε),   out = γ·x̂ + β
 *   running_mean = MOMENTUM·running_mean + (1 − MOMENTUM)·μ   (likewise running_var with σ²)
 * Test mode uses running_mean and running_var for μ and σ². Saves μ and 1/sqrt(σ² + ε) for backward. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *gamma = mem + P_GAMMA;
    const real *beta = mem + P_BETA;
    real *running_mean = mem + B_RUNNING_MEAN;
    real *running_var = mem + B_RUNNING_VAR;
    real *saved_mean = mem + S_MEAN;
    real *saved_invstd = mem + S_INVSTD;
    (void)rng;
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (train) {
            double sum = 0;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) sum += AT(x, n, c, s);
            mean = sum / (N * S);
            double sq = 0;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) {
                    const double centered = AT(x, n, c, s) - mean;
                    sq += centered * centered;
                }
            var = sq / (N * S);
            running_mean[c] = (real)(MOMENTUM * running_mean[c] + (1 - MOMENTUM) * mean);
            running_var[c] = (real)(MOMENTUM * running_var[c] + (1 - MOMENTUM) * var);
        } else {
            mean = running_mean[c];
            var = running_var[c];
        }
        const double invstd = 1 / sqrt(var + EPS);
        saved_mean[c] = (real)mean;
        saved_invstd[c] = (real)invstd;
        const real scale = (real)(gamma[c] * invstd);
        const real shift = (real)(beta[c] - gamma[c] * invstd * mean);
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) AT(out, n, c, s) = AT(x, n, c, s) * scale + shift;
    }
}

/* Backward, per channel, with x̂ = (x − μ)·invstd and M = N·S:
 *   dβ = Σ dout,   dγ = Σ dout·x̂
 *   train: dx = (γ·invstd / M)·(M·dout − dβ − x̂·dγ)   (μ and σ² depend on x)
 *   test:  dx = γ·invstd·dout                          (running statistics are constants) */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *gamma = mem + P_GAMMA;
    real *dgamma = mem + G_GAMMA;
    real *dbeta = mem + G_BETA;
    const real *saved_mean = mem + S_MEAN;
    const real *saved_invstd = mem + S_INVSTD;
    for (int c = 0; c < C; c++) {
        const double mean = saved_mean[c], invstd = saved_invstd[c];
        double sum_dout = 0, sum_dout_xhat = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                const double g = AT(dout, n, c, s);
                sum_dout += g;
                sum_dout_xhat += g * (AT(x, n, c, s) - mean) * invstd;
            }
        dbeta[c] = (real)sum_dout;
        dgamma[c] = (real)sum_dout_xhat;
        if (!dx) continue;
        const double k = gamma[c] * invstd;
        if (train) {
            const double inv_m = 1.0 / (N * S);
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) {
                    const double xhat = (AT(x, n, c, s) - mean) * invstd;
                    AT(dx, n, c, s) = (real)(k * (AT(dout, n, c, s) - inv_m * (sum_dout + xhat * sum_dout_xhat)));
                }
        } else {
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) AT(dx, n, c, s) = (real)(k * AT(dout, n, c, s));
        }
    }
}

#undef AT
