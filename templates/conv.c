/* conv.c — 2-D convolution (cross-correlation, as in every deep-learning framework and PyTorch's
 * nn.Conv2d) with stride, zero padding, dilation and groups: x (N, C, IH, IW), W (F, CG, KH, KW), b (F) →
 * out (N, F, OH, OW), OH = ⌊(IH + 2·PAD_H − DIL_H·(KH − 1) − 1)/STRIDE_H⌋ + 1 (OW likewise). Filter f
 * belongs to group g = f / FG and reads the channels g·CG ... (g + 1)·CG − 1 (CG = C/GROUPS,
 * FG = F/GROUPS). Forward, with iy = oy·STRIDE_H − PAD_H + ky·DIL_H and ix = ox·STRIDE_W − PAD_W + kx·DIL_W
 * (x is 0 outside the image):
 *   out[n, f, oy, ox] = b[f] + Σ_{c < CG, ky, kx} x[n, g·CG + c, iy, ix]·W[f, c, ky, kx]
 * Backward is every term of that sum reversed (docs/math.md, Tests/EquivalenceTests/Reference/RefConv.swift):
 *   dx[n, g·CG + c, iy, ix] += dout[n, f, oy, ox]·W[f, c, ky, kx],   dW[f, c, ky, kx] += dout[n, f, oy, ox]·x[...]
 *
 * Each sample is lowered to a matrix so the sums become matrix products ("im2col"). With k = (c·KH + ky)·KW + kx
 * over all C channels (CKK = C·KH·KW rows; group g owns rows g·CKKG ... (g + 1)·CKKG − 1, CKKG = CG·KH·KW)
 * and p = oy·OW + ox (OHW = OH·OW positions):
 *   col[n][k][p] = x[n][c][iy][ix],   Wm[f][k'] = W[f, c', ky, kx] with k' = (c'·KH + ky)·KW + kx < CKKG
 *   forward:   out[n][f][p] = b[f] + Σ_{k' < CKKG} Wm[f][k']·col[n][g·CKKG + k'][p]
 *   backward:  dWm[f][k'] = Σ_n Σ_p dout[n][f][p]·col[n][g·CKKG + k'][p],   db[f] = Σ_n Σ_p dout[n][f][p],
 *              dcol[g·CKKG + k'][p] = Σ_{f in group g} Wm[f][k']·dout[n][f][p],   dx[n] = col2im(dcol): each
 *              dcol[k][p] added back onto the x[n][c][iy][ix] it was copied from.
 * Every sum runs left to right in the order written (k'; n then p; f), starting from b[f] or 0. Two paths
 * compute exactly these sums: GEMM tiles on all threads for GCC and Clang (nngen_gemm_task_ex in nngen.h),
 * plain loops for tcc; without FMA contraction they agree to the bit, whatever the thread count.
 *
 * Scratch: S_COL holds SLOTS = min(N, 8) slots of COL_SLOT elements, each for a matrix col of COL_ROWS·OHW elements
 * (or, with WINDOW, forward's padded copy of x and its wide output; see below), each sample's CKK rows
 * followed (HAS_BIAS) by a row of ones (db is then a product like dW). col is not kept from forward to
 * backward: the whole batch's would be N times as large (7.3 MB for a 16-channel 3 × 3 layer at 14 × 14
 * and batch 64), written to memory by forward and read back by backward, while one sample's stays in the
 * cache; backward makes the rows it needs again from x (the same values). Forward's tasks each take a group
 * of samples and a col slot; backward's dW tasks each a range of rows and a slot. S_DCOL holds SLOTS
 * matrices dcol of CKK·OHW elements, one per group of samples whose dx one task computes (the scalar path
 * uses the first of each). The GEMM path also uses S_DWEIGHT_T (dW, by group, and db, transposed) and,
 * unless DOUT_IN_PACK, S_DOUT_T (dout with each sample transposed). */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/conv.c */
