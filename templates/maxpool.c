/* maxpool.c — max pooling as PyTorch's nn.MaxPool2d: KH×KW windows, steps SH (down) and SW (across),
 * padding PH and PW that never wins (PyTorch pads with −∞): x (N, C, H, W) → out (N, C, OH, OW).
 * Window (oy, ox) covers rows oy·SH − PH ... oy·SH − PH + KH − 1 and columns ox·SW − PW ... + KW − 1,
 * clipped to the input (it always holds an input element: PH ≤ KH/2, PW ≤ KW/2).
 * Math: ∂ max(v₁, …, v_K)/∂v_i is 1 for the element that attains the maximum and 0 for the others — the
 * rule behind ReLU's max(0, x) (docs/math.md). Ties go to the FIRST maximum in row-major window order
 * (ky outer, kx inner), as PyTorch. Backward finds that element again from x with the same comparison, so
 * nothing is saved. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/maxpool.c */
#include "nngen.h"
#define FN(name)      maxpool_##name
#define N             2 /* batch */
#define C             3 /* channels */
#define H             5 /* input height */
#define W             5 /* input width */
#define KH            2 /* window height */
#define KW            2 /* window width */
#define SH            2 /* vertical step */
#define SW            2 /* horizontal step */
#define PH            1 /* padding above and below */
#define PW            1 /* padding left and right */
#define OH            3 /* output height */
#define OW            3 /* output width */
#define OUT           0 /* out (N, C, OH, OW) */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* The offset, inside the channel plane xc (H, W), of the first maximum of the window at (oy, ox):
 *   argmax over the window's input elements in row-major order, strict > so ties keep the first. */
static int FN(argmax)(const real *xc, int oy, int ox) {
    const int y0 = oy * SH - PH, x0 = ox * SW - PW;
    const int ya = y0 > 0 ? y0 : 0, yb = y0 + KH < H ? y0 + KH : H;
    const int xa = x0 > 0 ? x0 : 0, xb = x0 + KW < W ? x0 + KW : W;
    int best = ya * W + xa;
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
            const int i = y * W + x;
            if (xc[i] > xc[best]) best = i;
        }
    return best;
}

/* Forward: out[n, c, oy, ox] = the maximum of its window */
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

#if NNGEN_BACKWARD
/* Backward: dx = 0 (unless DX_ACCUMULATE), then for every output element
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
#endif /* NNGEN_BACKWARD */
