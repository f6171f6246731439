/* conv.c — 2-D convolution (cross-correlation, as in every deep-learning framework) with stride and zero
 * padding: x (N, C, H, W), W (F, C, KH, KW), b (F) → out (N, F, OH, OW), OH = (H + 2·PAD − KH)/STRIDE + 1.
 * Math: seeds/003 §6 (forward; its formula writes the kernel index as a − w, a true convolution, but the
 * code of that note — and this file — correlate: x[iy + ky]·W[ky], no flip). Backward is every term of
 * the forward sum reversed (Tests/EquivalenceTests/Reference/RefConv.swift):
 *   dx[n, c, iy, ix] += dout[n, f, oy, ox]·W[f, c, ky, kx],   dW[f, c, ky, kx] += dout[n, f, oy, ox]·x[n, c, iy, ix]
 *
 * Each sample is lowered to a matrix so the sums become matrix products ("im2col"). With k = (c·KH + ky)·KW + kx
 * (CKK = C·KH·KW values) and p = oy·OW + ox (OHW = OH·OW positions), iy = oy·STRIDE − PAD + ky and
 * ix = ox·STRIDE − PAD + kx:
 *   col[n][k][p] = x[n][c][iy][ix]   (0 outside the image: zero padding),   Wm[f][k] = W[f, c, ky, kx]
 *   forward:   out[n][f][p] = b[f] + Σ_k Wm[f][k]·col[n][k][p]
 *   backward:  dWm[f][k] = Σ_n Σ_p dout[n][f][p]·col[n][k][p],   db[f] = Σ_n Σ_p dout[n][f][p],
 *              dcol[k][p] = Σ_f Wm[f][k]·dout[n][f][p],   dx[n] = col2im(dcol): each dcol[k][p] added back
 *              onto the x[n][c][iy][ix] it was copied from.
 * Every sum runs left to right in the order written (k; n then p; f), starting from b[f] or 0. Two paths
 * compute exactly these sums: GEMM tiles on all threads for GCC and Clang (nngen_gemm_task_ex in nngen.h),
 * plain loops for tcc; without FMA contraction they agree to the bit, whatever the thread count.
 *
 * Scratch: S_COL holds col of the whole batch, written by forward and read by backward (dW), each sample's
 * CKK rows followed by a row of ones (db is then the last row of one GEMM with dW); S_DCOL holds SLOTS =
 * min(N, 8) matrices dcol of CKK·OHW elements, one per group of samples whose dx one task computes (the
 * scalar path uses the first). The GEMM path also uses S_DOUT_T (dout with each sample transposed) and
 * S_DWEIGHT_T (dW and db, transposed). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/conv.c */
#include "nngen.h"
#define FN(name)      conv_##name
#define N             2   /* batch */
#define C             3   /* input channels */
#define H             5   /* input height */
#define W             5   /* input width */
#define F             4   /* filters (output channels) */
#define KH            3   /* kernel height */
#define KW            3   /* kernel width */
#define STRIDE        1   /* step between output positions */
#define PAD           1   /* zero rows/columns on every side */
#define OH            5   /* output height (H + 2·PAD − KH)/STRIDE + 1 */
#define OW            5   /* output width (W + 2·PAD − KW)/STRIDE + 1 */
#define CKK           27  /* C·KH·KW: rows of col, columns of Wm */
#define OHW           25  /* OH·OW: output positions per channel */
#define SLOTS         2   /* dcol matrices: min(N, 8) */
#define OUT           0   /* out (N, F, OH, OW) */
#define DX_ACCUMULATE 0   /* 1: add to dx instead of overwriting it */
#define P_WEIGHT      256 /* W (F, C, KH, KW), i.e. Wm (F, CKK) */
#define G_WEIGHT      512
#define P_BIAS        768 /* b (F) */
#define G_BIAS        832
#define S_COL         896  /* col (N, CKK + 1, OHW) */
#define S_DCOL        2496 /* dcol (SLOTS, CKK, OHW) */
#define S_DOUT_T      3904 /* doutᵀ (N, OHW, F) */
#define S_DWEIGHT_T   4352 /* (dWm | db)ᵀ (CKK + 1, F) */
#endif

/* The output columns ox whose input column ox·STRIDE − PAD + kx lies inside [0, W): [*lo, *hi). */
static void FN(inside)(int kx, int *lo, int *hi) {
    int l = 0, h = OW;
    while (l < OW && l * STRIDE - PAD + kx < 0) l++;
    while (h > l && (h - 1) * STRIDE - PAD + kx >= W) h--;
    *lo = l;
    *hi = h;
}

