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
 *   col[k][p] = x[c][iy][ix]   (0 outside the image: zero padding),   Wm[f][k] = W[f, c, ky, kx]
 *   forward:   out[f][p]  = b[f] + Σ_k Wm[f][k]·col[k][p]
 *   backward:  dWm[f][k] = Σ_p dout[f][p]·col[k][p],   dcol[k][p] = Σ_f Wm[f][k]·dout[f][p],
 *              dx = col2im(dcol): each dcol[k][p] added back onto the x[c][iy][ix] it was copied from.
 * Every product is written as a sum of scaled rows (out row += Wm[f][k]·col row), so the innermost loop runs
 * over a contiguous dimension without a reduction, which compilers vectorize. Forward keeps col as (CKK, OHW)
 * for that; backward builds its transpose colT (OHW, CKK) instead, so that dWm[f] += dout[f][p]·colT[p] and
 * dcolT[p] += dout[f][p]·Wm[f] are row updates too.
 *
 * Scratch: S_COL holds col (forward) or colT (backward) of ONE sample, CKK·OHW elements; backward rebuilds
 * it from x per sample (one pass over x, small beside the F·CKK·OHW products) and then overwrites it with
 * dcolT once dW of that sample is done. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/conv.c */
#include "nngen.h"
#define FN(name) conv_##name
#define N 2          /* batch */
#define C 3          /* input channels */
#define H 5          /* input height */
#define W 5          /* input width */
#define F 4          /* filters (output channels) */
#define KH 3         /* kernel height */
#define KW 3         /* kernel width */
#define STRIDE 1     /* step between output positions */
#define PAD 1        /* zero rows/columns on every side */
#define OH 5         /* output height (H + 2·PAD − KH)/STRIDE + 1 */
#define OW 5         /* output width (W + 2·PAD − KW)/STRIDE + 1 */
#define CKK 27       /* C·KH·KW: rows of col, columns of Wm */
#define OHW 25       /* OH·OW: output positions per channel */
#define OUT 0        /* out (N, F, OH, OW) */
#define P_WEIGHT 256 /* W (F, C, KH, KW), i.e. Wm (F, CKK) */
#define G_WEIGHT 512
#define P_BIAS 768   /* b (F) */
#define G_BIAS 832
#define S_COL 896    /* col (CKK, OHW) or colT (OHW, CKK) of one sample */
#endif

/* im2col of one sample xs (C, H, W) into col (CKK, OHW):
 *   col[(c·KH + ky)·KW + kx][oy·OW + ox] = xs[c][oy·STRIDE − PAD + ky][ox·STRIDE − PAD + kx], 0 outside.
 * For each (c, ky, kx) the output columns whose input column lies inside [0, W) are ox in [lo, hi). */
static void FN(im2col)(const real *xs, real *col) {
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < KH; ky++)
            for (int kx = 0; kx < KW; kx++) {
                real *row = col + ((c * KH + ky) * KW + kx) * OHW;
                int lo = 0, hi = OW;
                while (lo < OW && lo * STRIDE - PAD + kx < 0) lo++;
                while (hi > lo && (hi - 1) * STRIDE - PAD + kx >= W) hi--;
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

/* The transpose, colT (OHW, CKK): colT[oy·OW + ox][(c·KH + ky)·KW + kx] = col[k][p] above. */
static void FN(im2row)(const real *xs, real *colT) {
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            real *r = colT + (oy * OW + ox) * CKK;
            for (int c = 0; c < C; c++)
                for (int ky = 0; ky < KH; ky++) {
                    const int iy = oy * STRIDE - PAD + ky;
                    const int row_inside = iy >= 0 && iy < H;
                    for (int kx = 0; kx < KW; kx++) {
                        const int ix = ox * STRIDE - PAD + kx;
                        *r++ = row_inside && ix >= 0 && ix < W ? xs[(c * H + iy) * W + ix] : 0;
                    }
                }
        }
}

/* col2im from the transposed layout: dxs[c][iy][ix] += dcolT[p][k] for every (p, k) inside the image.
 * dxs (C, H, W) must be zero on entry; overlapping windows (STRIDE < KH or KW) add several terms. */
static void FN(row2im)(const real *dcolT, real *dxs) {
    for (int oy = 0; oy < OH; oy++)
        for (int ox = 0; ox < OW; ox++) {
            const real *r = dcolT + (oy * OW + ox) * CKK;
            for (int c = 0; c < C; c++)
                for (int ky = 0; ky < KH; ky++, r += KW) {
                    const int iy = oy * STRIDE - PAD + ky;
                    if (iy < 0 || iy >= H) continue;
                    real *dxrow = dxs + (c * H + iy) * W;
                    for (int kx = 0; kx < KW; kx++) {
                        const int ix = ox * STRIDE - PAD + kx;
                        if (ix >= 0 && ix < W) dxrow[ix] += r[kx];
                    }
                }
        }
}

