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

/* Forward of units [lo, hi) (unit n·G + g: sample n, group g), the same in both modes:
 *   μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²   (biased, over the group's M values)
 *   out = γ_c·(x − μ)/sqrt(σ² + ε) + β_c     (c the channel of the value)
 * Saves μ and 1/sqrt(σ² + ε) per (n, g) for backward. */
static void FN(forward_groups)(void *context, long lo, long hi) {
    const nngen_norm_call *t = context;
    real *out = t->mem + OUT;
    const real *gamma = t->mem + P_GAMMA;
    const real *beta = t->mem + P_BETA;
    real *saved_mean = t->mem + S_MEAN;
    real *saved_invstd = t->mem + S_INVSTD;
    for (long unit = lo; unit < hi; unit++) {
        const int n = (int)(unit / G), g = (int)(unit % G);
        const real *xs = GROUP(t->x, n, g);
        real *o = GROUP(out, n, g);
        double mean, invstd;
        nngen_moments(xs, M, EPS, &mean, &invstd);
        saved_mean[unit] = (real)mean;
        saved_invstd[unit] = (real)invstd;
        for (int k = 0; k < CPG; k++) { /* channel c = g·CPG + k: its S values, γ and β constants */
            const real gamma_c = gamma[g * CPG + k], beta_c = beta[g * CPG + k];
            for (int s = 0; s < S; s++) {
                const int j = k * S + s;
                o[j] = (real)(gamma_c * ((xs[j] - mean) * invstd) + beta_c);
            }
        }
    }
}

/* Forward: every (sample, group), ranges of them on the pool's threads when worth it (nngen_ranges in
 * nngen.h; each is computed on its own, so the split changes no bit). */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    nngen_norm_call t = {mem, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(N * G, 4 * M, FN(forward_groups), &t);
}

#if NNGEN_BACKWARD
/* Backward, with x̂ = (x − μ)·invstd of the value's (n, g) and dx̂ = dout·γ_c:
 *   dβ_c = Σ_{n,h,w} dout,   dγ_c = Σ_{n,h,w} dout·x̂
 *   dx = (invstd / M)·(M·dx̂ − Σ_group dx̂ − x̂·Σ_group dx̂·x̂)     (sums over the M values of (n, g))
 * Every sum in double by lanes (nngen.h): the group's M values for μ and σ² (lane j mod 16); per channel,
 * the S positions of each channel with lane s mod 16, channels (and for dβ, dγ samples) one after another.
 * dβ and dγ of channels [lo, hi), each over n, then h and w: */
static void FN(parameter_channels)(void *context, long lo, long hi) {
    const nngen_norm_call *t = context;
    const real *x = t->x, *dout = t->dout;
    const real *saved_mean = t->mem + S_MEAN;
    const real *saved_invstd = t->mem + S_INVSTD;
    for (long c = lo; c < hi; c++) {
        double lanes_dout[NNGEN_SUM_LANES] = {0}, lanes_dout_xhat[NNGEN_SUM_LANES] = {0};
        const int g = (int)c / CPG;
        for (int n = 0; n < N; n++) {
            const double mean = saved_mean[n * G + g], invstd = saved_invstd[n * G + g];
            const long row = (n * C + c) * S;
            nngen_lanes_gradient(dout + row, NULL, 1, x + row, S, mean, invstd, lanes_dout, lanes_dout_xhat,
                                 NULL);
        }
        t->mem[G_BETA + c] = (real)nngen_lanes_total(lanes_dout);
        t->mem[G_GAMMA + c] = (real)nngen_lanes_total(lanes_dout_xhat);
    }
}

/* dx of units [lo, hi) (as forward's) */
static void FN(input_groups)(void *context, long lo, long hi) {
    const nngen_norm_call *t = context;
    const real *gamma = t->mem + P_GAMMA;
    const real *saved_mean = t->mem + S_MEAN;
    const real *saved_invstd = t->mem + S_INVSTD;
    for (long unit = lo; unit < hi; unit++) {
        const int n = (int)(unit / G), g = (int)(unit % G);
        const real *xs = GROUP(t->x, n, g);
        const real *gs = GROUP(t->dout, n, g);
        real *dxs = GROUP(t->dx, n, g);
        const double mean = saved_mean[unit], invstd = saved_invstd[unit];
        double lanes_dxhat[NNGEN_SUM_LANES] = {0}, lanes_dxhat_xhat[NNGEN_SUM_LANES] = {0};
        for (int k = 0; k < CPG; k++) /* channel g·CPG + k: dx̂ = dout·γ of the channel */
            nngen_lanes_gradient(gs + k * S, NULL, gamma[g * CPG + k], xs + k * S, S, mean, invstd,
                                 lanes_dxhat, lanes_dxhat_xhat, NULL);
        const double sum_dxhat = nngen_lanes_total(lanes_dxhat);
        const double sum_dxhat_xhat = nngen_lanes_total(lanes_dxhat_xhat);
        for (int k = 0; k < CPG; k++) {
            const real gamma_c = gamma[g * CPG + k];
            for (int s = 0; s < S; s++) {
                const int j = k * S + s;
                const double xhat = (xs[j] - mean) * invstd;
                const double dxhat = gs[j] * gamma_c;
                NNGEN_DX(dxs[j], (real)(invstd * (dxhat - (sum_dxhat + xhat * sum_dxhat_xhat) / M)));
            }
        }
    }
}

/* Backward: dγ and dβ by ranges of channels, then dx by ranges of (sample, group), on the pool's threads
 * when worth it. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_norm_call t = {mem, x, dout, dx};
    (void)train;
    nngen_ranges(C, 4 * N * S, FN(parameter_channels), &t);
    if (dx) nngen_ranges(N * G, 6 * M, FN(input_groups), &t);
}
#endif /* NNGEN_BACKWARD */

#undef GROUP
#undef M
