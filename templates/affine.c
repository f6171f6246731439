/* affine.c — fully connected layer: out = x·W + b on the input flattened to (N, D).
 * Math (docs/math.md, affine): dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_n dout[n].
 * Two paths compute the same sums in the same order: GEMM tiles on all threads for GCC and Clang
 * (nngen_gemm_task in nngen.h), plain loops for tcc. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/affine.c */
#include "nngen.h"
#define FN(name)      affine_##name
#define N             2 /* batch */
#define D             3 /* input features */
#define M             4 /* output features */
#define OUT           0 /* out (N, M) */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#define P_WEIGHT      64
#define G_WEIGHT      128
#define HAS_BIAS      1 /* 1: out = x·W + b; 0: no bias */
#define P_BIAS        192
#define G_BIAS        256
#endif

#if !HAS_BIAS /* no bias tensor: its offsets exist only so that the code below, where HAS_BIAS guards every use, compiles */
#define P_BIAS 0
#define G_BIAS 0
#endif

#if NNGEN_FAST
/* Four GEMMs, each C = C0 + A·B in nngen.h's notation (A(i,k) = a[i·a_row + k·a_step], B(k,j) =
 * b[k·b_row + j·b_col]), with tile shapes and task counts chosen from the constant shapes:
 *   forward  out (N, M) = b + x·W        A = x (N, D),   B = W (D, M),   bias fused as C0
 *   weights  dW  (D, M) = xᵀ·dout        A = xᵀ: A(d, n) = x[n·D + d],   B = dout (N, M)
 *   bias     db  (1, M) = 1ᵀ·dout        A = a single 1 (strides 0),   B = dout
 *   inputs   dx  (N, D) = dout·Wᵀ        A = dout (N, M),   B = Wᵀ: B(m, d) = W[d·M + m]
 * Each sums over its depth in the scalar loops' order below, so both paths give the same bits. */

/* What a task needs besides the constants. */
typedef struct {
    real *mem;
    const real *x, *dout;
    real *dx;
} FN(arguments);

static void FN(forward_task)(void *context, int task) {
    const FN(arguments) *t = context;
    NNGEN_GEMM(N, M, D, t->x, D, 1, t->mem + P_WEIGHT, M, 1, HAS_BIAS ? t->mem + P_BIAS : NULL, t->mem + OUT,
               M, task);
}

#if NNGEN_BACKWARD
static void FN(weights_task)(void *context, int task) {
    const FN(arguments) *t = context;
    NNGEN_GEMM(D, M, N, t->x, 1, D, t->dout, M, 1, NULL, t->mem + G_WEIGHT, M, task);
}

static void FN(bias_task)(void *context, int task) {
    static const real one = 1;
    const FN(arguments) *t = context;
    NNGEN_GEMM(1, M, N, &one, 0, 0, t->dout, M, 1, NULL, t->mem + G_BIAS, M, task);
}

static void FN(inputs_task)(void *context, int task) {
    const FN(arguments) *t = context;
    /* dx = dout·Wᵀ, or with DX_ACCUMULATE dx + dout·Wᵀ (the products added onto dx, as the scalar path) */
    NNGEN_GEMM_FROM(DX_ACCUMULATE ? NNGEN_FROM_C : NNGEN_FROM_ROW, N, D, M, t->dout, M, 1, t->mem + P_WEIGHT,
                    1, M, NULL, t->dx, D, task);
}
#endif /* NNGEN_BACKWARD */

void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    FN(arguments) t = {mem, x, NULL, NULL};
    const nngen_job job = NNGEN_GEMM_JOB(FN(forward_task), &t, N, M, D);
    (void)train;
    (void)rng;
    nngen_parallel(&job, 1);
}

#if NNGEN_BACKWARD
/* dW, db and (unless dx is NULL) dx in one parallel call: their tasks are independent. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    FN(arguments) t = {mem, x, dout, dx};
    const nngen_job jobs[3] = {
        NNGEN_GEMM_JOB(FN(weights_task), &t, D, M, N),
        NNGEN_GEMM_JOB(FN(inputs_task), &t, N, D, M),
        NNGEN_GEMM_JOB(FN(bias_task), &t, 1, M, N),
    };
    (void)train;
    /* dW, dx when wanted, db when there is a bias */
    if (dx)
        nngen_parallel(jobs, HAS_BIAS ? 3 : 2);
    else if (HAS_BIAS) {
        const nngen_job without_dx[2] = {jobs[0], jobs[2]};
        nngen_parallel(without_dx, 2);
    } else
        nngen_parallel(jobs, 1);
}
#endif /* NNGEN_BACKWARD */

#else /* scalar path (in the runtime's libtcc builds, NNGEN_HOST_GEMM: the host's vector GEMM, same sums) */

#if !defined(NNGEN_HOST_GEMM)

/* o[i] += a·v[i] for i < M, each a fused multiply-add (NNGEN_MADD). Unrolled by 8 with moving pointers:
 * tcc does not optimize, and this form runs about 2.6× faster under it than an indexed loop; every o[i]
 * still gets exactly one update, in order. */