/* Forward, per sample n, with col = im2col(x[n]):
 *   out[n][f][p] = b[f] + Σ_k Wm[f][k]·col[k][p]
 * The output row of filter f stays in cache while rows of col stream past, eight at a time (fewer passes
 * over the output row; the remainder one at a time). */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    const real *w = mem + P_WEIGHT;
    const real *b = mem + P_BIAS;
    real *col = mem + S_COL;
    (void)train;
    (void)rng;
    for (int n = 0; n < N; n++) {
        FN(im2col)(x + n * C * H * W, col);
        for (int f = 0; f < F; f++) {
            real *o = out + (n * F + f) * OHW;
            const real *wf = w + f * CKK;
            for (int p = 0; p < OHW; p++) o[p] = b[f];
            int k = 0;
            for (; k + 8 <= CKK; k += 8) {
                const real w0 = wf[k], w1 = wf[k + 1], w2 = wf[k + 2], w3 = wf[k + 3];
                const real w4 = wf[k + 4], w5 = wf[k + 5], w6 = wf[k + 6], w7 = wf[k + 7];
                const real *c0 = col + k * OHW;
                for (int p = 0; p < OHW; p++)
                    o[p] += w0 * c0[p] + w1 * c0[p + OHW] + w2 * c0[p + 2 * OHW] + w3 * c0[p + 3 * OHW]
                          + w4 * c0[p + 4 * OHW] + w5 * c0[p + 5 * OHW] + w6 * c0[p + 6 * OHW] + w7 * c0[p + 7 * OHW];
            }
            for (; k < CKK; k++) {
                const real wk = wf[k];
                const real *ck = col + k * OHW;
                for (int p = 0; p < OHW; p++) o[p] += wk * ck[p];
            }
        }
    }
}

/* Backward. dout is (N, F, OH, OW); g = dout[n] is the matrix (F, OHW). Writes (not accumulates) the
 * parameter gradients, summing over the samples:
 *   db[f]      = Σ_n Σ_p g[f][p]
 *   dWm[f][k]  = Σ_n Σ_p g[f][p]·colT[p][k]      as row updates dWm[f] += g[f][p]·colT[p], four p at a time
 *   dcolT[p][k] = Σ_f g[f][p]·Wm[f][k]           as row updates dcolT[p] += g[f][p]·Wm[f], four f at a time
 *   dx[n] = row2im(dcolT)                         (dcol and dx are skipped when dx is NULL: the first layer) */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *w = mem + P_WEIGHT;
    real *dw = mem + G_WEIGHT;
    real *db = mem + G_BIAS;
    real *colT = mem + S_COL;
    (void)train;
    for (int i = 0; i < F * CKK; i++) dw[i] = 0;
    for (int f = 0; f < F; f++) db[f] = 0;
    for (int n = 0; n < N; n++) {
        const real *g = dout + n * F * OHW;
        FN(im2row)(x + n * C * H * W, colT);
        for (int f = 0; f < F; f++) {
            const real *gf = g + f * OHW;
            real *dwf = dw + f * CKK;
            real sum = 0;
            for (int p = 0; p < OHW; p++) sum += gf[p];
            db[f] += sum;
            int p = 0;
            for (; p + 4 <= OHW; p += 4) {
                const real g0 = gf[p], g1 = gf[p + 1], g2 = gf[p + 2], g3 = gf[p + 3];
                const real *r0 = colT + p * CKK;
                for (int k = 0; k < CKK; k++)
                    dwf[k] += g0 * r0[k] + g1 * r0[k + CKK] + g2 * r0[k + 2 * CKK] + g3 * r0[k + 3 * CKK];
            }
            for (; p < OHW; p++) {
                const real gp = gf[p];
                const real *rp = colT + p * CKK;
                for (int k = 0; k < CKK; k++) dwf[k] += gp * rp[k];
            }
        }
        if (!dx) continue;
        /* colT of this sample is no longer needed: it becomes dcolT. */
        for (int p = 0; p < OHW; p++) {
            real *d = colT + p * CKK;
            for (int k = 0; k < CKK; k++) d[k] = 0;
            int f = 0;
            for (; f + 4 <= F; f += 4) {
                const real g0 = g[f * OHW + p], g1 = g[(f + 1) * OHW + p], g2 = g[(f + 2) * OHW + p], g3 = g[(f + 3) * OHW + p];
                const real *w0 = w + f * CKK;
                for (int k = 0; k < CKK; k++)
                    d[k] += g0 * w0[k] + g1 * w0[k + CKK] + g2 * w0[k + 2 * CKK] + g3 * w0[k + 3 * CKK];
            }
            for (; f < F; f++) {
                const real gp = g[f * OHW + p];
                const real *wf = w + f * CKK;
                for (int k = 0; k < CKK; k++) d[k] += gp * wf[k];
            }
        }
        real *dxs = dx + n * C * H * W;
        for (int i = 0; i < C * H * W; i++) dxs[i] = 0;
        FN(row2im)(colT, dxs);
    }
}