#include "nngen.h"
#define FN(name)      conv_##name
#define N             2   /* batch */
#define C             4   /* input channels */
#define IH            5   /* input height */
#define IW            5   /* input width */
#define F             6   /* filters (output channels) */
#define KH            3   /* kernel height */
#define KW            3   /* kernel width */
#define STRIDE_H      1   /* vertical step between output positions */
#define STRIDE_W      1   /* horizontal step */
#define PAD_H         1   /* zero rows above and below */
#define PAD_W         1   /* zero columns left and right */
#define DIL_H         1   /* vertical spacing of the kernel taps */
#define DIL_W         1   /* horizontal spacing */
#define GROUPS        2   /* channel groups */
#define CG            2   /* input channels per group: C / GROUPS */
#define FG            3   /* filters per group: F / GROUPS */
#define HAS_BIAS      1   /* 1: out = b + W·x; 0: no bias */
#define OH            5   /* output height */
#define OW            5   /* output width */
#define CKK           36  /* C·KH·KW: rows of col (without the row of ones) */
#define CKKG          18  /* CG·KH·KW: columns of Wm */
#define OHW           25  /* OH·OW: output positions per channel */
#define SLOTS         2   /* col and dcol matrices: min(N, 8) */
#define OUT           0   /* out (N, F, OH, OW) */
#define DX_ACCUMULATE 0   /* 1: add to dx instead of overwriting it */
#define P_WEIGHT      256 /* W (F, CG, KH, KW), i.e. Wm (F, CKKG) */
#define G_WEIGHT      512
#define P_BIAS        768 /* b (F) */
#define G_BIAS        832
#define S_COL         896  /* col (SLOTS, CKK + HAS_BIAS, OHW) */
#define S_DCOL        2816 /* dcol (SLOTS, CKK, OHW) */
#define S_DOUT_T      4672 /* doutᵀ (N, OHW, F) */
#define S_DWEIGHT_T   4992 /* dWmᵀ by group (GROUPS, CKKG, FG), then db (F) */
#define DOUT_IN_PACK  0    /* 1: the dW product reads dout through its transposing B pack (no doutᵀ) */
#define WINDOW        1    /* 1: forward reads a padded copy of x in place of col (stride 1) */
#define PH            7    /* IH + 2·PAD_H */
#define PW            7    /* IW + 2·PAD_W */
#define WIN_SLACK     18 /* (KW − 1)·DIL_W + 16: elements after the padded copy that the tiles may read */
#define COL_SLOT                                                                                             \
    475 /* elements of a col slot: COL_ROWS·OHW, or (WINDOW) C·PH·PW + WIN_SLACK + F·OH·PW if more */
#endif

#define COL_ROWS (CKK + HAS_BIAS) /* rows of one sample's col */
#if !HAS_BIAS /* no bias tensor: its offsets exist only so that the code below, where HAS_BIAS guards every use, compiles */
#define P_BIAS 0
#define G_BIAS 0
#endif

/* The output columns ox whose input column ox·STRIDE_W − PAD_W + kx·DIL_W lies inside [0, IW): [*lo, *hi). */
static void FN(inside)(int kx, int *lo, int *hi) {
    int l = 0, h = OW;
    while (l < OW && l * STRIDE_W - PAD_W + kx * DIL_W < 0) l++;
    while (h > l && (h - 1) * STRIDE_W - PAD_W + kx * DIL_W >= IW) h--;
    *lo = l;
    *hi = h;
}

/* Rows k0 .. k1 − 1 of the im2col matrix of one sample xs (C, IH, IW), row k at col + (k − k0)·OHW:
 *   col[(c·KH + ky)·KW + kx][oy·OW + ox] = xs[c][iy][ix] (iy, ix as above), 0 outside,
 *   col[CKK][p] = 1 with a bias.
 * (The loops run over whole channels and skip the rows outside the range, so that kx stays a constant of
 * the unrolled loop and each row's valid range of ox is computed at compile time.) Unused in an inference
 * build whose forward reads a padded copy instead (WINDOW). */
NNGEN_MAYBE_UNUSED static void FN(im2col)(const real *xs, real *col, const int k0, const int k1) {
    if (HAS_BIAS && k1 > CKK)
        for (int p = 0; p < OHW; p++) col[(CKK - k0) * OHW + p] = 1;
    for (int c = k0 / (KH * KW); c < C && c * KH * KW < k1; c++)
        for (int ky = 0; ky < KH; ky++) {
            NNGEN_UNROLL for (int kx = 0; kx < KW; kx++) {
                const int k = (c * KH + ky) * KW + kx;
                if (k < k0 || k >= k1) continue;
                real *row = col + (k - k0) * OHW;
                int lo, hi;
                FN(inside)(kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    real *r = row + oy * OW;
                    const int iy = oy * STRIDE_H - PAD_H + ky * DIL_H;
                    if (iy < 0 || iy >= IH) {
                        for (int ox = 0; ox < OW; ox++) r[ox] = 0;
                        continue;
                    }
                    const real *xrow = xs + (c * IH + iy) * IW;
                    for (int ox = 0; ox < lo; ox++) r[ox] = 0;
                    if (STRIDE_W == 1 && hi > lo) /* a block copy (GCC 12.2's -O3 loop vectorizer, AVX2 or
                                                   * AVX-512, made the first row inside the image all zeros
                                                   * from the element loop below: a 1 × 1 kernel with pad 3) */
                        memcpy(r + lo, xrow + lo - PAD_W + kx * DIL_W, (size_t)(hi - lo) * sizeof(real));
#if NNGEN_FAST && NNGEN_STRIDE2
                    else if (STRIDE_W == 2) /* every second element, a vector at a time */
                        for (int ox = lo; ox < hi; ox += NNGEN_LANES)
                            nngen_gather2(r + ox, xrow + ox * 2 - PAD_W + kx * DIL_W,
                                          hi - ox < NNGEN_LANES ? hi - ox : NNGEN_LANES);
#endif
                    else if (STRIDE_W != 1)
                        for (int ox = lo; ox < hi; ox++) r[ox] = xrow[ox * STRIDE_W - PAD_W + kx * DIL_W];
                    for (int ox = hi; ox < OW; ox++) r[ox] = 0;
                }
            }
        }
}

