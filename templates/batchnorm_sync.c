/* batchnorm_sync.c — batchnorm sync=true (PyTorch's SyncBatchNorm): batch normalization whose train-mode
 * statistics are those of the global batch, the M_all values of channel c on every process of a
 * data-parallel job, summed by nngen_allreduce (set with the network's set_allreduce entry point; without
 * it, this process alone). x is (N, C) with S = 1 or (N, C, H, W) with S = H·W; plain loops over n, c, s in
 * order, the same on every compiler. Math (docs/math.md, normalization layers; docs/spec.md, batchnorm):
 *   forward, train, two passes and two reductions (M itself is summed along, giving M_all):
 *     μ = Σ_all x / M_all,   σ² = Σ_all (x − μ)² / M_all,   x̂ = (x − μ)/sqrt(σ² + ε),   out = γ·x̂ + β
 *     running_mean = MOMENTUM·running_mean + (1 − MOMENTUM)·μ   (likewise running_var with σ²)
 *   backward, train: each process's loss is its own mean and the host averages every parameter gradient
 *   over the processes, so dβ = Σ dout and dγ = Σ dout·x̂ stay this process's sums, while dx needs the
 *   global ones (the derivative of the global μ and σ² with respect to this process's x):
 *     dx = γ·invstd·(dout − (Σ_all dout + x̂·Σ_all dout·x̂) / M_all)
 *   test mode: the running statistics, as batchnorm.c: out = γ·(x − μ)·invstd + β, dx = γ·invstd·dout. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/batchnorm_sync.c */
#include "nngen.h"
#define FN(name)       batchnorm_sync_##name
#define N              2 /* batch */
#define C              3 /* features / channels */
#define S              1 /* spatial positions per channel */
#define EPS            1e-5
#define MOMENTUM       0.9
#define OUT            0
#define DX_ACCUMULATE  0 /* 1: add to dx instead of overwriting it */
#define P_GAMMA        64
#define G_GAMMA        128
#define P_BETA         192
#define G_BETA         256
#define B_RUNNING_MEAN 320
#define B_RUNNING_VAR  384
#define S_MEAN         448
#define S_INVSTD       512
#endif

/* Element (n, c, s) of a (N, C, S) tensor. */
#define AT(t, n, c, s) (t)[((n)*C + (c)) * S + (s)]

/* The hook, shared by every sync batchnorm of the file: sums `count` doubles over the processes. */
#ifndef NNGEN_ALLREDUCE_FN_DEFINED
#define NNGEN_ALLREDUCE_FN_DEFINED
typedef void (*nngen_allreduce_fn)(double *values, int count);
#endif
#ifndef NNGEN_ALLREDUCE_HOOK_DEFINED
#define NNGEN_ALLREDUCE_HOOK_DEFINED
static nngen_allreduce_fn nngen_allreduce_hook;
static void nngen_allreduce(double *values, int count) {
    if (nngen_allreduce_hook) nngen_allreduce_hook(values, count);
}
#endif

/* Per-channel sums (static: C can be large for the stack) and the means in double. */
static double FN(sync_sums)[2 * C + 1];
static double FN(sync_mean)[C];

static void FN(sync_forward)(real *mem, const real *x) {
    double *sum = FN(sync_sums), *mean = FN(sync_mean);
    real *running_mean = mem + B_RUNNING_MEAN, *running_var = mem + B_RUNNING_VAR;
    for (int c = 0; c < C; c++) sum[c] = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < S; s++) sum[c] += AT(x, n, c, s);
    sum[C] = (double)N * S;
    nngen_allreduce(sum, C + 1);
    const double m = sum[C];
    for (int c = 0; c < C; c++) mean[c] = sum[c] / m;
    for (int c = 0; c < C; c++) sum[c] = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int s = 0; s < S; s++) {
                const double centered = AT(x, n, c, s) - mean[c];
                sum[c] += centered * centered;
            }
    nngen_allreduce(sum, C);
    for (int c = 0; c < C; c++) {
        const double var = sum[c] / m, invstd = 1 / sqrt(var + EPS);
        const real gamma = mem[P_GAMMA + c], beta = mem[P_BETA + c];
        const real scale = (real)(gamma * invstd), shift = (real)(beta - gamma * invstd * mean[c]);
        running_mean[c] = (real)(MOMENTUM * running_mean[c] + (1 - MOMENTUM) * mean[c]);
        running_var[c] = (real)(MOMENTUM * running_var[c] + (1 - MOMENTUM) * var);
        mem[S_MEAN + c] = (real)mean[c];
        mem[S_INVSTD + c] = (real)invstd;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) AT(mem + OUT, n, c, s) = AT(x, n, c, s) * scale + shift;
    }
}

