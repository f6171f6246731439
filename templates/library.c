/* library.c — the library around a model's kernels, so a C program can use it alone: initialize, load and
 * save the parameters (safetensors, bounds-checked), preprocess raw bytes, predict, and the spec's learning
 * rate. Nothing here allocates, except the file helpers (compiled unless NNGEN_NO_STDIO), and nothing keeps
 * global mutable state: every function works on the `mem` it is given.
 *
 * safetensors: u64 N (little-endian) | N bytes of JSON | data. The JSON maps each tensor name to
 *   {"dtype": "F32", "shape": [d0, ...], "data_offsets": [begin, end]} (byte offsets into the data), and may
 *   hold "__metadata__": {"key": "value", ...}. */
#ifndef NNGEN_GENERATED /* defaults so this template compiles on its own: cc -fsyntax-only templates/library.c */
#include "nngen.h"
#define FN(name) library_##name
typedef struct {
    const char *name;
    long offset;
    int rank;
    int shape[4];
    int trainable;
} library_tensor;
static const library_tensor library_tensors[3] = {
    {"w", 0, 2, {2, 3, 0, 0}, 1}, {"b", 64, 1, {3, 0, 0, 0}, 1}, {0, 0, 0, {0}, 0}};
static const library_tensor library_state_tensors[1] = {{0, 0, 0, {0}, 0}};
#define TENSORS       2     /* parameters and buffers */
#define STATE_TENSORS 0     /* optimizer state arrays */
#define MEM_SIZE      512   /* elements of mem */
#define DTYPE_NAME    "F32" /* the model's element type in safetensors */
/* per tensor: kind (0 zeros, 1 ones, 2 normal, 3 uniform), FNV-1a of its name, offset, count, scale */
/* clang-format off */
#define INIT_TABLE {2, 0x1234ull, 0, 6, 0.5}, {0, 0x99ull, 64, 3, 0.0}
/* clang-format on */
#define INIT_COUNT       2    /* rows of INIT_TABLE */
#define SAVE_HEADER      "{}" /* the header M_save writes, with its data offsets */
#define SAVE_HEADER_SIZE 2    /* its length in bytes (a multiple of 8) */
#define BATCH            2    /* samples per call */
#define INPUT_SIZE       6    /* elements of one input batch */
#define PRE_CHANNELS     1    /* channels of the preprocessing (1: one map for all) */
#define PRE_PLANE        1    /* consecutive values of a sample in one channel */
#define PRE_SCALES       1.0f /* per channel: 1/(max·std) */
#define PRE_SHIFTS       0.0f /* per channel: −mean/std */
#define OUTPUT_OFFSET    0    /* the network output in mem */
#define OUTPUT_SIZE      6    /* its elements */
#define CLASSES          3    /* output values per sample */
#define PROBABILITIES    1    /* 1: predict returns the softmax of the output (class losses) */
#define LR_BASE          0.1  /* the spec's lr */
#define SCHEDULE         0    /* 0 constant, 1 cosine, 2 step */
#define STEP_EVERY       1    /* schedule step: epochs between decays */
#define STEP_GAMMA       1.0  /* schedule step: the factor */
double library_forward(real *mem, const real *input, const void *target, int train, uint64_t rng);
#endif

/* ---------------------------------------------------------------------------------------------------
 * Errors: 0 is success; the codes are the same in every generated library (see the header). */
const char *FN(error)(int code) {
    switch (code) {
    case 0:
        return "ok";
    case 1:
        return "the file is truncated: shorter than its header says";
    case 2:
        return "the header is not valid safetensors JSON";
    case 3:
        return "the header length is absurd (larger than the file or than 100 MB)";
    case 4:
        return "a tensor has another dtype than the model's";
    case 5:
        return "a tensor has another shape than the model's";
    case 6:
        return "the file holds a tensor the model does not have";
    case 7:
        return "the file lacks a parameter or buffer of the model";
    case 8:
        return "a tensor holds a NaN or infinite value";
    case 9:
        return "tensor data offsets are out of range, overlapping or of the wrong size";
    case 10:
        return "the output buffer is too small (see save_size)";
    case 11:
        return "the file cannot be opened, read or written";
    default:
        return "unknown error code";
    }
}