#if NNGEN_BACKWARD
#if NNGEN_FAST && NNGEN_STRIDE2
/* col2im (below) with STRIDE_W == 2, a row of dxs at a time: the row's sums are kept in registers and
 * stored once, instead of each dcol row being added onto dxs in memory (a load and a store per term, and
 * the memset). The columns ix = 2·ox + off (off = kx·DIL_W − PAD_W) of one kx all have off's parity, so
 * the row's even elements (ix = 2j) and odd ones (ix = 2j + 1) are summed apart, a vector of LANES of each
 * at a time, and stored interleaved: kx adds dcol row (c, ky, kx) at oy to half par = off mod 2, element
 * j reading ox = j − shift with shift = (off − par)/2, for the ox inside the image (lanes outside that
 * range add −0, which changes no sum). Every element gets the same terms in the same order as in the loop
 * of col2im (ky, then kx, from 0 or from its dx): the same bits. Two channels at a time, so that the
 * additions of one overlap the other's (each row's are a chain). */
#define HALF_W ((IW + 1) / 2) /* even columns of a row */
static void FN(col2im_rows2)(const real *dcol, real *dxs) {
    for (int c0 = 0; c0 < C; c0 += 2)
        for (int iy = 0; iy < IH; iy++)
            for (int j0 = 0; j0 < HALF_W; j0 += NNGEN_LANES) {
                const int n = IW - 2 * j0 < 2 * NNGEN_LANES ? IW - 2 * j0 : 2 * NNGEN_LANES; /* elements */
                nngen_vec half[2][2]; /* [channel c0 + u][parity] */
                for (int u = 0; u < 2; u++) {
                    real start[2][NNGEN_LANES] = {{0}};
                    if (DX_ACCUMULATE && c0 + u < C) /* from dx: the sums add onto it */
                        for (int i = 0; i < n; i++)
                            start[i % 2][i / 2] = dxs[((c0 + u) * IH + iy) * IW + 2 * j0 + i];
                    memcpy(&half[u][0], start[0], sizeof half[u][0]);
                    memcpy(&half[u][1], start[1], sizeof half[u][1]);
                }
                for (int ky = 0; ky < KH; ky++) {
                    const int t = iy + PAD_H - ky * DIL_H; /* = oy·STRIDE_H */
                    if (t < 0 || t % STRIDE_H || t / STRIDE_H >= OH) continue;
                    const int oy = t / STRIDE_H;
                    NNGEN_UNROLL for (int kx = 0; kx < KW; kx++) {
                        const int off = kx * DIL_W - PAD_W, par = off & 1, shift = (off - par) / 2;
                        int lo, hi;
                        FN(inside)(kx, &lo, &hi);
                        const int a = lo + shift > j0 ? lo + shift - j0 : 0; /* lanes a .. b − 1 */
                        const int b = hi + shift < j0 + NNGEN_LANES ? hi + shift - j0 : NNGEN_LANES;
                        if (a >= b) continue;
                        for (int u = 0; u < 2; u++) {
                            if (c0 + u >= C) break;
                            const real *row = dcol + (((c0 + u) * KH + ky) * KW + kx) * OHW + oy * OW;
                            half[u][par] +=
                                nngen_load_range(row + j0 - shift, a, b); /* lane i: ox = j0 + i − shift */
                        }
                    }
                }
                for (int u = 0; u < 2 && c0 + u < C; u++)
                    nngen_store_pairs(dxs + ((c0 + u) * IH + iy) * IW + 2 * j0, half[u][0], half[u][1], n);
            }
}
#undef HALF_W
#endif

/* col2im: dxs (C, IH, IW) = 0 (unless DX_ACCUMULATE), then dxs[c][iy][ix] += dcol[k][p] for every (k, p)
 * inside the image, k in increasing order (each k reaches an element of dxs at most once). Overlapping
 * windows (a stride below the kernel's extent) add several terms. */
