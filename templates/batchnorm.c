/* batchnorm.c — batch normalization of each of C features (x is (N, C) with S = 1) or channels
 * (x is (N, C, H, W) with S = H·W, "spatial batchnorm"), over the M = N·S values that share it.
 * Math (docs/math.md, normalization layers): x̂ = (x − μ)/sqrt(σ² + ε) over the M values, out = γ·x̂ + β.
 * Sums are taken in double. With S = 1 each runs over n in order; with S > 1 over SUM_LANES partial sums
 * (lane l takes the positions s ≡ l mod SUM_LANES, n then s in order) added up pairwise at the end:
 * the order a vector unit needs, used by the scalar path too, so both give the same bits.
 * With RELU_OUT (a relu alone reads this layer's output) the network calls forward_relu and backward_relu:
 * forward writes relu's output r = max(0, out) in its last loop instead of out (which is not stored);
 * backward reads relu's output gradient dr and uses dout = dr·1[r > 0] (relu's backward: r > 0 exactly
 * where out > 0) where it reads dout. The same values in the same order as the two layers' separate calls,
 * with one pass over memory fewer each way and one tensor fewer in the forward's working set. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/batchnorm.c */
#include "nngen.h"
#define FN(name)       batchnorm_##name
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
#define RELU_OUT       576 /* output of a relu applied here; only when one follows */
#endif

/* The index of element (n, c, s) of a (N, C, S) tensor, and the element of t there. */
#define IDX(n, c, s)   (((n)*C + (c)) * S + (s))
#define AT(t, n, c, s) (t)[IDX(n, c, s)]

#if NNGEN_BACKWARD
/* The output's gradient at index i: dout[i], or when `fused` (a relu applied here) relu's backward of its
 * output gradient dout, y[i] > 0 ? dout[i] : 0, with y relu's output (MASK). It reads the locals `fused`,
 * `dout` and `y` of the function it is used in. */
#if NNGEN_FAST
/* relu's backward at one element, `y > 0 ? g : 0`, computed on g's bits (and-ed with all ones or all
 * zeros: the same value, +0 where masked) because GCC does not turn that branch into a vector select
 * where the result feeds floating-point arithmetic. */
static inline real FN(relu_gradient)(real y, real g) {
    union {
        real r;
        uint32_t w32;
        uint64_t w64;
    } v = {g};
    if (sizeof(real) == 4)
        v.w32 &= -(uint32_t)(y > 0);
    else
        v.w64 &= -(uint64_t)(y > 0);
    return v.r;
}
#define DOUT(i) (fused ? FN(relu_gradient)(y[i], dout[i]) : dout[i])
#else /* tcc: a call per element would cost more than the branch */
#define DOUT(i) (fused && !(y[i] > 0) ? 0 : dout[i])
#endif
#ifdef RELU_OUT
#define MASK RELU_OUT
#else
#define MASK OUT /* read only when fused, which needs RELU_OUT */
#endif
#endif /* NNGEN_BACKWARD */

/* The passes below take `fused` (0, or 1 for relu applied here) as a constant: GCC and Clang compile
 * them once per entry point with it known, so each loop is as plain as without the option. */
#if NNGEN_FAST
#define PASS NNGEN_INLINE
#else
#define PASS static
#endif

#if NNGEN_FAST
/* What a task (channels in parallel) needs. */
typedef struct {
    real *mem;
    const real *x, *dout;
    real *dx;
    int train;
} FN(arguments);

/* Channels in parallel once the tensor is worth it (about 32768 elements by default). */
#define SMALL ((double)N * C * S * 8 < NNGEN_PARALLEL_WORK)
#endif

#if S > 1
/* ---- Spatial batchnorm (S = H·W > 1): one channel at a time, its rows of S values contiguous. ---- */
#define SUM_LANES NNGEN_SUM_LANES

/* Σ row[s] and Σ (row[s] − shift)² over the N rows of channel c, by lanes (the second only when
 * `squares`; the first only otherwise). */
