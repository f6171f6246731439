/* avgpool.c — average pooling as PyTorch's nn.AvgPool2d (and, with one H×W window, nn.AdaptiveAvgPool2d(1)):
 * KH×KW windows, steps SH and SW, zero padding PH and PW: x (N, C, H, W) → out (N, C, OH, OW).
 * Window (oy, ox) spans rows y0 = oy·SH − PH up to y1 = min(y0 + KH, H + PH) (columns likewise); its sum
 * is over the rows and columns inside the input, and it is divided by
 *   COUNT_PAD 1:  (y1 − y0)·(x1 − x0)          the window with its padding (PyTorch's count_include_pad=True)
 *   COUNT_PAD 0:  the input elements it holds
 * Backward: out is a sum of x·(1/divisor), so every input element of the window receives dout/divisor. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/avgpool.c */
#include "nngen.h"
#define FN(name)      avgpool_##name
#define N             2 /* batch */
#define C             3 /* channels */
#define H             5 /* input height */
#define W             5 /* input width */
#define KH            3 /* window height */
#define KW            3 /* window width */
#define SH            2 /* vertical step */
#define SW            2 /* horizontal step */
#define PH            1 /* padding above and below */
#define PW            1 /* padding left and right */
#define OH            3 /* output height */
#define OW            3 /* output width */
#define COUNT_PAD     1 /* 1: the divisor counts padding */
#define OUT           0 /* out (N, C, OH, OW) */
#define DX_ACCUMULATE 0 /* 1: add to dx instead of overwriting it */
#endif

/* The window at (oy, ox): its input rows [*ya, *yb) and columns [*xa, *xb), and its divisor. */
static real FN(window)(int oy, int ox, int *ya, int *yb, int *xa, int *xb) {
    const int y0 = oy * SH - PH, x0 = ox * SW - PW;
    const int y1 = y0 + KH < H + PH ? y0 + KH : H + PH, x1 = x0 + KW < W + PW ? x0 + KW : W + PW;
    *ya = y0 > 0 ? y0 : 0;
    *yb = y1 < H ? y1 : H;
    *xa = x0 > 0 ? x0 : 0;
    *xb = x1 < W ? x1 : W;
    return (real)(COUNT_PAD ? (y1 - y0) * (x1 - x0) : (*yb - *ya) * (*xb - *xa));
}

/* Forward of planes [lo, hi) (nc = n·C + c): out[n, c, oy, ox] = (Σ of the window's input elements, in
 * row-major order) / divisor */
static void FN(forward_planes)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    for (long nc = lo; nc < hi; nc++) {
        const real *xc = t->x + nc * H * W;
        real *o = t->out + nc * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int ya, yb, xa, xb;
                const real divisor = FN(window)(oy, ox, &ya, &yb, &xa, &xb);
                real sum = 0;
                for (int y = ya; y < yb; y++)
                    for (int xi = xa; xi < xb; xi++) sum += xc[y * W + xi];
                o[oy * OW + ox] = sum / divisor;
            }
    }
}

/* Forward: every plane, ranges of planes on the pool's threads when worth it (nngen_ranges in nngen.h; each
 * plane is computed on its own, so the split changes no bit). */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    nngen_unary t = {mem + OUT, x, NULL, NULL};
    (void)train;
    (void)rng;
    nngen_ranges(N * C, H * W, FN(forward_planes), &t);
}

#if NNGEN_BACKWARD
/* Backward of planes [lo, hi): dx = 0 there (unless DX_ACCUMULATE), then every input element of window
 * (oy, ox) gets
 *   dx[n, c, y, x] += dout[n, c, oy, ox] / divisor   (windows in order; overlapping ones add). */
static void FN(backward_planes)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    for (long nc = lo; nc < hi; nc++) {
        const real *g = t->dout + nc * OH * OW;
        real *dxc = t->dx + nc * H * W;
        if (!DX_ACCUMULATE) /* the scatter below adds onto dx */
            for (int i = 0; i < H * W; i++) dxc[i] = 0;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                int ya, yb, xa, xb;
                const real share = g[oy * OW + ox] / FN(window)(oy, ox, &ya, &yb, &xa, &xb);
                for (int y = ya; y < yb; y++)
                    for (int xi = xa; xi < xb; xi++) dxc[y * W + xi] += share;
            }
    }
}

/* Backward: every plane, as forward. No parameters. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    nngen_unary t = {NULL, x, dout, dx};
    (void)mem;
    (void)train;
    if (dx) nngen_ranges(N * C, H * W, FN(backward_planes), &t);
}
#endif /* NNGEN_BACKWARD */