/* im2col of one sample xs (C, H, W) into col (CKK + 1, OHW):
 *   col[(c·KH + ky)·KW + kx][oy·OW + ox] = xs[c][oy·STRIDE − PAD + ky][ox·STRIDE − PAD + kx], 0 outside,
 *   col[CKK][p] = 1. */
static void FN(im2col)(const real *xs, real *col) {
    for (int p = 0; p < OHW; p++) col[CKK * OHW + p] = 1;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                real *row = col + ((c * KH + ky) * KW + kx) * OHW;
                int lo, hi;
                FN(inside)(kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    real *r = row + oy * OW;
                    const int iy = oy * STRIDE - PAD + ky;
                    if (iy < 0 || iy >= H) {
                        for (int ox = 0; ox < OW; ox++) r[ox] = 0;
                        continue;
                    }
                    const real *xrow = xs + (c * H + iy) * W;
                    for (int ox = 0; ox < lo; ox++) r[ox] = 0;
                    for (int ox = lo; ox < hi; ox++) r[ox] = xrow[ox * STRIDE - PAD + kx];
                    for (int ox = hi; ox < OW; ox++) r[ox] = 0;
                }
            }
}

/* col2im: dxs (C, H, W) = 0, then dxs[c][iy][ix] += dcol[k][p] for every (k, p) inside the image, k in
 * increasing order (each k reaches an element of dxs at most once). Overlapping windows (STRIDE < KH or
 * KW) add several terms. */
static void FN(col2im)(const real *dcol, real *dxs) {
    if (!DX_ACCUMULATE) /* the sums below add onto dxs */
        for (int i = 0; i < C * H * W; i++) dxs[i] = 0;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                const real *row = dcol + ((c * KH + ky) * KW + kx) * OHW;
                int lo, hi;
                FN(inside)(kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    const int iy = oy * STRIDE - PAD + ky;
                    if (iy < 0 || iy >= H) continue;
                    const real *r = row + oy * OW;
                    real *dxrow = dxs + (c * H + iy) * W;
                    for (int ox = lo; ox < hi; ox++) dxrow[ox * STRIDE - PAD + kx] += r[ox];
                }
            }
}

#if NNGEN_FAST
/* The products as GEMMs, C = C0 + A·B in nngen.h's notation (A(i,k) = a[i·a_row + k·a_step],
 * B(k,j) = b[k·b_row + j·b_col]), with tile shapes chosen from the constant shapes:
 *   forward  out[n] (F, OHW) = b + Wm·col[n]             A = Wm (F, CKK),   B = col[n] (CKK, OHW), C0 = b[f] per row
 *   weights  (dWm | db)ᵀ (CKK + 1, F) = Σ_n col[n]·doutᵀ[n]
 *                                                      A = col[n] with its row of ones (CKK + 1, OHW),
 *                                                      B = doutᵀ[n] (OHW, F); C starts at 0 for n = 0, then each
 *                                                      sample adds onto it (the same sums as the scalar path:
 *                                                      col·g = g·col, 1·g = g)
 *   inputs   dcol (CKK, OHW) = Wmᵀ·dout[n]               A(k, f) = Wm[f][k],   B = dout[n] (F, OHW)
 * doutᵀ is made first (a GEMM reads its B operand along rows; transposing dout once is cheaper than
 * transposing col or re-packing for every tile), and (dWm | db)ᵀ is transposed into dW and db at the end.
 * Tasks: forward, one per sample (im2col then its GEMM, while col[n] is in cache); backward, one per sample
 * for doutᵀ, then in one parallel call the row ranges of (dWm | db)ᵀ (each sums over every sample in
 * order) and SLOTS groups of samples for dx: they write disjoint memory. */
#define FWD_MR           NNGEN_GEMM_MR(F, OHW)
#define FWD_NR           NNGEN_GEMM_NR(OHW)
#define DW_ROWS          (CKK + 1)
#define DW_PANELS        NNGEN_GEMM_PANELS(F)
#define DW_CHUNKS_WANTED ((4 + DW_PANELS - 1) / DW_PANELS) /* about 4 tasks: each packs doutᵀ again */
#define DW_CHUNKS                                                                                            \
    (DW_CHUNKS_WANTED < NNGEN_GEMM_CHUNKS_MAX(DW_ROWS, F) ? DW_CHUNKS_WANTED                                 \
                                                          : NNGEN_GEMM_CHUNKS_MAX(DW_ROWS, F))