static void FN(sums)(const real *x, int c, int squares, double shift, double *part) {
    for (int l = 0; l < SUM_LANES; l++) part[l] = 0;
    for (int n = 0; n < N; n++) nngen_lanes_add(x + ((long)n * C + c) * S, S, squares, shift, part);
}

#if NNGEN_BACKWARD
/* Σ dout and Σ dout·(x − μ)·invstd over channel c, by lanes (dout as DOUT reads it). */
PASS void FN(gradient_sums)(const real *x, const real *dout, const real *y, int fused, int c, double mean,
                            double invstd, double *part_dout, double *part_dout_xhat) {
    for (int l = 0; l < SUM_LANES; l++) part_dout[l] = part_dout_xhat[l] = 0;
    for (int n = 0; n < N; n++) {
        const long base = ((long)n * C + c) * S;
        nngen_lanes_gradient(dout + base, NULL, 1, x + base, S, mean, invstd, part_dout, part_dout_xhat,
                             fused ? y + base : NULL);
    }
}
#endif /* NNGEN_BACKWARD */

/* A pass's units of work (the tasks of its pool job): one channel each. The scalar path runs them all. */
#define UNITS        C
#define WHOLE_UNITS  0 /* nngen_job's `whole`: none (each unit is a whole channel) */
#define SERIAL_FIRST 0
#define SERIAL_UNITS C

/* Forward of channel c (the formulas below, at FN(forward)); relu's output too when `fused`. */
PASS void FN(forward_unit)(real *mem, const real *x, int train, int fused, int c) {
    real *out = mem + OUT;
#ifdef RELU_OUT
    real *relu = mem + RELU_OUT;
#else
    real *relu = NULL; /* written only when fused, which needs RELU_OUT */
#endif
    real *running_mean = mem + B_RUNNING_MEAN;
    real *running_var = mem + B_RUNNING_VAR;
    double mean, var, part[SUM_LANES];
    if (train) {
        FN(sums)(x, c, 0, 0, part);
        mean = nngen_lanes_total(part) / (N * S);
        FN(sums)(x, c, 1, mean, part);
        var = nngen_lanes_total(part) / (N * S);
        running_mean[c] = (real)(MOMENTUM * running_mean[c] + (1 - MOMENTUM) * mean);
        running_var[c] = (real)(MOMENTUM * running_var[c] + (1 - MOMENTUM) * var);
    } else {
        mean = running_mean[c];
        var = running_var[c];
    }
    const double invstd = 1 / sqrt(var + EPS);
    const real gamma = mem[P_GAMMA + c], beta = mem[P_BETA + c];
    const real scale = (real)(gamma * invstd), shift = (real)(beta - gamma * invstd * mean);
    mem[S_MEAN + c] = (real)mean;
    mem[S_INVSTD + c] = (real)invstd;
    for (int n = 0; n < N; n++) {
        const real *row = x + (n * C + c) * S;
        if (fused) {
            real *r = relu + (n * C + c) * S;
            for (int s = 0; s < S; s++) {
                const real v = row[s] * scale + shift;
                r[s] = v > 0 ? v : 0;
            }
        } else {
            real *o = out + (n * C + c) * S;
            for (int s = 0; s < S; s++) o[s] = row[s] * scale + shift;
        }
    }
}

