/* driver.c — times one generated model, built by the system compiler: every layer's forward and
 * backward (GFLOP/s for affine layers), the whole-network passes, and training steps per second.
 * Built and run by bench/kernels/run.sh, which writes layers.h (the model's layer table) and compiles
 * this file with -DMODEL=<model> -include <model>.h. Usage: bench THREADS [STEPS] [REPEATS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRING_(x) #x
#define STRING(x) STRING_(x)
#define PASTE2(a, b) a##_##b
#define PASTE3(a, b, c) a##_##b##_##c
#define MODEL_FN(model, name) PASTE2(model, name)
#define LAYER_FN(model, layer, name) PASTE3(model, layer, name)
#define FN(name) MODEL_FN(MODEL, name)

typedef void (*forward_fn)(void *mem, const void *x, int train, uint64_t rng);
typedef void (*backward_fn)(void *mem, const void *x, const void *dout, void *dx, int train);

#include "layers.h"

typedef struct {
    const char *name, *kind;
    forward_fn forward;
    backward_fn backward;
    long input; /* offset of the input in mem; -1: the network input */
    int n, d, m; /* input flattened to (n, d), output (n, m) */
} layer;

#define LAYER(name, kind, input, n, d, m) \
    {#name, kind, (forward_fn)LAYER_FN(MODEL, name, forward), (backward_fn)LAYER_FN(MODEL, name, backward), input, n, d, m},
static const layer layers[] = {BENCH_LAYERS};
#undef LAYER
enum { LAYERS = sizeof layers / sizeof layers[0] };

/* The clock of every timing: wall time, or with BENCH_CLOCK=cpu the process CPU time (on a machine that
 * other work shares, CPU time shows what the code costs; meaningful for 1 thread only). */
static clockid_t timing_clock = CLOCK_MONOTONIC;

static double seconds(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock == CLOCK_MONOTONIC ? timing_clock : clock, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t state = 0x9E3779B97F4A7C15u;
static double uniform(void) { /* xorshift64 in [-1, 1) */
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0 * 2 - 1;
}

static int compare(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* FLOPs of an affine layer: forward 2·N·D·M; backward dW (2·N·D·M) and, except for the first layer
 * (no input gradient), dx (2·N·D·M). Other layers: 0 (timed, not counted). */
static double forward_flops(const layer *l) { return strcmp(l->kind, "affine") ? 0 : 2.0 * l->n * l->d * l->m; }
static double backward_flops(const layer *l, int first) { return forward_flops(l) * (first ? 1 : 2); }

/* Best time per call of `calls` calls, over `repeats` runs. */
#define BEST_TIME(result, calls, repeats, body)                          \
    do {                                                                 \
        result = 1e30;                                                   \
        for (int r_ = 0; r_ < (repeats); r_++) {                         \
            const double t0_ = seconds(CLOCK_MONOTONIC);                 \
            for (int c_ = 0; c_ < (calls); c_++) { body; }               \
            const double t_ = (seconds(CLOCK_MONOTONIC) - t0_) / (calls); \
            if (t_ < result) result = t_;                                \
        }                                                                \
    } while (0)

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    const int steps = argc > 2 ? atoi(argv[2]) : 200;
    const int repeats = argc > 3 ? atoi(argv[3]) : 7;
    const char *clock_name = getenv("BENCH_CLOCK");
    if (clock_name && !strcmp(clock_name, "cpu")) timing_clock = CLOCK_PROCESS_CPUTIME_ID;
    bench_real *mem = aligned_alloc(64, ((sizeof(bench_real) * BENCH_MEM_SIZE + 63) / 64) * 64);
    bench_real *input = aligned_alloc(64, ((sizeof(bench_real) * BENCH_INPUT_SIZE + 63) / 64) * 64);
    long largest = 0; /* elements of the largest layer input or output */
    for (int i = 0; i < LAYERS; i++) {
        const long in = (long)layers[i].n * layers[i].d, out = (long)layers[i].n * layers[i].m;
        largest = in > largest ? in : largest;
        largest = out > largest ? out : largest;
    }
    bench_real *scratch_dout = malloc(sizeof(bench_real) * largest);
    bench_real *scratch_dx = malloc(sizeof(bench_real) * largest);
#ifdef BENCH_CLASS_TARGETS
    int32_t target[BENCH_BATCH];
    for (int i = 0; i < BENCH_BATCH; i++) target[i] = (int32_t)((uniform() + 1) * 5) % (BENCH_OUTPUT_SIZE / BENCH_BATCH);
#else
    bench_real target[BENCH_OUTPUT_SIZE];
    for (int i = 0; i < BENCH_OUTPUT_SIZE; i++) target[i] = (bench_real)uniform();
#endif
    if (!mem || !input || !scratch_dout || !scratch_dx) return 1;
    memset(mem, 0, sizeof(bench_real) * BENCH_MEM_SIZE);
    /* Parameters uniform in ±1/sqrt(fan-in) (fan-in: first dimension), buffers 1 (variances). */
    for (const FN(tensor) *t = FN(tensors); t->name; t++) {
        long size = 1;
        for (int k = 0; k < t->rank; k++) size *= t->shape[k];
        const double scale = t->rank > 1 ? 1 / __builtin_sqrt((double)t->shape[0]) : 0.1;
        for (long i = 0; i < size; i++) mem[t->offset + i] = (bench_real)(t->trainable ? scale * uniform() : 1);
    }
    for (long i = 0; i < BENCH_INPUT_SIZE; i++) input[i] = (bench_real)uniform();
    for (long i = 0; i < largest; i++) scratch_dout[i] = (bench_real)(0.01 * uniform());

    const int used = FN(set_threads)(threads);
    const double lr = 1e-3;
    int64_t step = 1;
    for (int i = 0; i < 20; i++, step++) FN(train_step)(mem, input, target, lr, step, 0); /* warm-up */

    double total_flops = 0;
    for (int i = 0; i < LAYERS; i++) total_flops += forward_flops(&layers[i]) + backward_flops(&layers[i], i == 0);
    printf("%s (%s), %.1f MFLOP per training step in affine layers, %d thread%s, %s time\n", STRING(MODEL),
           sizeof(bench_real) == 4 ? "float32" : "float64", total_flops / 1e6, used, used == 1 ? "" : "s",
           timing_clock == CLOCK_MONOTONIC ? "wall" : "CPU");

    /* Layers, one at a time, on the inputs a forward pass left in mem. */
    FN(forward)(mem, input, target, 1, 0);
    printf("  %-8s %-10s %12s %9s %12s %9s\n", "layer", "kind", "forward µs", "GFLOP/s", "backward µs", "GFLOP/s");
    const int calls = steps / 4 > 5 ? steps / 4 : 5;
    for (int i = 0; i < LAYERS; i++) {
        const layer *l = &layers[i];
        const bench_real *x = l->input < 0 ? input : mem + l->input;
        double forward, backward;
        BEST_TIME(forward, calls, repeats, l->forward(mem, x, 1, 0));
        BEST_TIME(backward, calls, repeats, l->backward(mem, x, scratch_dout, i == 0 ? NULL : scratch_dx, 1));
        if (forward_flops(l) > 0)
            printf("  %-8s %-10s %12.1f %9.1f %12.1f %9.1f%s\n", l->name, l->kind, forward * 1e6, forward_flops(l) / forward / 1e9,
                   backward * 1e6, backward_flops(l, i == 0) / backward / 1e9, i == 0 ? "   (no dx)" : "");
        else
            printf("  %-8s %-10s %12.1f %9s %12.1f %9s\n", l->name, l->kind, forward * 1e6, "", backward * 1e6, "");
    }
    double forward, backward, update;
    BEST_TIME(forward, calls, repeats, FN(forward)(mem, input, target, 1, 0));
    BEST_TIME(backward, calls, repeats, FN(backward)(mem, input, target, NULL, 1));
    BEST_TIME(update, calls, repeats, FN(update)(mem, lr, step));
    printf("  network: forward %.1f µs, backward %.1f µs, update %.1f µs\n", forward * 1e6, backward * 1e6, update * 1e6);

    /* Training steps: `repeats` runs of `steps` steps; steps/s of each run (wall clock). */
    double rates[64], cpu[64];
    const int runs = repeats < 64 ? repeats : 64;
    for (int r = 0; r < runs; r++) {
        const double wall0 = seconds(CLOCK_MONOTONIC), cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (int i = 0; i < steps; i++, step++) FN(train_step)(mem, input, target, lr, step, 0);
        rates[r] = steps / (seconds(CLOCK_MONOTONIC) - wall0);
        cpu[r] = (seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / steps;
    }
    qsort(rates, runs, sizeof rates[0], compare);
    qsort(cpu, runs, sizeof cpu[0], compare);
    const double median = rates[runs / 2];
    printf("  train_step: %.0f steps/s median (%.0f–%.0f over %d runs of %d steps), %.1f GFLOP/s; CPU time %.2f ms per step\n",
           median, rates[0], rates[runs - 1], runs, steps, median * total_flops / 1e9, cpu[runs / 2] * 1e3);
    free(mem);
    free(input);
    free(scratch_dout);
    free(scratch_dx);
    return 0;
}