static void FN(col2im)(const real *dcol, real *dxs) {
#if NNGEN_FAST && NNGEN_STRIDE2
    if (STRIDE_W == 2) {
        FN(col2im_rows2)(dcol, dxs);
        return;
    }
#endif
    if (!DX_ACCUMULATE) /* the sums below add onto dxs */
        for (int i = 0; i < C * IH * IW; i++) dxs[i] = 0;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < KH; ky++) {
            NNGEN_UNROLL for (int kx = 0; kx < KW; kx++) {
                const real *row = dcol + ((c * KH + ky) * KW + kx) * OHW;
                int lo, hi;
                FN(inside)(kx, &lo, &hi);
                for (int oy = 0; oy < OH; oy++) {
                    const int iy = oy * STRIDE_H - PAD_H + ky * DIL_H;
                    if (iy < 0 || iy >= IH) continue;
                    const real *r = row + oy * OW;
                    real *dxrow = dxs + (c * IH + iy) * IW;
                    for (int ox = lo; ox < hi; ox++) dxrow[ox * STRIDE_W - PAD_W + kx * DIL_W] += r[ox];
                }
            }
        }
}
#endif /* NNGEN_BACKWARD */

#if NNGEN_FAST
/* The products as GEMMs, C = C0 + A·B in nngen.h's notation (A(i,k) = a[i·a_row + k·a_step],
 * B(k,j) = b[k·b_row + j·b_col]), one per group g, with tile shapes chosen from the constant shapes:
 *   forward  out[n] rows g·FG.. (FG, OHW) = b + Wm_g·col_g[n]   A = Wm rows g·FG.. (FG, CKKG), B = col_g[n]
 *                                                               (CKKG, OHW), C0 = b[f] for all of row f
 *   weights  dWm_gᵀ (CKKG, FG) = Σ_n col_g[n]·doutᵀ_g[n]       A = col_g[n] (CKKG, OHW), B = doutᵀ[n] columns of
 *                                                               group g (OHW, FG); C starts at 0 for n = 0, then
 *                                                               each sample adds onto it (the same sums as the
 *                                                               scalar path: col·g = g·col)
 *            dbᵀ (1, F) = Σ_n 1·doutᵀ[n]                         A = the row of ones of col[n]; with one group it
 *                                                               is the last row of the dW product
 *   inputs   dcol_g (CKKG, OHW) = Wm_gᵀ·dout_g[n]               A(k, f) = Wm[g·FG + f][k],  B = dout[n] rows g·FG..
 * Forward's register tiles are filters × positions: they write out[n] as it is laid out and read col's rows
 * as B, in place when a task's filters are a few tiles (no copy of col or out). Computing outᵀ instead
 * (positions × filters, as affine's batch × features) would read col down its columns, one cache line per
 * k for each tile, and need a transpose into out.
 * doutᵀ is made first for the dW product (a GEMM reads its B operand along rows; transposing dout once is
 * cheaper than transposing col), and the dW and db products are transposed into dW and db at the end.
 * Unless col has fewer rows than dout (DOUT_IN_PACK, set by Conv.swift when COL_ROWS < F and COL_ROWS ≤ 24:
 * a first layer, 1 channel · 3 · 3 + 1 = 10 rows against 16 filters): then the dW product's few row tiles, one
 * to three tasks, read dout as a transposed B (B(p, f) = dout[n][f][p]), which the GEMM transposes block by
 * block into its packed panel in the L1 cache, instead of a whole doutᵀ written to memory and read back (W2's
 * first layer: 3.2 MB each way, 59% of its backward). Each task transposes all of dout, which is why the rows
 * must be few. The same products in the same order: the same bits.
 * Tasks: forward, SLOTS groups of samples, each through its own col slot (im2col of a sample, then its
 * GEMMs while col is in cache); backward, one per sample for doutᵀ (none with DOUT_IN_PACK), then in one
 * parallel call DW_TASKS row ranges of the dW and db products and SLOTS groups of samples for dx (they
 * write disjoint memory). A dW task remakes its rows of each sample's col in its own slot before the
 * sample's products: it sums over the samples in order. */
#define FWD_MR NNGEN_GEMM_MR(FG, OHW)
#define FWD_NR NNGEN_GEMM_NR(OHW)
/* The rows of the dW products: group g's CKKG rows from g·CKKG, then (HAS_BIAS) the db row, which with one
 * group is the last row of its product (FG = F). They are cut into DW_TASKS ranges of whole register tiles
 * of DW_MR rows, at most SLOTS (each task has a col slot). When that is a single tile (the first layer's
 * dW: a few rows, and no dx to run beside it) and the pool has several threads, it is cut into two tiles
 * of half its height instead (DW_SPLIT_MR), so that two threads share it; on one thread the full tile,
 * whose accumulators are twice as many independent chains, is faster. */
#define DW_MR       NNGEN_GEMM_MR(GROUPS == 1 ? COL_ROWS : CKKG, FG)
#define DW_TILES    ((COL_ROWS + DW_MR - 1) / DW_MR)
#define DW_TASKS    (DW_TILES < SLOTS ? DW_TILES : SLOTS)
#define DW_SPLIT    (DW_TILES == 1 && COL_ROWS >= 8 && SLOTS > 1)
#define DW_SPLIT_MR ((COL_ROWS + 1) / 2)
#define DX_MR       NNGEN_GEMM_MR(CKKG, OHW)
#define DX_NR       NNGEN_GEMM_NR(OHW)
#define WORK        ((double)N * F * OHW * CKKG) /* multiply-adds of each of the three products */