/* When that is a single task (few rows and filters: the first layer's dW, which has no dx to run beside
 * it) and the pool has several threads, it is cut into two row ranges of half-height tiles instead, so
 * that two threads share it; each sum keeps its order, so the bits stay the same. */
#define DW_SPLIT    (DW_PANELS * DW_CHUNKS < 2 && DW_ROWS >= 8)
#define DW_SPLIT_MR (DW_SPLIT ? (DW_ROWS + 1) / 2 : 1)
#define DX_MR       NNGEN_GEMM_MR(CKK, OHW)
#define DX_NR       NNGEN_GEMM_NR(OHW)
#define WORK        ((double)N * F * OHW * CKK) /* multiply-adds of each of the three products */

/* What a task needs besides the constants. */
typedef struct {
    real *mem;
    const real *x, *dout;
    real *dx;
} FN(arguments);

static void FN(forward_task)(void *context, int n) {
    const FN(arguments) *t = context;
    real *col = t->mem + S_COL + (long)n * DW_ROWS * OHW;
    FN(im2col)(t->x + (long)n * C * H * W, col);
    for (int panel = 0; panel < NNGEN_GEMM_PANELS(OHW); panel++)
        nngen_gemm_task_ex(FWD_MR, FWD_NR, 1, F, OHW, CKK, t->mem + P_WEIGHT, CKK, 1, col, OHW, 1,
                           NNGEN_FROM_COLUMN, t->mem + P_BIAS, t->mem + OUT + (long)n * F * OHW, OHW, panel);
}

/* doutᵀ[n][p][f] = dout[n][f][p] (written in order; GCC turns the reads into vector gathers). */
static void FN(transpose_task)(void *context, int n) {
    const FN(arguments) *t = context;
    const real *g = t->dout + (long)n * F * OHW;
    real *gt = t->mem + S_DOUT_T + (long)n * OHW * F;
    for (int p = 0; p < OHW; p++)
        for (int f = 0; f < F; f++) gt[p * F + f] = g[f * OHW + p];
}

/* (dWm | db)ᵀ: row range `task` of `chunks`, with tiles of mr rows, summed over the samples in order. */
NNGEN_INLINE void FN(weights)(const FN(arguments) *t, const int mr, const int chunks, const int task) {
    for (int n = 0; n < N; n++)
        nngen_gemm_task_ex(mr, NNGEN_GEMM_NR(F), chunks, DW_ROWS, F, OHW,
                           t->mem + S_COL + (long)n * DW_ROWS * OHW, OHW, 1,
                           t->mem + S_DOUT_T + (long)n * OHW * F, F, 1, n ? NNGEN_FROM_C : NNGEN_FROM_ROW,
                           NULL, t->mem + S_DWEIGHT_T, F, task);
}

static void FN(weights_task)(void *context, int task) {
    FN(weights)(context, NNGEN_GEMM_MR(DW_ROWS, F), DW_CHUNKS, task);
}

static void FN(weights_split_task)(void *context, int task) { FN(weights)(context, DW_SPLIT_MR, 2, task); }

/* dx of the samples of one group, N·group/SLOTS up to N·(group + 1)/SLOTS, through dcol slot `group`. */
static void FN(inputs_task)(void *context, int group) {
    const FN(arguments) *t = context;
    real *dcol = t->mem + S_DCOL + (long)group * CKK * OHW;
    for (int n = N * group / SLOTS; n < N * (group + 1) / SLOTS; n++) {
        for (int panel = 0; panel < NNGEN_GEMM_PANELS(OHW); panel++)
            nngen_gemm_task_ex(DX_MR, DX_NR, 1, CKK, OHW, F, t->mem + P_WEIGHT, 1, CKK,
                               t->dout + (long)n * F * OHW, OHW, 1, NNGEN_FROM_ROW, NULL, dcol, OHW, panel);
        FN(col2im)(dcol, t->dx + (long)n * C * H * W);
    }
}

void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    FN(arguments) t = {mem, x, NULL, NULL};
    const nngen_job job = {FN(forward_task), &t, N, WORK < NNGEN_PARALLEL_WORK};
    (void)train;
    (void)rng;
    nngen_parallel(&job, 1);
}

