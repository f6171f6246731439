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

/* The window at (oy, ox) clipped to the input: rows ya .. yb − 1, columns xa .. xb − 1. */
#define WINDOW(oy, ox)                                                                                       \
    const int y0 = (oy)*SH - PH, x0 = (ox)*SW - PW;                                                          \
    const int ya = y0 > 0 ? y0 : 0, yb = y0 + KH < H ? y0 + KH : H;                                          \
    const int xa = x0 > 0 ? x0 : 0, xb = x0 + KW < W ? x0 + KW : W

/* The first maximum of the window at (oy, ox) in the channel plane xc (H, W), in row-major order: a later
 * element replaces it only when strictly greater (so of −0 and +0 the first stays, and a NaN first
 * element stays). `top = v > top ? v : top` is a max instruction (maxss/maxsd on x86: its semantics). */
static inline real FN(maximum)(const real *xc, int oy, int ox) {
    WINDOW(oy, ox);
    real top = xc[ya * W + xa];
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) top = xc[y * W + x] > top ? xc[y * W + x] : top;
    return top;
}

#if NNGEN_BACKWARD
/* The offset in xc of that first maximum, found by the same comparisons. The offset follows the maximum
 * without a branch: which element wins is data, and a branch on it is mispredicted about every other
 * window (fashion_cnn's p1 backward took 2.1 ms of a 9.4 ms step that way on an Intel Xeon). */
static inline int FN(argmax)(const real *xc, int oy, int ox) {
    WINDOW(oy, ox);
    int best = ya * W + xa;
    real top = xc[best];
    for (int y = ya; y < yb; y++)
        for (int x = xa; x < xb; x++) {
            const int i = y * W + x;
            const int better = xc[i] > top;
            best ^= (best ^ i) & -better; /* i where better, else best: integer arithmetic */
            top = xc[i] > top ? xc[i] : top;
        }
    return best;
}
#endif
#undef WINDOW

/* Forward of planes [lo, hi) (nc = n·C + c): out[n, c, oy, ox] = the maximum of its window */
static void FN(forward_planes)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    for (long nc = lo; nc < hi; nc++) {
        const real *xc = t->x + nc * H * W;
        real *o = t->out + nc * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) o[oy * OW + ox] = FN(maximum)(xc, oy, ox);
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
/* Backward of planes [lo, hi): dx = 0 there (unless DX_ACCUMULATE), then for every output element
 *   dx[n, c, argmax of its window] += dout[n, c, oy, ox]
 * (overlapping windows, SH < KH or SW < KW, may send several gradients to one element). */
static void FN(backward_planes)(void *context, long lo, long hi) {
    const nngen_unary *t = context;
    for (long nc = lo; nc < hi; nc++) {
        const real *xc = t->x + nc * H * W;
        const real *g = t->dout + nc * OH * OW;
        real *dxc = t->dx + nc * H * W;
        if (!DX_ACCUMULATE) /* the scatter below adds onto dx */
            for (int i = 0; i < H * W; i++) dxc[i] = 0;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) dxc[FN(argmax)(xc, oy, ox)] += g[oy * OW + ox];
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