/* What a task needs besides the constants. */
typedef struct {
    real *mem;
    const real *x, *dout;
    real *dx;
} FN(arguments);

#if WINDOW
/* Forward without im2col, for stride 1 (WINDOW: Conv.swift sets it where col would be much larger than x
 * and out). Each sample is copied into xp (C, PH, PW), x with its zero padding. Over "wide" positions
 * q = oy·PW + ox (ox < PW; the last PW − OW of each row are not outputs), col's row (c·KH + ky)·KW + kx is
 * the row of xp that starts at c·PH·PW + ky·DIL_H·PW + kx·DIL_W, read at q:
 *   col[(c·KH + ky)·KW + kx][oy·OW + ox] = xp[c][oy + ky·DIL_H][ox + kx·DIL_W]
 * so the GEMM's tiles read B's rows in place from xp (nngen_gemm_tile's window, goff[c·KH + ky] + kx·DIL_W)
 * instead of a col written for each sample (CKK·OHW elements, 9 times x for a 3 × 3 kernel). They compute
 * F × OH·PW wide columns into `wide`, and the first OW of each row are copied into out (with PW = OW, the
 * tiles write out itself). Every output is the same sum in the same order as through col: the same bits.
 * xp's padding and the WIN_SLACK elements after it (the last columns' tiles read past the last row) are
 * zeroed once per task, the interior copied for each sample. */
#define WIDE      (OH * PW)
#define WIN_NR    NNGEN_GEMM_NR(WIDE)
#define WIN_MR    NNGEN_GEMM_MR(FG, WIDE)
#define WIN_WIDTH (WIN_NR * NNGEN_LANES)
#define WIN_LAST_VECTORS                                                                                     \
    (((WIDE - 1) % WIN_WIDTH) / NNGEN_LANES + 1) /* the last panel: as narrow as it can be */

/* Wide columns j0 .. j0 + width (at most nr vectors) of one group's FG filters, w its rows of Wm, xg its
 * channels of xp, into dst (FG rows, WIDE apart), from the bias (HAS_BIAS) or 0. */
NNGEN_INLINE void FN(window_panel)(const int nr, const real *w, const real *xg, const int *goff,
                                   const real *bias, real *dst, const int j0, const int width) {
    const nngen_vec zero[3] = {{0}};
    int i = 0;
    for (; i + WIN_MR <= FG; i += WIN_MR)
        nngen_gemm_tile(WIN_MR, nr, WIN_MR, CKKG, w + (long)i * CKKG, CKKG, 1, xg + j0, 0, goff, KW, DIL_W,
                        HAS_BIAS ? NULL : zero, HAS_BIAS ? bias + i : NULL, dst + (long)i * WIDE + j0, WIDE,
                        width);
    if (i < FG)
        nngen_gemm_tile(WIN_MR, nr, FG - i, CKKG, w + (long)i * CKKG, CKKG, 1, xg + j0, 0, goff, KW, DIL_W,
                        HAS_BIAS ? NULL : zero, HAS_BIAS ? bias + i : NULL, dst + (long)i * WIDE + j0, WIDE,
                        width);
}