/* Reads col as the last forward left it. dx (and its dcol) is skipped when dx is NULL: the first layer. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    FN(arguments) t = {mem, x, dout, dx};
    const nngen_job transpose = {FN(transpose_task), &t, N, WORK < NNGEN_PARALLEL_WORK};
    const real *dwt = mem + S_DWEIGHT_T;
    (void)train;
    nngen_parallel(&transpose, 1);
    const int split = DW_SPLIT && nngen_pool.threads > 1; /* (the pool has started by now) */
    const nngen_job jobs[2] = {
        split ? (nngen_job){FN(weights_split_task), &t, 2, WORK < NNGEN_PARALLEL_WORK}
              : (nngen_job){FN(weights_task), &t, DW_PANELS * DW_CHUNKS, WORK < NNGEN_PARALLEL_WORK},
        {FN(inputs_task), &t, SLOTS, WORK < NNGEN_PARALLEL_WORK},
    };
    nngen_parallel(jobs, dx ? 2 : 1);
    for (int f = 0; f < F; f++) {
        for (int k = 0; k < CKK; k++) mem[G_WEIGHT + f * CKK + k] = dwt[k * F + f];
        mem[G_BIAS + f] = dwt[CKK * F + f];
    }
}

#undef FWD_MR
#undef FWD_NR
#undef DW_ROWS
#undef DW_PANELS
#undef DW_CHUNKS_WANTED
#undef DW_SPLIT
#undef DW_SPLIT_MR
#undef DW_CHUNKS
#undef DX_MR
#undef DX_NR
#undef WORK

#else /* scalar path: the same sums in the same order */

/* Forward, per sample n, with col[n] = im2col(x[n]):
 *   out[n][f][p] = b[f] + Σ_k Wm[f][k]·col[n][k][p]   (as row updates: out row += Wm[f][k]·col row) */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *w = mem + P_WEIGHT;
    const real *b = mem + P_BIAS;
    (void)train;
    (void)rng;
    for (int n = 0; n < N; n++) {
        real *col = mem + S_COL + n * (CKK + 1) * OHW;
        FN(im2col)(x + n * C * H * W, col);
        for (int f = 0; f < F; f++) {
            real *o = out + (n * F + f) * OHW;
            const real *wf = w + f * CKK;
            for (int p = 0; p < OHW; p++) o[p] = b[f];
            for (int k = 0; k < CKK; k++) {
                const real wk = wf[k];
                const real *ck = col + k * OHW;
                for (int p = 0; p < OHW; p++) o[p] += wk * ck[p];
            }
        }
    }
}

/* Backward, reading col as the last forward left it; g = dout[n] is the matrix (F, OHW). Writes (not
 * accumulates) the parameter gradients, summing over the samples:
 *   db[f]      = Σ_n Σ_p g[f][p]
 *   dWm[f][k]  = Σ_n Σ_p g[f][p]·col[n][k][p]
 *   dcol[k][p] = Σ_f Wm[f][k]·g[f][p]   (as row updates: dcol row += Wm[f][k]·g row),   dx[n] = col2im(dcol)
 * (dcol and dx are skipped when dx is NULL: the first layer). */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *w = mem + P_WEIGHT;
    real *dw = mem + G_WEIGHT;
    real *db = mem + G_BIAS;
    real *dcol = mem + S_DCOL;
    (void)x;
    (void)train;
    for (int i = 0; i < F * CKK; i++) dw[i] = 0;
    for (int f = 0; f < F; f++) db[f] = 0;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * F * OHW;
        const real *col = mem + S_COL + n * (CKK + 1) * OHW;
        for (int f = 0; f < F; f++) {
            const real *gf = g + f * OHW;
            for (int p = 0; p < OHW; p++) db[f] += gf[p];
            for (int k = 0; k < CKK; k++) {
                const real *ck = col + k * OHW;
                real s = dw[f * CKK + k];
                for (int p = 0; p < OHW; p++) s += gf[p] * ck[p];
                dw[f * CKK + k] = s;
            }
        }
    }
    if (!dx) return;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * F * OHW;
        for (int i = 0; i < CKK * OHW; i++) dcol[i] = 0;
        for (int f = 0; f < F; f++)
            for (int k = 0; k < CKK; k++) {
                const real wk = w[f * CKK + k];
                real *d = dcol + k * OHW;
                for (int p = 0; p < OHW; p++) d[p] += wk * g[f * OHW + p];
            }
        FN(col2im)(dcol, dx + n * C * H * W);
    }
}
#endif