#if NNGEN_BACKWARD
/* Backward of channel c (the formulas below, at FN(backward)); dout as DOUT reads it. */
PASS void FN(backward_unit)(real *mem, const real *x, const real *dout, int fused, real *dx, int train,
                            int c) {
    const real *y = mem + MASK;
    const double mean = mem[S_MEAN + c], invstd = mem[S_INVSTD + c];
    double part_dout[SUM_LANES], part_dout_xhat[SUM_LANES];
    FN(gradient_sums)(x, dout, y, fused, c, mean, invstd, part_dout, part_dout_xhat);
    const double sum_dout = nngen_lanes_total(part_dout), sum_dout_xhat = nngen_lanes_total(part_dout_xhat);
    const double k = mem[P_GAMMA + c] * invstd;
    mem[G_BETA + c] = (real)sum_dout;
    mem[G_GAMMA + c] = (real)sum_dout_xhat;
    if (!dx) return;
    const double inv_m = 1.0 / (N * S);
    for (int n = 0; n < N; n++) {
        const long base = ((long)n * C + c) * S;
        const real *row = x + base;
        real *d = dx + base;
        if (train)
            for (int s = 0; s < S; s++) {
                const double xhat = (row[s] - mean) * invstd;
                NNGEN_DX(d[s], (real)(k * (DOUT(base + s) - inv_m * (sum_dout + xhat * sum_dout_xhat))));
            }
        else
            for (int s = 0; s < S; s++) NNGEN_DX(d[s], (real)(k * DOUT(base + s)));
    }
}
#endif /* NNGEN_BACKWARD */

#undef SUM_LANES

#else /* S == 1: features of (N, C) */

/* Channels are processed in blocks, rows in the outer loop: every pass reads x contiguously (and
 * vectorizes over channels), while each channel's sums still run over n, then s, in the same order as a
 * per-channel loop — the result is the same to the bit, whatever the blocks. One thread takes blocks of
 * CB channels; the pool's threads take blocks of CB_TASK (NNGEN_FAST below), so that each thread's share
 * is about the columns its share of the GEMM before this layer wrote (nngen.h: shares). */
#define CB (C < 256 ? C : 256)

/* Forward of channels c0 .. c0 + cn − 1, cn ≤ CB (the formulas at FN(forward) below); relu's output too
 * when `fused`. */
PASS void FN(forward_block)(real *mem, const real *x, int train, int fused, const int c0, const int cn) {
    real *out = mem + OUT;
#ifdef RELU_OUT
    real *relu = mem + RELU_OUT;
#else
    real *relu = NULL;
#endif
    const real *gamma = mem + P_GAMMA;
    const real *beta = mem + P_BETA;
    real *running_mean = mem + B_RUNNING_MEAN;
    real *running_var = mem + B_RUNNING_VAR;
    real *saved_mean = mem + S_MEAN;
    real *saved_invstd = mem + S_INVSTD;
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
    for (int n = 0; n < N; n++) {
        if (fused)
            for (int c = 0; c < cn; c++)
                for (int s = 0; s < S; s++) {
                    const real v = AT(x, n, c0 + c, s) * scale[c] + shift[c];
                    AT(relu, n, c0 + c, s) = v > 0 ? v : 0;
                }
        else
            for (int c = 0; c < cn; c++)
                for (int s = 0; s < S; s++) AT(out, n, c0 + c, s) = AT(x, n, c0 + c, s) * scale[c] + shift[c];
    }
}

#if NNGEN_BACKWARD
/* Backward of channels c0 .. c0 + cn − 1, cn ≤ CB (the formulas at FN(backward) below), dout as DOUT
 * reads it. */
