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

/* Channels are processed in blocks of CB, rows in the outer loop: every pass reads x contiguously
 * (and vectorizes over channels when S = 1), while each channel's sums still run over n, then s, in
 * the same order as a per-channel loop — the result is the same to the bit. */
#define CB (C < 256 ? C : 256)

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
    for (int c0 = 0; c0 < C; c0 += CB) {
        const int cn = C - c0 < CB ? C - c0 : CB;
        double mean[CB], var[CB];
        real scale[CB], shift[CB];
        if (train) {
            double sum[CB], sq[CB];
            for (int c = 0; c < cn; c++) sum[c] = sq[c] = 0;
            for (int n = 0; n < N; n++)
                for (int c = 0; c < cn; c++)
                    for (int s = 0; s < S; s++) sum[c] += AT(x, n, c0 + c, s);
            for (int c = 0; c < cn; c++) mean[c] = sum[c] / (N * S);
            for (int n = 0; n < N; n++)
                for (int c = 0; c < cn; c++)
                    for (int s = 0; s < S; s++) {
                        const double centered = AT(x, n, c0 + c, s) - mean[c];
                        sq[c] += centered * centered;
                    }
            for (int c = 0; c < cn; c++) {
                var[c] = sq[c] / (N * S);
                running_mean[c0 + c] = (real)(MOMENTUM * running_mean[c0 + c] + (1 - MOMENTUM) * mean[c]);
                running_var[c0 + c] = (real)(MOMENTUM * running_var[c0 + c] + (1 - MOMENTUM) * var[c]);
            }
        } else {
            for (int c = 0; c < cn; c++) {
                mean[c] = running_mean[c0 + c];
                var[c] = running_var[c0 + c];
            }
        }
        for (int c = 0; c < cn; c++) {
            const double invstd = 1 / sqrt(var[c] + EPS);
            saved_mean[c0 + c] = (real)mean[c];
            saved_invstd[c0 + c] = (real)invstd;
            scale[c] = (real)(gamma[c0 + c] * invstd);
            shift[c] = (real)(beta[c0 + c] - gamma[c0 + c] * invstd * mean[c]);
        }
        for (int n = 0; n < N; n++)
            for (int c = 0; c < cn; c++)
                for (int s = 0; s < S; s++) AT(out, n, c0 + c, s) = AT(x, n, c0 + c, s) * scale[c] + shift[c];
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
    for (int c0 = 0; c0 < C; c0 += CB) {
        const int cn = C - c0 < CB ? C - c0 : CB;
        double mean[CB], invstd[CB], sum_dout[CB], sum_dout_xhat[CB], k[CB];
        for (int c = 0; c < cn; c++) {
            mean[c] = saved_mean[c0 + c];
            invstd[c] = saved_invstd[c0 + c];
            sum_dout[c] = sum_dout_xhat[c] = 0;
        }
        for (int n = 0; n < N; n++)
            for (int c = 0; c < cn; c++)
                for (int s = 0; s < S; s++) {
                    const double g = AT(dout, n, c0 + c, s);
                    sum_dout[c] += g;
                    sum_dout_xhat[c] += g * (AT(x, n, c0 + c, s) - mean[c]) * invstd[c];
                }
        for (int c = 0; c < cn; c++) {
            dbeta[c0 + c] = (real)sum_dout[c];
            dgamma[c0 + c] = (real)sum_dout_xhat[c];
            k[c] = gamma[c0 + c] * invstd[c];
        }
        if (!dx) continue;
        if (train) {
            const double inv_m = 1.0 / (N * S);
            for (int n = 0; n < N; n++)
                for (int c = 0; c < cn; c++)
                    for (int s = 0; s < S; s++) {
                        const double xhat = (AT(x, n, c0 + c, s) - mean[c]) * invstd[c];
                        AT(dx, n, c0 + c, s) = (real)(k[c] * (AT(dout, n, c0 + c, s) - inv_m * (sum_dout[c] + xhat * sum_dout_xhat[c])));
                    }
        } else {
            for (int n = 0; n < N; n++)
                for (int c = 0; c < cn; c++)
                    for (int s = 0; s < S; s++) AT(dx, n, c0 + c, s) = (real)(k[c] * AT(dout, n, c0 + c, s));
        }
    }
}

#undef CB
#undef AT
