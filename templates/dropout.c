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

/* Forward. Train mode, with key = mix(rng ⊕ SALT):
 *   u_i = (mix(key + (i + 1)·0x9E3779B97F4A7C15) >> 11)·2⁻⁵³
 *         (the i-th output of splitmix64 seeded with key: 53 random bits, uniform in [0, 1))
 *   mask_i = u_i < KEEP,   out_i = x_i·mask_i/KEEP
 * The mask is saved for backward, which has no rng argument. Test mode: out = x (the mask is left as is). */
void FN(forward)(real *mem, const real *x, int train, uint64_t rng) {
    real *out = mem + OUT;
    real *mask = mem + S_MASK;
    if (!train) {
        for (int i = 0; i < COUNT; i++) out[i] = x[i];
        return;
    }
    const uint64_t key = FN(mix)(rng ^ SALT);
    const real scale = (real)(1.0 / KEEP);
    for (int i = 0; i < COUNT; i++) {
        const uint64_t bits = FN(mix)(key + ((uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL);
        const double u = (double)(bits >> 11) * (1.0 / 9007199254740992.0); /* 2^53 */
        const int kept = u < KEEP;
        mask[i] = (real)kept;
        out[i] = kept ? x[i] * scale : 0;
    }
}

#if NNGEN_BACKWARD
/* Backward: train mode dx_i = dout_i·mask_i/KEEP with the saved mask; test mode dx = dout. */
void FN(backward)(real *mem, const real *x, const real *dout, real *dx, int train) {
    const real *mask = mem + S_MASK;
    (void)x;
    if (!dx) return;
    if (!train) {
        for (int i = 0; i < COUNT; i++) NNGEN_DX(dx[i], dout[i]);
        return;
    }
    const real scale = (real)(1.0 / KEEP);
    for (int i = 0; i < COUNT; i++) NNGEN_DX(dx[i], mask[i] != 0 ? dout[i] * scale : 0);
}
#endif /* NNGEN_BACKWARD */