/* ---------------------------------------------------------------------------------------------------
 * Initialization, bit-identical to `nngen init --seed`: every tensor draws from its own SplitMix64 stream
 * seeded with seed ⊕ FNV-1a-64(name) (the hash is in INIT_TABLE), normal values by Box–Muller
 * sqrt(−2 ln u₁)·cos(2π u₂) with u₁ = 1 − u, u = the top 53 bits of a draw times 2⁻⁵³ (docs/spec.md,
 * Initialization). */
#if INIT_COUNT > 0
static uint64_t FN(splitmix)(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double FN(uniform)(uint64_t *state) { return (double)(FN(splitmix)(state) >> 11) * 0x1p-53; }
#endif

int FN(init)(real *mem, uint64_t seed) {
#if INIT_COUNT > 0
    static const struct {
        int kind;
        uint64_t hash;
        long offset, count;
        double scale;
    } table[INIT_COUNT] = {INIT_TABLE};
    memset(mem, 0, (size_t)MEM_SIZE * sizeof(real));
    for (int t = 0; t < INIT_COUNT; t++) {
        uint64_t state = seed ^ table[t].hash;
        real *p = mem + table[t].offset;
        for (long i = 0; i < table[t].count; i++) {
            double v = 0;
            if (table[t].kind == 1) {
                v = 1;
            } else if (table[t].kind == 2) {
                const double u1 = 1 - FN(uniform)(&state);
                const double u2 = FN(uniform)(&state);
                v = table[t].scale * (sqrt(-2 * log(u1)) * cos(2 * 3.141592653589793 * u2));
            } else if (table[t].kind == 3) {
                v = table[t].scale * (2 * FN(uniform)(&state) - 1);
            }
            p[i] = (real)v;
        }
    }
#else
    (void)seed;
    memset(mem, 0, (size_t)MEM_SIZE * sizeof(real));
#endif
    return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * safetensors reading: a bounds-checked scan of the JSON header (every read checks the cursor against the
 * end), then a check of every tensor against the model's tables, and only then the copy: an error leaves
 * mem as it was. */
typedef struct {
    const unsigned char *p, *end;
} FN(cursor);

static void FN(spaces)(FN(cursor) *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int FN(expect)(FN(cursor) *c, unsigned char ch) {
    FN(spaces)(c);
    if (c->p >= c->end || *c->p != ch) return 0;
    c->p++;
    return 1;
}

/* A JSON string into out (capacity bytes, NUL-terminated; longer strings are cut but still read through).
 * Escapes \" \\ \/ \b \f \n \r \t are decoded; \uXXXX is kept as written (tensor names are ASCII). */
static int FN(string)(FN(cursor) *c, char *out, int capacity) {
    int n = 0;
    if (!FN(expect)(c, '"')) return 0;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = *c->p++;
        if (ch < 0x20) return 0;
        if (ch == '\\') {
            if (c->p >= c->end) return 0;
            ch = *c->p++;
            if (ch == 'n')
                ch = '\n';
            else if (ch == 't')
                ch = '\t';
            else if (ch == 'r')
                ch = '\r';
            else if (ch == 'b')
                ch = '\b';
            else if (ch == 'f')
                ch = '\f';
            else if (ch != '"' && ch != '\\' && ch != '/' && ch != 'u')
                return 0;
        }
        if (n + 1 < capacity) out[n++] = (char)ch;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n < capacity ? n : capacity - 1] = 0;
    return 1;
}

/* A non-negative whole number below 2^53. */
static int FN(number)(FN(cursor) *c, uint64_t *value) {
    uint64_t v = 0;
    int digits = 0;
    FN(spaces)(c);
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (uint64_t)(*c->p++ - '0');
        if (++digits > 15) return 0;
    }
    *value = v;
    return digits > 0;
}

/* [n, n, ...] into values (at most capacity); *count is how many. */
static int FN(numbers)(FN(cursor) *c, uint64_t *values, int capacity, int *count) {
    *count = 0;
    if (!FN(expect)(c, '[')) return 0;
    if (FN(expect)(c, ']')) return 1;
    do {
        if (*count >= capacity || !FN(number)(c, &values[*count])) return 0;
        (*count)++;
    } while (FN(expect)(c, ','));
    return FN(expect)(c, ']');
}

/* The strings-only object of __metadata__, skipped. */
static int FN(skip_metadata)(FN(cursor) *c) {
    char text[8];
    if (!FN(expect)(c, '{')) return 0;
    if (FN(expect)(c, '}')) return 1;
    do {
        if (!FN(string)(c, text, sizeof text) || !FN(expect)(c, ':') || !FN(string)(c, text, sizeof text))
            return 0;
    } while (FN(expect)(c, ','));
    return FN(expect)(c, '}');
}

/* What the header says about one tensor the model has. */
typedef struct {
    const FN(tensor) *tensor;
    uint64_t begin, end;
} FN(found);

/* The model's tensor (or optimizer state array) of that name, or NULL. */
static const FN(tensor) *FN(lookup)(const char *name) {
    for (int t = 0; t < TENSORS; t++)
        if (strcmp(FN(tensors)[t].name, name) == 0) return &FN(tensors)[t];
    for (int t = 0; t < STATE_TENSORS; t++)
        if (strcmp(FN(state_tensors)[t].name, name) == 0) return &FN(state_tensors)[t];
    return NULL;
}

#if !NNGEN_BACKWARD
/* 1 if `name` starts with `prefix`. */
static int FN(prefixed)(const char *name, const char *prefix) {
    while (*prefix)
        if (*name++ != *prefix++) return 0;
    return 1;
}
#endif

static int FN(finite)(const unsigned char *p, long count) {
    for (long i = 0; i < count; i++) {
        real v;
        memcpy(&v, p + (size_t)i * sizeof(real), sizeof v);
        if (v != v || v - v != 0) return 0;
    }
    return 1;
}

int FN(load)(real *mem, const void *data, size_t size) {
    FN(found) found[TENSORS + STATE_TENSORS + 1];
    int nfound = 0;
    uint64_t skipped = 0; /* bytes of tensors a forward-only build skips */
    const unsigned char *bytes = (const unsigned char *)data;
    uint64_t header = 0;
    if (!data || size < 8) return 1;
    for (int i = 7; i >= 0; i--) header = header << 8 | bytes[i];
    if (header > 100000000u || header > size - 8) return header > size - 8 && header <= 100000000u ? 1 : 3;
    const unsigned char *blob = bytes + 8 + header;
    const uint64_t blob_size = size - 8 - header;
    FN(cursor) c = {bytes + 8, bytes + 8 + header};
    if (!FN(expect)(&c, '{')) return 2;
    if (!FN(expect)(&c, '}')) {
        do {
            char name[256];
            if (!FN(string)(&c, name, sizeof name) || !FN(expect)(&c, ':')) return 2;
            if (strcmp(name, "__metadata__") == 0) {
                if (!FN(skip_metadata)(&c)) return 2;
                continue;
            }
            char key[32], dtype[16];
            uint64_t shape[8], offsets[2];
            int rank = -1, noffsets = -1, have_dtype = 0;
            if (!FN(expect)(&c, '{')) return 2;
            do {
                if (!FN(string)(&c, key, sizeof key) || !FN(expect)(&c, ':')) return 2;
                if (strcmp(key, "dtype") == 0) {
                    if (!FN(string)(&c, dtype, sizeof dtype)) return 2;
                    have_dtype = 1;
                } else if (strcmp(key, "shape") == 0) {
                    if (!FN(numbers)(&c, shape, 8, &rank)) return 2;
                } else if (strcmp(key, "data_offsets") == 0) {
                    if (!FN(numbers)(&c, offsets, 2, &noffsets) || noffsets != 2) return 2;
                } else
                    return 2;
            } while (FN(expect)(&c, ','));
            if (!FN(expect)(&c, '}') || !have_dtype || rank < 0 || noffsets != 2) return 2;
            const FN(tensor) *t = FN(lookup)(name);
#if !NNGEN_BACKWARD
            /* A forward-only build has no optimizer state: a checkpoint's is checked for its dtype and
             * bounds, and skipped. */
            if (!t && FN(prefixed)(name, "optimizer.") && strcmp(dtype, DTYPE_NAME) == 0 &&
                offsets[0] <= offsets[1] && offsets[1] <= blob_size) {
                skipped += offsets[1] - offsets[0];
                continue;
            }
#endif
            if (!t) return 6;
            for (int i = 0; i < nfound; i++)
                if (found[i].tensor == t) return 2; /* named twice */
            if (strcmp(dtype, DTYPE_NAME) != 0) return 4;
            if (rank != t->rank) return 5;
            for (int d = 0; d < rank; d++)
                if (shape[d] != (uint64_t)t->shape[d]) return 5;
            long count = 1;
            for (int d = 0; d < t->rank; d++) count *= t->shape[d];
            if (offsets[0] > offsets[1] || offsets[1] - offsets[0] != (uint64_t)count * sizeof(real))
                return 9;
            if (offsets[1] > blob_size) return 1; /* the data ends before the tensor does */
            if (nfound >= TENSORS + STATE_TENSORS) return 2;
            found[nfound].tensor = t;
            found[nfound].begin = offsets[0];
            found[nfound].end = offsets[1];
            nfound++;
        } while (FN(expect)(&c, ','));
        if (!FN(expect)(&c, '}')) return 2;
    }
    FN(spaces)(&c);
    if (c.p != c.end) return 2;
    for (int i = 0; i < nfound; i++) /* no two tensors share bytes */
        for (int j = i + 1; j < nfound; j++)
            if (found[i].begin < found[j].end && found[j].begin < found[i].end) return 9;
    uint64_t covered = skipped; /* the tensors cover the data exactly: no bytes after the last one */
    for (int i = 0; i < nfound; i++) covered += found[i].end - found[i].begin;
    if (covered != blob_size) return 9;
    for (int t = 0; t < TENSORS; t++) { /* every parameter and buffer is there */
        int present = 0;
        for (int i = 0; i < nfound; i++) present |= found[i].tensor == &FN(tensors)[t];
        if (!present) return 7;
    }
    for (int i = 0; i < nfound; i++)
        if (!FN(finite)(blob + found[i].begin, (long)((found[i].end - found[i].begin) / sizeof(real))))
            return 8;
    for (int i = 0; i < nfound; i++)
        memcpy(mem + found[i].tensor->offset, blob + found[i].begin, (size_t)(found[i].end - found[i].begin));
    return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * safetensors writing: a fixed header (SAVE_HEADER, written by nngen with the data offsets of every
 * parameter, buffer and optimizer state array in table order), then their data. */
size_t FN(save_size)(void) {
    size_t total = 8 + SAVE_HEADER_SIZE;
    for (int t = 0; t < TENSORS + STATE_TENSORS; t++) {
        const FN(tensor) *x = t < TENSORS ? &FN(tensors)[t] : &FN(state_tensors)[t - TENSORS];
        size_t count = 1;
        for (int d = 0; d < x->rank; d++) count *= (size_t)x->shape[d];
        total += count * sizeof(real);
    }
    return total;
}

size_t FN(save)(const real *mem, void *out, size_t capacity) {
    unsigned char *o = (unsigned char *)out;
    const size_t total = FN(save_size)();
    if (!out || capacity < total) return 0;
    for (int i = 0; i < 8; i++) o[i] = (unsigned char)((uint64_t)SAVE_HEADER_SIZE >> (8 * i));
    memcpy(o + 8, SAVE_HEADER, SAVE_HEADER_SIZE);
    o += 8 + SAVE_HEADER_SIZE;
    for (int t = 0; t < TENSORS + STATE_TENSORS; t++) {
        const FN(tensor) *x = t < TENSORS ? &FN(tensors)[t] : &FN(state_tensors)[t - TENSORS];
        size_t count = 1;
        for (int d = 0; d < x->rank; d++) count *= (size_t)x->shape[d];
        memcpy(o, mem + x->offset, count * sizeof(real));
        o += count * sizeof(real);
    }
    return total;
}

/* ---------------------------------------------------------------------------------------------------
 * Preprocessing, prediction and the learning rate. */

/* One batch of raw bytes (BATCH samples, row-major) into input: channel c's bytes b become
 * (float)b·scale[c] + shift[c] = (b/max − mean[c])/std[c], computed in float as nngen train stages them. */
void FN(preprocess)(const uint8_t *raw, real *input) {
    static const float scale[PRE_CHANNELS] = {PRE_SCALES}, shift[PRE_CHANNELS] = {PRE_SHIFTS};
    for (long i = 0; i < INPUT_SIZE; i++) {
        const int c = PRE_CHANNELS == 1 ? 0 : (int)(i / PRE_PLANE % PRE_CHANNELS);
        input[i] = (real)((float)raw[i] * scale[c] + shift[c]);
    }
}

/* Test-mode forward of one batch; out gets the class probabilities p = softmax(z) (computed as
 * exp(z − max z)/Σ exp(z − max z)) for class losses, or the network output itself. */
void FN(predict)(real *mem, const real *input, real *out) {
    const real *z = mem + OUTPUT_OFFSET;
    FN(forward)(mem, input, NULL, 0, 0);
    for (long n = 0; n < OUTPUT_SIZE / CLASSES; n++) {
        const real *zn = z + n * CLASSES;
        real *on = out + n * CLASSES;
        if (!PROBABILITIES) {
            for (int k = 0; k < CLASSES; k++) on[k] = zn[k];
            continue;
        }
        double largest = zn[0], sum = 0;
        for (int k = 1; k < CLASSES; k++)
            if (zn[k] > largest) largest = zn[k];
        for (int k = 0; k < CLASSES; k++) sum += exp(zn[k] - largest);
        for (int k = 0; k < CLASSES; k++) on[k] = (real)(exp(zn[k] - largest) / sum);
    }
}

#if NNGEN_BACKWARD
/* The learning rate of a step: `step` steps taken before it (0 for the first), `total_steps` in the run,
 * `steps_per_epoch` (for schedule step). cosine: lr·½(1 + cos(π·min(step, total)/total)); step:
 * lr·gamma^⌊epoch/every⌋ with epoch = ⌊step/steps_per_epoch⌋ — the values nngen train uses. */
double FN(learning_rate)(int64_t step, int64_t total_steps, int64_t steps_per_epoch) {
    if (SCHEDULE == 1) {
        if (total_steps <= 0) return LR_BASE;
        const int64_t s = step < 0 ? 0 : step > total_steps ? total_steps : step;
        return LR_BASE * 0.5 * (1 + cos(3.141592653589793 * ((double)s / (double)total_steps)));
    }
    if (SCHEDULE == 2) {
        const int64_t epoch = steps_per_epoch > 0 && step > 0 ? step / steps_per_epoch : 0;
        return LR_BASE * pow(STEP_GAMMA, (double)(epoch / STEP_EVERY));
    }
    (void)step;
    (void)total_steps;
    (void)steps_per_epoch;
    return LR_BASE;
}
#endif /* NNGEN_BACKWARD */

/* ---------------------------------------------------------------------------------------------------
 * File helpers, where a C library with stdio exists (define NNGEN_NO_STDIO to leave them out). They read
 * the whole file into one malloc'd buffer (load) and write it in one go (save). */
#ifndef NNGEN_NO_STDIO
#include <stdio.h>
#include <stdlib.h>

int FN(load_file)(real *mem, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 11;
    const size_t limit = FN(save_size)() + 100000000u; /* the tensors plus the largest header M_load takes */
    unsigned char *buffer = (unsigned char *)malloc(limit + 1);
    if (!buffer) {
        fclose(f);
        return 11;
    }
    const size_t size = fread(buffer, 1, limit + 1, f);
    const int failed = ferror(f);
    fclose(f);
    const int code = failed ? 11 : size > limit ? 3 : FN(load)(mem, buffer, size);
    free(buffer);
    return code;
}

int FN(save_file)(const real *mem, const char *path) {
    const size_t size = FN(save_size)();
    unsigned char *buffer = (unsigned char *)malloc(size);
    if (!buffer) return 11;
    FN(save)(mem, buffer, size);
    FILE *f = fopen(path, "wb");
    int code = f ? 0 : 11;
    if (f && fwrite(buffer, 1, size, f) != size) code = 11;
    if (f && fclose(f) != 0) code = 11;
    free(buffer);
    return code;
}
#endif
