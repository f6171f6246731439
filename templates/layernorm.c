/* layernorm.c — layer normalization: each of N samples normalized over its own D values (x is (N, D); an
 * image (N, C, H, W) is read as D = C·H·W), then scaled and shifted per feature by γ and β (D).
 * Math (docs/math.md, normalization layers): x̂ = (x − μ)/sqrt(σ² + ε) over the sample's D values; a term
 * (1/D²)·Σ(dout·γ·x̂)·Σx̂ that a naive derivation keeps is exactly zero, because Σ_d x̂ = 0. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/layernorm.c */
#include "nngen.h"
#define FN(name)      layernorm_##name
#define N             2 /* batch */
#define D             3 /* features per sample */
#define EPS           1e-5
#define OUT           0 /* out (N, D) */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#define P_GAMMA       64
#define G_GAMMA       128
#define P_BETA        192
#define G_BETA        256
#define S_MEAN        320
#define S_INVSTD      384
#endif

/* Forward of samples [lo, hi), the same in both modes (no running statistics), per sample n:
 *   μ_n = (1/D) Σ_d x[n][d],   σ²_n = (1/D) Σ_d (x[n][d] − μ_n)²   (biased)
 *   out[n][d] = γ_d·(x[n][d] − μ_n)/sqrt(σ²_n + ε) + β_d
 * Saves μ_n and 1/sqrt(σ²_n + ε) for backward. Each sum over the sample's D values is taken in double by
 * lanes (nngen.h, nngen_moments and nngen_lanes_gradient), forward and backward. */
static void FN(forward_samples)(void *context, long lo, long hi) {
    const nngen_norm_call *t = context;
    real *out = t->mem + OUT;
    const real *gamma = t->mem + P_GAMMA;
    const real *beta = t->mem + P_BETA;
    real *saved_mean = t->mem + S_MEAN;
    real *saved_invstd = t->mem + S_INVSTD;
    for (long n = lo; n < hi; n++) {
        const real *xs = t->x + n * D;
        real *o = out + n * D;
        double mean, invstd;
        nngen_moments(xs, D, EPS, &mean, &invstd);
        saved_mean[n] = (real)mean;
        saved_invstd[n] = (real)invstd;
        for (int d = 0; d < D; d++) o[d] = (real)(gamma[d] * ((xs[d] - mean) * invstd) + beta[d]);
    }
}

/* Forward: every sample, ranges of samples on the pool's threads when worth it (nngen_ranges in nngen.h;
 * each sample is computed on its own, so the split changes no bit). */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    nngen_norm_call t = {mem, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(N, 4 * D, FN(forward_samples), &t);
}

#if NNGEN_BACKWARD
/* Backward, with x̂ = (x − μ_n)·invstd_n and dx̂ = dout·γ:
 *   dβ_d = Σ_n dout[n][d],   dγ_d = Σ_n dout[n][d]·x̂[n][d]
 *   dx[n][d] = (invstd_n / D)·(D·dx̂[n][d] − Σ_d' dx̂[n][d'] − x̂[n][d]·Σ_d' dx̂[n][d']·x̂[n][d'])
 * (1/D, not 1/N: the statistics are per sample.) dβ and dγ of features [lo, hi), each summed over n in order,
 * FEATURES features at a time (n outer: the features' sums run side by side, in vectors): */
#define FEATURES 64
static void FN(parameter_features)(void *context, long lo, long hi) {
    const nngen_norm_call *t = context;
    real *dgamma = t->mem + G_GAMMA;
    real *dbeta = t->mem + G_BETA;
    const real *saved_mean = t->mem + S_MEAN;
    const real *saved_invstd = t->mem + S_INVSTD;
    for (long d0 = lo; d0 < hi; d0 += FEATURES) {
        const int count = hi - d0 < FEATURES ? (int)(hi - d0) : FEATURES;
        double sum_dout[FEATURES], sum_dout_xhat[FEATURES];
        for (int k = 0; k < count; k++) sum_dout[k] = sum_dout_xhat[k] = 0;
        for (int n = 0; n < N; n++) {
            const real *g = t->dout + n * D + d0, *xs = t->x + n * D + d0;
            const real mean = saved_mean[n], invstd = saved_invstd[n];
            for (int k = 0; k < count; k++) {
                const double gk = g[k];
                sum_dout[k] += gk;
                sum_dout_xhat[k] += gk * (xs[k] - mean) * invstd;
            }
        }
        for (int k = 0; k < count; k++) {
            dbeta[d0 + k] = (real)sum_dout[k];
            dgamma[d0 + k] = (real)sum_dout_xhat[k];
        }
    }
}
#undef FEATURES

/* dx of samples [lo, hi). */
static void FN(input_samples)(void *context, long lo, long hi) {
    const nngen_norm_call *t = context;
    const real *gamma = t->mem + P_GAMMA;
    const real *saved_mean = t->mem + S_MEAN;
    const real *saved_invstd = t->mem + S_INVSTD;
    real *dx = t->dx;
    for (long n = lo; n < hi; n++) {
        const real *xs = t->x + n * D;
        const real *g = t->dout + n * D;
        const double mean = saved_mean[n], invstd = saved_invstd[n];
        double lanes_dxhat[NNGEN_SUM_LANES] = {0}, lanes_dxhat_xhat[NNGEN_SUM_LANES] = {0};
        nngen_lanes_gradient(g, gamma, 0, xs, D, mean, invstd, lanes_dxhat, lanes_dxhat_xhat, NULL);
        const double sum_dxhat = nngen_lanes_total(lanes_dxhat);
        const double sum_dxhat_xhat = nngen_lanes_total(lanes_dxhat_xhat);
        for (int d = 0; d < D; d++) {
            const double xhat = (xs[d] - mean) * invstd;
            const double dxhat = g[d] * gamma[d];
            NNGEN_DX(dx[n * D + d], (real)(invstd * (dxhat - (sum_dxhat + xhat * sum_dxhat_xhat) / D)));
        }
    }
}

/* Backward: dβ and dγ by ranges of features, then dx by ranges of samples (on the pool when worth it). */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_norm_call t = {mem, x, dout, dx};
    (void)train;
    nngen_ranges(D, 4 * N, FN(parameter_features), &t);
    if (dx) nngen_ranges(N, 6 * D, FN(input_samples), &t);
}
#endif /* NNGEN_BACKWARD */