/* out of the samples N·slot/SLOTS up to N·(slot + 1)/SLOTS, through slot `slot`: xp, then wide. */
static void FN(forward_task)(void *context, int slot) {
    const FN(arguments) *t = context;
    real *xp = t->mem + S_COL + (long)slot * COL_SLOT;
    real *wide = xp + (long)C * PH * PW + WIN_SLACK;
    int goff[CG * KH]; /* where each (channel, ky) row group of one group's col starts in xp */
    for (int g = 0; g < CG * KH; g++) goff[g] = (g / KH) * PH * PW + (g % KH) * DIL_H * PW;
    for (long i = 0; i < (long)C * PH * PW + WIN_SLACK; i++) xp[i] = 0;
    for (int n = N * slot / SLOTS; n < N * (slot + 1) / SLOTS; n++) {
        const real *xs = t->x + (long)n * C * IH * IW;
        real *out = t->mem + OUT + (long)n * F * OHW;
        real *dst = PW > OW ? wide : out;
        for (int c = 0; c < C; c++)
            for (int iy = 0; iy < IH; iy++)
                memcpy(xp + ((long)c * PH + iy + PAD_H) * PW + PAD_W, xs + ((long)c * IH + iy) * IW,
                       IW * sizeof(real));
        for (int g = 0; g < GROUPS; g++) {
            const real *w = t->mem + P_WEIGHT + (long)g * FG * CKKG, *xg = xp + (long)g * CG * PH * PW;
            const real *bias = t->mem + P_BIAS + g * FG;
            real *dg = dst + (long)g * FG * WIDE;
            int j0 = 0;
            for (; j0 + WIN_WIDTH <= WIDE; j0 += WIN_WIDTH)
                FN(window_panel)(WIN_NR, w, xg, goff, bias, dg, j0, WIN_WIDTH);
            if (j0 < WIDE) FN(window_panel)(WIN_LAST_VECTORS, w, xg, goff, bias, dg, j0, WIDE - j0);
        }
        if (PW > OW)
            for (int r = 0; r < F * OH; r++) /* row r = f·OH + oy */
                memcpy(out + (long)r * OW, wide + (long)r * PW, OW * sizeof(real));
    }
}
#undef WIDE
#undef WIN_NR
#undef WIN_MR
#undef WIN_WIDTH
#undef WIN_LAST_VECTORS
#else
/* out of the samples N·slot/SLOTS up to N·(slot + 1)/SLOTS, through col slot `slot`. */
static void FN(forward_task)(void *context, int slot) {
    const FN(arguments) *t = context;
    real *col = t->mem + S_COL + (long)slot * COL_SLOT;
    for (int n = N * slot / SLOTS; n < N * (slot + 1) / SLOTS; n++) {
        real *out = t->mem + OUT + (long)n * F * OHW;
        FN(im2col)(t->x + (long)n * C * IH * IW, col, 0, CKK); /* (the row of ones is backward's) */
        for (int g = 0; g < GROUPS; g++)
            for (int panel = 0; panel < NNGEN_GEMM_PANELS(OHW); panel++)
                nngen_gemm_task_ex(
                    FWD_MR, FWD_NR, 1, FG, OHW, CKKG, t->mem + P_WEIGHT + (long)g * FG * CKKG, CKKG, 1,
                    col + (long)g * CKKG * OHW, OHW, 1, HAS_BIAS ? NNGEN_FROM_COLUMN : NNGEN_FROM_ROW,
                    HAS_BIAS ? t->mem + P_BIAS + g * FG : NULL, out + (long)g * FG * OHW, OHW, panel);
    }
}
#endif /* WINDOW */

#if NNGEN_BACKWARD
#if !DOUT_IN_PACK
/* doutᵀ[n][p][f] = dout[n][f][p]. */
static void FN(transpose_task)(void *context, int n) {
    const FN(arguments) *t = context;
    nngen_transpose(t->mem + S_DOUT_T + (long)n * OHW * F, F, t->dout + (long)n * F * OHW, OHW, F, OHW);
}
#endif

/* Rows r0 .. r1 − 1 of the dW products (task `task` of `tasks`, over `tiles` tiles of mr rows), summed over
 * the samples in order: for each sample, those rows of its col remade in slot `task`, then the products of
 * the groups they belong to (and of the db row) added onto the sums of the samples before. */
NNGEN_INLINE void FN(weights)(const FN(arguments) *t, const int mr, const int tiles, const int tasks,
                              const int task) {
    const int r0 = tiles * task / tasks * mr;
    const int end = tiles * (task + 1) / tasks * mr;
    const int r1 = end < COL_ROWS ? end : COL_ROWS;
    real *col = t->mem + S_COL + (long)task * COL_SLOT; /* row k at col + (k − r0)·OHW */
    for (int n = 0; n < N; n++) {
#if DOUT_IN_PACK /* B(p, f) = dout[n][f][p]: B's rows 1 apart, its columns OHW */
        const real *b = t->dout + (long)n * F * OHW;
        const long b_row = 1, b_col = OHW;
#else /* doutᵀ[n] (OHW, F) */
        const real *b = t->mem + S_DOUT_T + (long)n * OHW * F;
        const long b_row = F, b_col = 1;
#endif
        const int from = n ? NNGEN_FROM_C : NNGEN_FROM_ROW;
        FN(im2col)(t->x + (long)n * C * IH * IW, col, r0, r1);
        for (int g = 0; g < GROUPS; g++) {
            const int top = GROUPS == 1 ? COL_ROWS : (g + 1) * CKKG; /* one group: with the db row */
            const int lo = r0 > g * CKKG ? r0 : g * CKKG, hi = r1 < top ? r1 : top;
            if (lo < hi)
                for (int panel = 0; panel < NNGEN_GEMM_PANELS(FG); panel++)
                    nngen_gemm_task_ex(
                        mr, NNGEN_GEMM_NR(FG), 1, hi - lo, FG, OHW, col + (long)(lo - r0) * OHW, OHW, 1,
                        b + g * FG * b_col, b_row, b_col, from, NULL,
                        t->mem + S_DWEIGHT_T + ((long)g * CKKG + lo - g * CKKG) * FG, FG, panel);
        }
        if (GROUPS > 1 && HAS_BIAS && r1 == COL_ROWS) /* db (1, F) = Σ_n (row of ones)·doutᵀ[n] */
            for (int panel = 0; panel < NNGEN_GEMM_PANELS(F); panel++)
                nngen_gemm_task_ex(1, NNGEN_GEMM_NR(F), 1, 1, F, OHW, col + (long)(CKK - r0) * OHW, OHW, 1, b,
                                   b_row, b_col, from, NULL, t->mem + S_DWEIGHT_T + (long)CKK * FG, F, panel);
    }
}