static void FN(axpy)(real *o, real a, const real *v) {
    real *const end = o + (M & ~7);
    while (o < end) {
        o[0] = NNGEN_MADD(a, v[0], o[0]);
        o[1] = NNGEN_MADD(a, v[1], o[1]);
        o[2] = NNGEN_MADD(a, v[2], o[2]);
        o[3] = NNGEN_MADD(a, v[3], o[3]);
        o[4] = NNGEN_MADD(a, v[4], o[4]);
        o[5] = NNGEN_MADD(a, v[5], o[5]);
        o[6] = NNGEN_MADD(a, v[6], o[6]);
        o[7] = NNGEN_MADD(a, v[7], o[7]);
        o += 8;
        v += 8;
    }
    for (int i = 0; i < (M & 7); i++) o[i] = NNGEN_MADD(a, v[i], o[i]);
}

#if NNGEN_BACKWARD
/* out[j] = Σ_m g[m]·w[j·M + m] for j < 4 (with DX_ACCUMULATE: out[j] + Σ ..., the sum starting from
 * out[j]): four dot products with W's rows at once, each summed in order m = 0, 1, 2, ...; the four
 * independent chains keep tcc's code from waiting on one sum (3.5× faster). */
static void FN(dot4)(const real *g, const real *w, real *out) {
    real s0 = DX_ACCUMULATE ? out[0] : 0, s1 = DX_ACCUMULATE ? out[1] : 0;
    real s2 = DX_ACCUMULATE ? out[2] : 0, s3 = DX_ACCUMULATE ? out[3] : 0;
    const real *w0 = w, *w1 = w + M, *w2 = w + 2 * M, *w3 = w + 3 * M;
    const real *const end = g + M;
    while (g < end) {
        const real gv = *g++;
        s0 = NNGEN_MADD(gv, *w0++, s0);
        s1 = NNGEN_MADD(gv, *w1++, s1);
        s2 = NNGEN_MADD(gv, *w2++, s2);
        s3 = NNGEN_MADD(gv, *w3++, s3);
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

/* start + Σ_m g[m]·w[m], summed in order m = 0, 1, 2, ... */
static real FN(dot)(real start, const real *g, const real *w) {
    real s = start;
    for (int m = 0; m < M; m++) s = NNGEN_MADD(g[m], w[m], s);
    return s;
}
#endif                       /* NNGEN_BACKWARD */
#endif                       /* !NNGEN_HOST_GEMM */

/* Forward. x is (N, D), W is (D, M), b is (M), out is (N, M):
 *   out[n][m] = b[m] + Σ_d x[n][d]·W[d][m]
 * The d-then-m loop order streams rows of W. */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *w = mem + P_WEIGHT;
    (void)train;
    (void)rng;
#if defined(NNGEN_HOST_GEMM) /* out = b + x·W: A = x (N, D), B = W (D, M), the bias along the row */
    NNGEN_HOST_GEMM_CALL(N, M, D, x, D, 1, w, M, 1, NNGEN_FROM_ROW, HAS_BIAS ? mem + P_BIAS : NULL, out, M);
#else
    for (int n = 0; n < N; n++) {
        real *o = out + n * M;
        for (int m = 0; m < M; m++) o[m] = HAS_BIAS ? mem[P_BIAS + m] : 0;
        for (int d = 0; d < D; d++) FN(axpy)(o, x[n * D + d], w + d * M);
    }
#endif
}

#if NNGEN_BACKWARD
/* Backward. dout is (N, M). Writes (not accumulates) the parameter gradients:
 *   dW[d][m] = Σ_n x[n][d]·dout[n][m]      (D, M)
 *   db[m]    = Σ_n dout[n][m]               (M)
 *   dx[n][d] = Σ_m dout[n][m]·W[d][m]      (N, D), skipped when dx is NULL (the first layer); with
 *                                           DX_ACCUMULATE added onto dx[n][d] */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *w = mem + P_WEIGHT;
    real *dw = mem + G_WEIGHT;
    (void)train;
#if defined(NNGEN_HOST_GEMM) /* dW = xᵀ·dout, db = Σ_n dout[n], dx = dout·Wᵀ (B = Wᵀ: B(m, d) = W[d·M + m]) */
    NNGEN_HOST_GEMM_CALL(D, M, N, x, 1, D, dout, M, 1, NNGEN_FROM_ROW, NULL, dw, M);
    if (HAS_BIAS) {
        for (int m = 0; m < M; m++) mem[G_BIAS + m] = 0;
        for (int n = 0; n < N; n++)
            for (int m = 0; m < M; m++) mem[G_BIAS + m] += dout[n * M + m];
    }
    if (dx)
        NNGEN_HOST_GEMM_CALL(N, D, M, dout, M, 1, w, 1, M, DX_ACCUMULATE ? NNGEN_FROM_C : NNGEN_FROM_ROW,
                             NULL, dx, D);
#else
    for (int i = 0; i < D * M; i++) dw[i] = 0;
    if (HAS_BIAS)
        for (int m = 0; m < M; m++) mem[G_BIAS + m] = 0;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * M;
        if (HAS_BIAS)
            for (int m = 0; m < M; m++) mem[G_BIAS + m] += g[m];
        for (int d = 0; d < D; d++) FN(axpy)(dw + d * M, x[n * D + d], g);
    }
    if (!dx) return;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * M;
        int d = 0;
        for (; d + 4 <= D; d += 4) FN(dot4)(g, w + d * M, dx + n * D + d);
        for (; d < D; d++) dx[n * D + d] = FN(dot)(DX_ACCUMULATE ? dx[n * D + d] : 0, g, w + d * M);
    }
#endif
}
#endif /* NNGEN_BACKWARD */
#endif

#if !HAS_BIAS
#undef P_BIAS
#undef G_BIAS
#endif