PASS void FN(backward_block)(real *mem, const real *x, const real *dout, int fused, real *dx, int train,
                             const int c0, const int cn) {
    const real *y = mem + MASK;
    const real *gamma = mem + P_GAMMA;
    real *dgamma = mem + G_GAMMA;
    real *dbeta = mem + G_BETA;
    const real *saved_mean = mem + S_MEAN;
    const real *saved_invstd = mem + S_INVSTD;
    double mean[CB], invstd[CB], sum_dout[CB], sum_dout_xhat[CB], k[CB];
    for (int c = 0; c < cn; c++) {
        mean[c] = saved_mean[c0 + c];
        invstd[c] = saved_invstd[c0 + c];
        sum_dout[c] = sum_dout_xhat[c] = 0;
    }
    for (int n = 0; n < N; n++)
        for (int c = 0; c < cn; c++)
            for (int s = 0; s < S; s++) {
                const double g = DOUT(IDX(n, c0 + c, s));
                sum_dout[c] += g;
                sum_dout_xhat[c] += g * (AT(x, n, c0 + c, s) - mean[c]) * invstd[c];
            }
    for (int c = 0; c < cn; c++) {
        dbeta[c0 + c] = (real)sum_dout[c];
        dgamma[c0 + c] = (real)sum_dout_xhat[c];
        k[c] = gamma[c0 + c] * invstd[c];
    }
    if (!dx) return;
    if (train) {
        const double inv_m = 1.0 / (N * S);
        for (int n = 0; n < N; n++)
            for (int c = 0; c < cn; c++)
                for (int s = 0; s < S; s++) {
                    const double xhat = (AT(x, n, c0 + c, s) - mean[c]) * invstd[c];
                    NNGEN_DX(AT(dx, n, c0 + c, s),
                             (real)(k[c] * (DOUT(IDX(n, c0 + c, s)) -
                                            inv_m * (sum_dout[c] + xhat * sum_dout_xhat[c]))));
                }
    } else {
        for (int n = 0; n < N; n++)
            for (int c = 0; c < cn; c++)
                for (int s = 0; s < S; s++)
                    NNGEN_DX(AT(dx, n, c0 + c, s), (real)(k[c] * DOUT(IDX(n, c0 + c, s))));
    }
}
#endif /* NNGEN_BACKWARD */

/* A pass's units of work (the tasks of its pool job): UNITS blocks of CB_TASK channels, and for unit UNITS + w
 * (nngen_job's `whole`: one thread takes them all) block w of CB channels, which the scalar path runs. */
#define CB_TASK      (C < 64 ? C : 64)
#define UNITS        ((C + CB_TASK - 1) / CB_TASK)
#define WHOLE_UNITS  ((C + CB - 1) / CB)
#define SERIAL_FIRST UNITS
#define SERIAL_UNITS WHOLE_UNITS
/* Channels c0 .. c0 + cn − 1 of unit `unit`. */
#define BLOCK(unit, c0, cn)                                                                                  \
    const int whole_ = (unit) >= UNITS, width_ = whole_ ? CB : CB_TASK;                                      \
    const int c0 = ((unit) - (whole_ ? UNITS : 0)) * width_, cn = C - c0 < width_ ? C - c0 : width_

PASS void FN(forward_unit)(real *mem, const real *x, int train, int fused, int unit) {
    BLOCK(unit, c0, cn);
    FN(forward_block)(mem, x, train, fused, c0, cn);
}

#if NNGEN_BACKWARD
PASS void FN(backward_unit)(real *mem, const real *x, const real *dout, int fused, real *dx, int train,
                            int unit) {
    BLOCK(unit, c0, cn);
    FN(backward_block)(mem, x, dout, fused, dx, train, c0, cn);
}
#endif /* NNGEN_BACKWARD */
#undef BLOCK
#endif

/* ---- Both layouts: the units on the pool (fast path) or in order (scalar path). ---- */
#if NNGEN_FAST
static void FN(forward_task)(void *context, int unit) {
    const FN(arguments) *t = context;
    FN(forward_unit)(t->mem, t->x, t->train, 0, unit);
}

#ifdef RELU_OUT
static void FN(forward_relu_task)(void *context, int unit) {
    const FN(arguments) *t = context;
    FN(forward_unit)(t->mem, t->x, t->train, 1, unit);
}
#endif

#if NNGEN_BACKWARD
static void FN(backward_task)(void *context, int unit) {
    const FN(arguments) *t = context;
    FN(backward_unit)(t->mem, t->x, t->dout, 0, t->dx, t->train, unit);
}

#ifdef RELU_OUT
static void FN(backward_relu_task)(void *context, int unit) {
    const FN(arguments) *t = context;
    FN(backward_unit)(t->mem, t->x, t->dout, 1, t->dx, t->train, unit);
}
#endif
#endif /* NNGEN_BACKWARD */
#endif /* NNGEN_FAST */

