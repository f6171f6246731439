/* groupnorm.c — group normalization of x (N, C, H, W): the C channels form G groups of CPG = C/G
 * consecutive channels; each (sample, group) is normalized over its M = CPG·S values (S = H·W), then scaled
 * and shifted per channel by γ and β (C).
 * Math (docs/math.md, normalization layers): layernorm's derivation on groups of channels, with
 * x̂ = (x − μ)/sqrt(σ² + ε). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/groupnorm.c */
#include "nngen.h"
#define FN(name)      groupnorm_##name
#define N             2 /* batch */
#define C             4 /* channels */
#define G             2 /* groups */
#define CPG           2 /* channels per group */
#define S             3 /* spatial positions per channel (H·W) */
#define EPS           1e-5
#define OUT           0 /* out (N, C, H, W) */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#define P_GAMMA       64
#define G_GAMMA       128
#define P_BETA        192
#define G_BETA        256
#define S_MEAN        320
#define S_INVSTD      384
#endif

/* The values of group g of sample n are contiguous: channels g·CPG .. g·CPG + CPG − 1, each S positions,
 * so they are the M = CPG·S values starting at GROUP(t, n, g); value j of it has channel g·CPG + j / S. */
#define GROUP(t, n, g) ((t) + ((n)*C + (g)*CPG) * S)
#define M              (CPG * S)

/* Forward, the same in both modes, per sample n and group g:
 *   μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²   (biased, over the group's M values)
 *   out = γ_c·(x − μ)/sqrt(σ² + ε) + β_c     (c the channel of the value)
 * Saves μ and 1/sqrt(σ² + ε) per (n, g) for backward. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *gamma = mem + P_GAMMA;
    const real *beta = mem + P_BETA;
    real *saved_mean = mem + S_MEAN;
    real *saved_invstd = mem + S_INVSTD;
    (void)train;
    (void)rng;
    for (int n = 0; n < N; n++)
        for (int g = 0; g < G; g++) {
            const real *xs = GROUP(x, n, g);
            real *o = GROUP(out, n, g);
            double sum = 0;
            for (int j = 0; j < M; j++) sum += xs[j];
            const double mean = sum / M;
            double sq = 0;
            for (int j = 0; j < M; j++) {
                const double centered = xs[j] - mean;
                sq += centered * centered;
            }
            const double invstd = 1 / sqrt(sq / M + EPS);
            saved_mean[n * G + g] = (real)mean;
            saved_invstd[n * G + g] = (real)invstd;
            for (int j = 0; j < M; j++) {
                const int c = g * CPG + j / S;
                o[j] = (real)(gamma[c] * ((xs[j] - mean) * invstd) + beta[c]);
            }
        }
}

#if NNGEN_BACKWARD
/* Backward, with x̂ = (x − μ)·invstd of the value's (n, g) and dx̂ = dout·γ_c:
 *   dβ_c = Σ_{n,h,w} dout,   dγ_c = Σ_{n,h,w} dout·x̂
 *   dx = (invstd / M)·(M·dx̂ − Σ_group dx̂ − x̂·Σ_group dx̂·x̂)     (sums over the M values of (n, g)) */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *gamma = mem + P_GAMMA;
    real *dgamma = mem + G_GAMMA;
    real *dbeta = mem + G_BETA;
    const real *saved_mean = mem + S_MEAN;
    const real *saved_invstd = mem + S_INVSTD;
    (void)train;
    for (int c = 0; c < C; c++) {
        double sum_dout = 0, sum_dout_xhat = 0;
        const int g = c / CPG;
        for (int n = 0; n < N; n++) {
            const double mean = saved_mean[n * G + g], invstd = saved_invstd[n * G + g];
            for (int s = 0; s < S; s++) {
                const int i = (n * C + c) * S + s;
                sum_dout += dout[i];
                sum_dout_xhat += dout[i] * (x[i] - mean) * invstd;
            }
        }
        dbeta[c] = (real)sum_dout;
        dgamma[c] = (real)sum_dout_xhat;
    }
    if (!dx) return;
    for (int n = 0; n < N; n++)
        for (int g = 0; g < G; g++) {
            const real *xs = GROUP(x, n, g);
            const real *gs = GROUP(dout, n, g);
            real *dxs = GROUP(dx, n, g);
            const double mean = saved_mean[n * G + g], invstd = saved_invstd[n * G + g];
            double sum_dxhat = 0, sum_dxhat_xhat = 0;
            for (int j = 0; j < M; j++) {
                const double dxhat = gs[j] * gamma[g * CPG + j / S];
                sum_dxhat += dxhat;
                sum_dxhat_xhat += dxhat * (xs[j] - mean) * invstd;
            }
            for (int j = 0; j < M; j++) {
                const double xhat = (xs[j] - mean) * invstd;
                const double dxhat = gs[j] * gamma[g * CPG + j / S];
                NNGEN_DX(dxs[j], (real)(invstd * (dxhat - (sum_dxhat + xhat * sum_dxhat_xhat) / M)));
            }
        }
}
#endif /* NNGEN_BACKWARD */

#undef GROUP
#undef M
