/* maxpool.c — max pooling over KH×KW windows, steps SH (down) and SW (across), no padding:
 * x (N, C, H, W) → out (N, C, OH, OW), OH = (H − KH)/SH + 1, OW = (W − KW)/SW + 1.
 * Math (the seeds have no pooling): ∂ max(v₁, …, v_K)/∂v_i is 1 for the element that attains the
 * maximum and 0 for the others — the rule behind ReLU's max(0, x), seeds/001 §2. Ties go to the FIRST
 * maximum in row-major window order (ky outer, kx inner), as Tests/EquivalenceTests/Reference/RefPool.swift.
 * Backward finds that element again from x with the same comparison, so nothing is saved. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/maxpool.c */
#include "nngen.h"
#define FN(name)      maxpool_##name
#define N             2 /* batch */
#define C             3 /* channels */
#define H             4 /* input height */
#define W             4 /* input width */
#define KH            2 /* window height */
#define KW            2 /* window width */
#define SH            2 /* vertical step */
#define SW            2 /* horizontal step */
#define OH            2 /* output height (H − KH)/SH + 1 */
#define OW            2 /* output width (W − KW)/SW + 1 */
#define OUT           0 /* out (N, C, OH, OW) */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* The offset, inside the channel plane xc (H, W), of the first maximum of the window at (oy, ox):
 *   argmax over (ky, kx) in row-major order of xc[oy·SH + ky][ox·SW + kx], strict > so ties keep the first. */
static int FN(argmax)(const real *xc, int oy, int ox) {
    const int top = oy * SH * W + ox * SW;
    int best = top;
    for (int ky = 0; ky < KH; ky++)
        for (int kx = 0; kx < KW; kx++) {
            const int i = top + ky * W + kx;
            if (xc[i] > xc[best]) best = i;
        }
    return best;
}

/* Forward: out[n, c, oy, ox] = max_{ky < KH, kx < KW} x[n, c, oy·SH + ky, ox·SW + kx] */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    (void)train;
    (void)rng;
    for (int nc = 0; nc < N * C; nc++) {
        const real *xc = x + nc * H * W;
        real *o = out + nc * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) o[oy * OW + ox] = xc[FN(argmax)(xc, oy, ox)];
    }
}

/* Backward: dx = 0, then for every output element
 *   dx[n, c, argmax of its window] += dout[n, c, oy, ox]
 * (overlapping windows, SH < KH or SW < KW, may send several gradients to one element). No parameters. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    (void)mem;
    (void)train;
    if (!dx) return;
    if (!DX_ACCUMULATE) /* the scatter below adds onto dx */
        for (int i = 0; i < N * C * H * W; i++) dx[i] = 0;
    for (int nc = 0; nc < N * C; nc++) {
        const real *xc = x + nc * H * W;
        const real *g = dout + nc * OH * OW;
        real *dxc = dx + nc * H * W;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) dxc[FN(argmax)(xc, oy, ox)] += g[oy * OW + ox];
    }
}