#if NNGEN_BACKWARD
static void FN(sync_backward)(real *mem, const real *x, const real *dout, real *dx) {
    double *sum = FN(sync_sums);
    for (int c = 0; c < 2 * C; c++) sum[c] = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double mean = mem[S_MEAN + c], invstd = mem[S_INVSTD + c];
            for (int s = 0; s < S; s++) {
                const double g = AT(dout, n, c, s);
                sum[c] += g;
                sum[C + c] += g * (AT(x, n, c, s) - mean) * invstd;
            }
        }
    for (int c = 0; c < C; c++) {
        mem[G_BETA + c] = (real)sum[c];
        mem[G_GAMMA + c] = (real)sum[C + c];
    }
    if (!dx) return;
    sum[2 * C] = (double)N * S;
    nngen_allreduce(sum, 2 * C + 1);
    const double inv_m = 1 / sum[2 * C];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const double mean = mem[S_MEAN + c], invstd = mem[S_INVSTD + c], k = mem[P_GAMMA + c] * invstd;
            for (int s = 0; s < S; s++) {
                const double xhat = (AT(x, n, c, s) - mean) * invstd;
                NNGEN_DX(AT(dx, n, c, s),
                         (real)(k * (AT(dout, n, c, s) - inv_m * (sum[c] + xhat * sum[C + c]))));
            }
        }
}
#endif /* NNGEN_BACKWARD */
/* Test mode: the running statistics, saved as μ and invstd for backward. */
static void FN(test_forward)(real *mem, const real *x) {
    for (int c = 0; c < C; c++) {
        const double mean = mem[B_RUNNING_MEAN + c], invstd = 1 / sqrt(mem[B_RUNNING_VAR + c] + EPS);
        const real gamma = mem[P_GAMMA + c], beta = mem[P_BETA + c];
        const real scale = (real)(gamma * invstd), shift = (real)(beta - gamma * invstd * mean);
        mem[S_MEAN + c] = (real)mean;
        mem[S_INVSTD + c] = (real)invstd;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) AT(mem + OUT, n, c, s) = AT(x, n, c, s) * scale + shift;
    }
}

void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    (void)rng;
    if (train)
        FN(sync_forward)(mem, x);
    else
        FN(test_forward)(mem, x);
}

#if NNGEN_BACKWARD
/* Test mode: dβ = Σ dout, dγ = Σ dout·x̂ (this process's), dx = γ·invstd·dout (constants statistics). */
static void FN(test_backward)(real *mem, const real *x, const real *dout, real *dx) {
    for (int c = 0; c < C; c++) {
        const double mean = mem[S_MEAN + c], invstd = mem[S_INVSTD + c], k = mem[P_GAMMA + c] * invstd;
        double sum_dout = 0, sum_dout_xhat = 0;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) {
                const double g = AT(dout, n, c, s);
                sum_dout += g;
                sum_dout_xhat += g * (AT(x, n, c, s) - mean) * invstd;
            }
        mem[G_BETA + c] = (real)sum_dout;
        mem[G_GAMMA + c] = (real)sum_dout_xhat;
        if (!dx) continue;
        for (int n = 0; n < N; n++)
            for (int s = 0; s < S; s++) NNGEN_DX(AT(dx, n, c, s), (real)(k * AT(dout, n, c, s)));
    }
}

void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    if (train)
        FN(sync_backward)(mem, x, dout, dx);
    else
        FN(test_backward)(mem, x, dout, dx);
}
#endif /* NNGEN_BACKWARD */

#undef AT