static void FN(weights_task)(void *context, int task) {
    FN(weights)(context, DW_MR, DW_TILES, DW_TASKS, task);
}

static void FN(weights_split_task)(void *context, int task) { FN(weights)(context, DW_SPLIT_MR, 2, 2, task); }

/* dx of the samples of one group, N·group/SLOTS up to N·(group + 1)/SLOTS, through dcol slot `group`. */
static void FN(inputs_task)(void *context, int group) {
    const FN(arguments) *t = context;
    real *dcol = t->mem + S_DCOL + (long)group * CKK * OHW;
    for (int n = N * group / SLOTS; n < N * (group + 1) / SLOTS; n++) {
        for (int g = 0; g < GROUPS; g++)
            for (int panel = 0; panel < NNGEN_GEMM_PANELS(OHW); panel++)
                nngen_gemm_task_ex(DX_MR, DX_NR, 1, CKKG, OHW, FG, t->mem + P_WEIGHT + (long)g * FG * CKKG, 1,
                                   CKKG, t->dout + ((long)n * F + g * FG) * OHW, OHW, 1, NNGEN_FROM_ROW, NULL,
                                   dcol + (long)g * CKKG * OHW, OHW, panel);
        FN(col2im)(dcol, t->dx + (long)n * C * IH * IW);
    }
}
#endif /* NNGEN_BACKWARD */

void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    FN(arguments) t = {mem, x, NULL, NULL};
    const nngen_job job = {FN(forward_task), &t, SLOTS, WORK < NNGEN_PARALLEL_WORK, 0};
    (void)train;
    (void)rng;
    nngen_parallel(&job, 1);
}

#if NNGEN_BACKWARD
/* Reads x, the input forward read. dx (and its dcol) is skipped when dx is NULL: the first layer. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    FN(arguments) t = {mem, x, dout, dx};
    const real *dwt = mem + S_DWEIGHT_T;
    (void)train;
#if !DOUT_IN_PACK
    const nngen_job transpose = {FN(transpose_task), &t, N, WORK < NNGEN_PARALLEL_WORK, 0};
    nngen_parallel(&transpose, 1);
#endif
    const int split = DW_SPLIT && nngen_pool.threads > 1; /* (the pool has started by now) */
    const nngen_job jobs[2] = {
        split ? (nngen_job){FN(weights_split_task), &t, 2, WORK < NNGEN_PARALLEL_WORK, 0}
              : (nngen_job){FN(weights_task), &t, DW_TASKS, WORK < NNGEN_PARALLEL_WORK, 0},
        {FN(inputs_task), &t, SLOTS, WORK < NNGEN_PARALLEL_WORK, 0},
    };
    nngen_parallel(jobs, dx ? 2 : 1);
    for (int f = 0; f < F; f++) {
        const real *block = dwt + (long)(f / FG) * CKKG * FG; /* group f / FG */
        for (int k = 0; k < CKKG; k++) mem[G_WEIGHT + f * CKKG + k] = block[k * FG + f % FG];
        if (HAS_BIAS) mem[G_BIAS + f] = dwt[CKK * FG + f];
    }
}
#endif /* NNGEN_BACKWARD */

#undef FWD_MR
#undef FWD_NR
#undef DW_MR
#undef DW_TILES
#undef DW_TASKS
#undef DW_SPLIT
#undef DW_SPLIT_MR
#undef DX_MR
#undef DX_NR
#undef WORK

#else /* scalar path: the same sums in the same order (NNGEN_HOST_GEMM: the runtime's vector GEMM, same sums) */