/* Forward: every unit; relu's output too when `fused`. */
PASS void FN(forward_pass)(real *mem, const real *x, int train, int fused) {
#if NNGEN_FAST
    FN(arguments) t = {mem, x, NULL, NULL, train};
    (void)fused; /* read only #ifdef RELU_OUT */
#ifdef RELU_OUT
    const nngen_job job = {fused ? FN(forward_relu_task) : FN(forward_task), &t, UNITS, SMALL, WHOLE_UNITS};
#else
    const nngen_job job = {FN(forward_task), &t, UNITS, SMALL, WHOLE_UNITS};
#endif
    nngen_parallel(&job, 1);
#else
    for (int u = SERIAL_FIRST; u < SERIAL_FIRST + SERIAL_UNITS; u++)
        FN(forward_unit)(mem, x, train, fused, u);
#endif
}

#if NNGEN_BACKWARD
/* Backward: every unit, dout as DOUT reads it. */
PASS void FN(backward_pass)(real *mem, const real *x, const real *dout, int fused, real *dx, int train) {
#if NNGEN_FAST
    FN(arguments) t = {mem, x, dout, dx, train};
    (void)fused; /* read only #ifdef RELU_OUT */
#ifdef RELU_OUT
    const nngen_job job = {fused ? FN(backward_relu_task) : FN(backward_task), &t, UNITS, SMALL, WHOLE_UNITS};
#else
    const nngen_job job = {FN(backward_task), &t, UNITS, SMALL, WHOLE_UNITS};
#endif
    nngen_parallel(&job, 1);
#else
    for (int u = SERIAL_FIRST; u < SERIAL_FIRST + SERIAL_UNITS; u++)
        FN(backward_unit)(mem, x, dout, fused, dx, train, u);
#endif
}
#endif /* NNGEN_BACKWARD */
#undef UNITS
#undef WHOLE_UNITS
#undef SERIAL_FIRST
#undef SERIAL_UNITS
#undef CB_TASK /* (S == 1 only) */
#undef CB

/* Forward. Train mode, per channel c over its M = N·S values:
 *   μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²   (biased),   x̂ = (x − μ)/sqrt(σ² + ε),   out = γ·x̂ + β
 *   running_mean = MOMENTUM·running_mean + (1 − MOMENTUM)·μ   (likewise running_var with σ²)
 * Test mode uses running_mean and running_var for μ and σ². Saves μ and 1/sqrt(σ² + ε) for backward. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    (void)rng;
    FN(forward_pass)(mem, x, train, 0);
}

#if NNGEN_BACKWARD
/* Backward, per channel, with x̂ = (x − μ)·invstd and M = N·S:
 *   dβ = Σ dout,   dγ = Σ dout·x̂
 *   train: dx = (γ·invstd / M)·(M·dout − dβ − x̂·dγ)   (μ and σ² depend on x)
 *   test:  dx = γ·invstd·dout                          (running statistics are constants) */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    FN(backward_pass)(mem, x, dout, 0, dx, train);
}
#endif /* NNGEN_BACKWARD */

#ifdef RELU_OUT
/* Forward, then relu on the output: relu's output r = max(0, out), with out as FN(forward) computes it;
 * out itself is not stored. */
void FN(forward_relu)(real *mem, const real *x, int train, uint64_t rng) {
    (void)rng;
    FN(forward_pass)(mem, x, train, 1);
}

#if NNGEN_BACKWARD
/* Relu's backward, then this layer's: dout is relu's output gradient dr, and this layer's output
 * gradient dr·1[r > 0] (relu's dx) is read where FN(backward) reads dout, never stored. */
void FN(backward_relu)(real *mem, const real *x, const real *dout, real *dx, int train) {
    FN(backward_pass)(mem, x, dout, 1, dx, train);
}
#endif /* NNGEN_BACKWARD */
#endif /* RELU_OUT */
#undef PASS
#if NNGEN_FAST
#undef SMALL
#endif
#if NNGEN_BACKWARD
#undef MASK
#endif
#undef DOUT
#undef AT
#undef IDX
