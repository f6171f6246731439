/* dropout.c — inverted dropout: in training, keep each element with probability KEEP and scale it by 1/KEEP
 * (so the expected output equals x and test mode is the identity).
 * Math (docs/math.md, dropout): out = x·mask/p, dx = dout·mask/p, mask_i = [u_i < p], u_i uniform in [0, 1).
 * u_i is not drawn from a global generator: it is a pure function of the forward's rng
 * argument, this layer's SALT and i (counter-based), so a step is reproducible from its seed. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/dropout.c */
#include "nngen.h"
#define FN(name)      dropout_##name
#define COUNT         8                     /* elements */
#define KEEP          0.5                   /* probability of keeping an element */
#define SALT          0x6C62272E07BB0142ULL /* random stream of this layer */
#define OUT           0                     /* out, same shape as x */
#define DX_ACCUMULATE 0                     /* 1: add to dx instead of overwriting it */
#define S_MASK        64 /* saved for backward: the mask, 1 (kept) or 0 (dropped) per element */
#endif

/* The splitmix64 finalizer (Steele, Lea & Flood 2014, constants of Stafford's "Mix13"): a bijection of
 * 64-bit words whose every output bit depends on every input bit. */
static uint64_t FN(mix)(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* What the ranges below read and write, besides the layer's constants. */
typedef struct {
    real *mem;
    const real *x, *dout;
    real *dx;
    uint64_t key;
} FN(arguments);

/* Forward of elements [lo, hi). Train mode, with key = mix(rng ⊕ SALT):
 *   u_i = (mix(key + (i + 1)·0x9E3779B97F4A7C15) >> 11)·2⁻⁵³
 *         (the i-th output of splitmix64 seeded with key: 53 random bits, uniform in [0, 1))
 *   mask_i = u_i < KEEP,   out_i = x_i·mask_i/KEEP
 * The mask is saved for backward, which has no rng argument. Test mode: out = x (the mask is left as is). */
static void FN(forward_range)(void *context, long lo, long hi) {
    const FN(arguments) *t = context;
    real *out = t->mem + OUT;
    real *mask = t->mem + S_MASK;
    const real scale = (real)(1.0 / KEEP);
    for (long i = lo; i < hi; i++) {
        const uint64_t bits = FN(mix)(t->key + ((uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL);
        const double u = (double)(bits >> 11) * (1.0 / 9007199254740992.0); /* 2^53 */
        const int kept = u < KEEP;
        mask[i] = (real)kept;
        out[i] = kept ? t->x[i] * scale : 0;
    }
}

/* Forward: every element, in ranges on the pool's threads when worth it (nngen_ranges in nngen.h: u_i
 * depends on i alone, so the split changes no bit). */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    if (!train) {
        real *out = mem + OUT;
        for (int i = 0; i < COUNT; i++) out[i] = x[i];
        return;
    }
    FN(arguments) t = {mem, x, NULL, NULL, FN(mix)(rng ^ SALT)};
    nngen_ranges(COUNT, 4, FN(forward_range), &t);
}

#if NNGEN_BACKWARD
/* Backward of elements [lo, hi), train mode: dx_i = dout_i·mask_i/KEEP with the saved mask. */
static void FN(backward_range)(void *context, long lo, long hi) {
    const FN(arguments) *t = context;
    const real *mask = t->mem + S_MASK;
    const real scale = (real)(1.0 / KEEP);
    for (long i = lo; i < hi; i++) NNGEN_DX(t->dx[i], mask[i] != 0 ? t->dout[i] * scale : 0);
}

/* Backward: train mode as above, in ranges as forward; test mode dx = dout. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    if (!dx) return;
    if (!train) {
        for (int i = 0; i < COUNT; i++) NNGEN_DX(dx[i], dout[i]);
        return;
    }
    FN(arguments) t = {mem, x, dout, dx, 0};
    nngen_ranges(COUNT, 1, FN(backward_range), &t);
}
#endif /* NNGEN_BACKWARD */