/* Forward, per sample n, with col[n] = im2col(x[n]) and g = f / FG:
 *   out[n][f][p] = b[f] + Σ_{k < CKKG} Wm[f][k]·col[n][g·CKKG + k][p]   (as row updates: out row += Wm[f][k]·col row) */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *w = mem + P_WEIGHT;
    (void)train;
    (void)rng;
    for (int n = 0; n < N; n++) {
        real *col = mem + S_COL; /* one sample's at a time */
        FN(im2col)(x + n * C * IH * IW, col, 0, CKK);
#if defined(NNGEN_HOST_GEMM) /* group g: out rows (FG, OHW) = b + Wm rows (FG, CKKG) · col rows (CKKG, OHW) */
        for (int g = 0; g < GROUPS; g++)
            NNGEN_HOST_GEMM_CALL(FG, OHW, CKKG, w + g * FG * CKKG, CKKG, 1, col + g * CKKG * OHW, OHW, 1,
                                 HAS_BIAS ? NNGEN_FROM_COLUMN : NNGEN_FROM_ROW,
                                 HAS_BIAS ? mem + P_BIAS + g * FG : NULL, out + (n * F + g * FG) * OHW, OHW);
#else
        for (int f = 0; f < F; f++) {
            real *o = out + (n * F + f) * OHW;
            const real *wf = w + f * CKKG;
            const real start = HAS_BIAS ? mem[P_BIAS + f] : 0;
            for (int p = 0; p < OHW; p++) o[p] = start;
            for (int k = 0; k < CKKG; k++) {
                const real wk = wf[k];
                const real *ck = col + ((f / FG) * CKKG + k) * OHW;
                for (int p = 0; p < OHW; p++) o[p] = NNGEN_MADD(wk, ck[p], o[p]);
            }
        }
#endif
    }
}

#if NNGEN_BACKWARD
/* Backward, with col[n] = im2col(x[n]) made again for each sample; g = dout[n] is the matrix (F, OHW) and f's group
 * rows start at r = (f / FG)·CKKG. Writes (not accumulates) the parameter gradients, summing over the samples:
 *   db[f]      = Σ_n Σ_p g[f][p]
 *   dWm[f][k]  = Σ_n Σ_p g[f][p]·col[n][r + k][p]
 *   dcol[r + k][p] = Σ_{f in the group} Wm[f][k]·g[f][p]   (as row updates),   dx[n] = col2im(dcol)
 * (dcol and dx are skipped when dx is NULL: the first layer). */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *w = mem + P_WEIGHT;
    real *dw = mem + G_WEIGHT;
    real *dcol = mem + S_DCOL;
    real *col = mem + S_COL;
    (void)train;
    for (int i = 0; i < F * CKKG; i++) dw[i] = 0;
    if (HAS_BIAS)
        for (int f = 0; f < F; f++) mem[G_BIAS + f] = 0;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * F * OHW;
        FN(im2col)(x + n * C * IH * IW, col, 0, CKK); /* col[n] again, as forward made it */
#if defined(NNGEN_HOST_GEMM) /* group h: dWm rows (FG, CKKG) += g rows (FG, OHW) · (col rows (CKKG, OHW))ᵀ */
        for (int h = 0; h < GROUPS; h++)
            NNGEN_HOST_GEMM_CALL(FG, CKKG, OHW, g + h * FG * OHW, OHW, 1, col + h * CKKG * OHW, 1, OHW,
                                 NNGEN_FROM_C, NULL, dw + h * FG * CKKG, CKKG);
        if (HAS_BIAS)
            for (int f = 0; f < F; f++)
                for (int p = 0; p < OHW; p++) mem[G_BIAS + f] += g[f * OHW + p];
#else
        for (int f = 0; f < F; f++) {
            const real *gf = g + f * OHW;
            if (HAS_BIAS)
                for (int p = 0; p < OHW; p++) mem[G_BIAS + f] += gf[p];
            for (int k = 0; k < CKKG; k++) {
                const real *ck = col + ((f / FG) * CKKG + k) * OHW;
                real s = dw[f * CKKG + k];
                for (int p = 0; p < OHW; p++) s = NNGEN_MADD(gf[p], ck[p], s);
                dw[f * CKKG + k] = s;
            }
        }
#endif
    }
    if (!dx) return;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * F * OHW;
#if defined(NNGEN_HOST_GEMM) /* group h: dcol rows (CKKG, OHW) = (Wm rows (FG, CKKG))ᵀ · g rows (FG, OHW) */
        for (int h = 0; h < GROUPS; h++)
            NNGEN_HOST_GEMM_CALL(CKKG, OHW, FG, w + h * FG * CKKG, 1, CKKG, g + h * FG * OHW, OHW, 1,
                                 NNGEN_FROM_ROW, NULL, dcol + h * CKKG * OHW, OHW);
#else
        for (int i = 0; i < CKK * OHW; i++) dcol[i] = 0;
        for (int f = 0; f < F; f++)
            for (int k = 0; k < CKKG; k++) {
                const real wk = w[f * CKKG + k];
                real *d = dcol + ((f / FG) * CKKG + k) * OHW;
                for (int p = 0; p < OHW; p++) d[p] = NNGEN_MADD(wk, g[f * OHW + p], d[p]);
            }
#endif
        FN(col2im)(dcol, dx + n * C * IH * IW);
    }
}
#endif /* NNGEN_BACKWARD */
#endif

#undef COL_ROWS
#if !HAS_BIAS
#undef P_BIAS
#undef G_BIAS
#endif
