/* nngen.h — the prelude every generated kernel file starts with: the element type and the libm functions
 * the kernels use. Declared here rather than through <math.h>, which costs tcc several milliseconds.
 * For optimizing compilers (GCC, Clang) it also holds the shared fast path: SIMD GEMM tiles and a pool
 * of worker threads; tcc skips that part and compiles the templates' plain scalar loops. */
#ifndef NNGEN_H
#define NNGEN_H

#include <stddef.h>
#include <stdint.h>

#ifndef NNGEN_REAL
#define NNGEN_REAL float
#endif
/* The element type of every tensor of the model (float or double). */
typedef NNGEN_REAL real;

/* NNGEN_BACKWARD is 1 in a training build and 0 in a forward-only build (`nngen compile --inference`),
 * whose memory holds no gradients: each template compiles its backward pass only where it is 1. */
#ifndef NNGEN_BACKWARD
#define NNGEN_BACKWARD 1
#endif

double exp(double);
float fmaf(float, float, float);
double fma(double, double, double);
double log(double);
double sqrt(double);
double cos(double);
double pow(double, double);
double tanh(double);
double erf(double);
void *memset(void *, int, size_t);
void *memcpy(void *, const void *, size_t);
int strcmp(const char *, const char *);

/* The multiply-add of every GEMM (affine, conv): c + a·b rounded once, IEEE 754's fusedMultiplyAdd, which
 * C's fma/fmaf compute correctly rounded on every machine (in hardware where the CPU has FMA, else in
 * software). Both paths use it for the same products in the same order: the scalar path through this
 * macro, the fast path through the CPU's vector FMA (nngen_fmadd below), so tcc and cc builds, any thread
 * count and every CPU compute the same bits, at the FMA units' full rate (a separate multiply and add,
 * each rounded, runs at half of it on Intel's cores). The rest of the arithmetic rounds every operation:
 * the cc backend compiles with -ffp-contract=off so that the compiler fuses nothing on its own. */
#define NNGEN_MADD(a, b, c)                                                                                  \
    (sizeof(real) == 4 ? (real)fmaf((float)(a), (float)(b), (float)(c)) : (real)fma((a), (b), (c)))

/* A layer's input gradient: dx = v, or dx += v when the layer's DX_ACCUMULATE is 1. The gradient of a
 * tensor that several layers read is the sum of what each sends back: the reader that runs first in
 * backward writes it, the others add to it (the emitter decides from the graph). */
#define NNGEN_DX(place, v) ((place) = DX_ACCUMULATE ? (place) + (v) : (v))

/* NNGEN_FAST is 1 where the optimized kernels are compiled: GCC or Clang (vector extensions, pthreads).
 * tcc, or any compiler given -DNNGEN_SCALAR, gets 0: plain scalar loops on one thread. Both paths add
 * the same products in the same order, so without FMA contraction (the cc backend passes
 * -ffp-contract=off) they compute bit-identical results, whatever the thread count. */
#if defined(__GNUC__) && !defined(__TINYC__) && !defined(NNGEN_SCALAR)
#define NNGEN_FAST 1
#else
#define NNGEN_FAST 0
#endif

/* NNGEN_UNROLL before a loop of a compile-time trip count asks GCC and Clang to unroll it completely, so
 * that what depends on its index becomes constant inside (conv's im2col: each kernel column's valid output
 * range, and with it the copy loops' bounds). Other compilers ignore it. */
#if NNGEN_FAST
#define NNGEN_UNROLL _Pragma("GCC unroll 16")
#else
#define NNGEN_UNROLL
#endif

/* A helper only some models' layers call (clang warns of an unused static function otherwise; GCC, Clang
 * and tcc all read the attribute). */
#define NNGEN_MAYBE_UNUSED __attribute__((unused))

/* Where C(i, j) of a GEMM starts before the first product (nngen_gemm_task_ex, nngen_host_gemm):
 *   NNGEN_FROM_ROW     c0[j] (a bias along the row, as affine's), or 0 when c0 is NULL
 *   NNGEN_FROM_COLUMN  c0[i] (one value per row, as conv's bias per filter)
 *   NNGEN_FROM_C       C(i, j) itself: the products are added onto what C holds (a sum over several calls) */
#define NNGEN_FROM_ROW    0
#define NNGEN_FROM_COLUMN 1
#define NNGEN_FROM_C      2

#if !NNGEN_FAST && defined(NNGEN_HOST_GEMM)
/* Only when the nngen runtime compiles this code with libtcc: the runtime lends its vector GEMM
 * (Sources/CNNGenHost) to the scalar path. C = start + A·B in nngen_gemm_task_ex's notation, with every
 * C(i, j) summed as the scalar loops sum it: fma of each product into the running sum, k = 0, 1, 2, ...
 * in order. The same bits as the loops, at vector speed (tcc does not vectorize). */
void nngen_host_gemm_f32(int rows, int cols, int depth, const float *a, long a_row, long a_step,
                         const float *b, long b_row, long b_col, int from, const float *c0, float *c,
                         long ldc);
void nngen_host_gemm_f64(int rows, int cols, int depth, const double *a, long a_row, long a_step,
                         const double *b, long b_row, long b_col, int from, const double *c0, double *c,
                         long ldc);
#define NNGEN_HOST_GEMM_CALL(rows, cols, depth, a, a_row, a_step, b, b_row, b_col, from, c0, c, ldc)         \
    (sizeof(real) == 4                                                                                       \
         ? nngen_host_gemm_f32(rows, cols, depth, (const float *)(a), a_row, a_step, (const float *)(b),     \
                               b_row, b_col, from, (const float *)(c0), (float *)(c), ldc)                   \
         : nngen_host_gemm_f64(rows, cols, depth, (const double *)(a), a_row, a_step, (const double *)(b),   \
                               b_row, b_col, from, (const double *)(c0), (double *)(c), ldc))
#endif

#if NNGEN_FAST
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------------
 * Worker threads. The thread count is $NNGEN_THREADS, else the online cores, unless set by
 * nngen_set_threads; the calling thread works too, so the pool holds count − 1 workers, started on the
 * first parallel call and kept until the library is unloaded.
 * nngen_parallel(jobs) publishes the jobs' tasks cut into one share per thread (thread t of T: tasks
 * n·t/T .. n·(t+1)/T − 1 of n); each thread claims its own share's tasks from the front, one at a time,
 * then takes what is left of the other shares from their backs, and the call returns when every task
 * has finished. A task writes its own part of the output, computed in a fixed order, and nothing else:
 * the results never depend on the thread count or on which thread ran which task. But with shares, a
 * thread tends to run the same part of every call's work (the same column panels of a layer's forward,
 * weight gradient and update), so it finds in its own cache what it wrote there in the call before,
 * instead of fetching it from another core's (W1 on 2 threads: 1.10× the steps/s of one shared counter,
 * bench/README.md). A worker that is late (descheduled, asleep) finds its share taken by the others.
 * Idle workers spin for a while, then sleep on a condition variable; a parallel call takes the lock only
 * when a thread sleeps. */
#define NNGEN_MAX_THREADS 64
#define NNGEN_SPINS       20000 /* pauses an idle thread spins (about 0.5 ms on Zen 5) before it sleeps */

/* Tasks 0 .. tasks−1 of one kind: run(context, t) does task t. `small`: too little work (under
 * NNGEN_PARALLEL_WORK multiply-adds) to be worth waking other threads. `whole` (0: none): the same work
 * cut into fewer, larger tasks for a single thread, run(context, tasks + w) for w = 0 .. whole − 1 (a
 * GEMM's panels at full height: each B block packed once instead of once per row range). Either way
 * every output element is computed by the same operations in the same order. */
typedef struct {
    void (*run)(void *context, int task);
    void *context;
    int tasks;
    int small;
    int whole;
} nngen_job;
#ifndef NNGEN_PARALLEL_WORK
#define NNGEN_PARALLEL_WORK 262144
#endif

/* The jobs of one parallel call. */
typedef struct {
    const nngen_job *jobs;
    int count;
    unsigned tasks; /* of all jobs */
} nngen_batch;

/* One thread's share of a parallel call's tasks: generation << 40 | next task << 20 | end (the generation
 * modulo 2^24; a claim made with another generation fails). Its own thread claims `next`, the others
 * `end − 1`. On a cache line of its own. */
#define NNGEN_SHARE_TASKS (1u << 20) /* more tasks than this in one call: the call runs on one thread */
typedef struct {
    uint64_t range __attribute__((aligned(64)));
} nngen_share;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers wait here for a new generation */
    pthread_cond_t done; /* the caller waits here for the last task */
    pthread_t workers[NNGEN_MAX_THREADS];
    int threads;         /* of the running pool, the caller included; 0 or 1: no workers */
    int wanted;          /* threads the next call uses; 0 until decided (NNGEN_THREADS, then cores) */
    int busy;            /* 1 while a call owns the pool */
    int stop;            /* asks the workers to exit */
    unsigned generation; /* of the latest parallel call */
    unsigned first;      /* the generation when the running pool started */
    nngen_share shares[NNGEN_MAX_THREADS];
    unsigned finished;      /* tasks of the current generation done */
    int sleepers;           /* workers blocked on `wake` */
    int caller_waiting;     /* the caller is blocked on `done` */
    nngen_batch batches[2]; /* generation g's jobs are batches[g & 1] */
} nngen_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

static inline void nngen_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline unsigned nngen_generation(void) {
    return __atomic_load_n(&nngen_pool.generation, __ATOMIC_ACQUIRE);
}

/* Claims a task of generation g from `share`: its next one (own share) or its last one; −1 when the share
 * is empty or belongs to another generation. */
static inline int nngen_claim(nngen_share *share, unsigned g, int own) {
    uint64_t range = __atomic_load_n(&share->range, __ATOMIC_ACQUIRE), claimed;
    unsigned next, end;
    do {
        next = (unsigned)(range >> 20) & (NNGEN_SHARE_TASKS - 1);
        end = (unsigned)range & (NNGEN_SHARE_TASKS - 1);
        if ((unsigned)(range >> 40) != (g & 0xffffffu) || next >= end) return -1;
        claimed = own ? range + NNGEN_SHARE_TASKS : range - 1;
    } while (
        !__atomic_compare_exchange_n(&share->range, &range, claimed, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return (int)(own ? next : end - 1);
}

/* Thread `self` runs tasks of generation g, its own share's first, then the others', until none is left
 * (or a newer generation started). */
static inline void nngen_work(unsigned g, int self) {
    const nngen_batch *batch = &nngen_pool.batches[g & 1];
    const int threads = nngen_pool.threads;
    for (int k = 0; k < threads; k++) {
        const int owner = (self + k) % threads;
        int task;
        while ((task = nngen_claim(&nngen_pool.shares[owner], g, owner == self)) >= 0) {
            /* Claimed: generation g cannot finish before this task, so its batch stays as it is. */
            const unsigned tasks = batch->tasks;
            int j = 0;
            while (task >= batch->jobs[j].tasks) task -= batch->jobs[j++].tasks;
            batch->jobs[j].run(batch->jobs[j].context, task);
            if (__atomic_add_fetch(&nngen_pool.finished, 1, __ATOMIC_SEQ_CST) == tasks &&
                __atomic_load_n(&nngen_pool.caller_waiting, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&nngen_pool.lock);
                pthread_cond_signal(&nngen_pool.done);
                pthread_mutex_unlock(&nngen_pool.lock);
            }
        }
    }
}

static void *nngen_worker(void *argument) {
    const int self = (int)(uintptr_t)argument; /* 1 .. threads − 1 */
    unsigned seen = nngen_pool.first;          /* the generation when the pool started */
    for (;;) {
        unsigned now = seen;
        for (int spin = 0; spin < NNGEN_SPINS && (now = nngen_generation()) == seen; spin++) nngen_pause();
        if (now == seen) {
            pthread_mutex_lock(&nngen_pool.lock);
            __atomic_add_fetch(&nngen_pool.sleepers, 1, __ATOMIC_SEQ_CST);
            while ((now = __atomic_load_n(&nngen_pool.generation, __ATOMIC_SEQ_CST)) == seen)
                pthread_cond_wait(&nngen_pool.wake, &nngen_pool.lock);
            __atomic_sub_fetch(&nngen_pool.sleepers, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&nngen_pool.lock);
        }
        seen = now;
        if (__atomic_load_n(&nngen_pool.stop, __ATOMIC_ACQUIRE)) return NULL;
        nngen_work(seen, self);
    }
}

/* Starts generation g + 1 with `batch` (fewer than NNGEN_SHARE_TASKS tasks, none claimed) cut into the
 * running threads' shares, and wakes sleeping workers. */
static inline unsigned nngen_publish(nngen_batch batch) {
    const unsigned g = nngen_generation() + 1;
    nngen_batch *slot = &nngen_pool.batches[g & 1];
    slot->jobs = batch.jobs;
    slot->count = batch.count;
    __atomic_store_n(&slot->tasks, batch.tasks, __ATOMIC_RELAXED);
    __atomic_store_n(&nngen_pool.finished, 0, __ATOMIC_RELAXED);
    const int threads = nngen_pool.threads > 1 ? nngen_pool.threads : 1;
    for (int t = 0; t < threads; t++) {
        const uint64_t next = (uint64_t)batch.tasks * (uint64_t)t / (uint64_t)threads;
        const uint64_t end = (uint64_t)batch.tasks * (uint64_t)(t + 1) / (uint64_t)threads;
        /* (release: a worker whose claim reads this word sees the batch above, even one that missed the
         * generation's store and claims with a tag 2^24 generations old) */
        __atomic_store_n(&nngen_pool.shares[t].range, (uint64_t)(g & 0xffffffu) << 40 | next << 20 | end,
                         __ATOMIC_RELEASE);
    }
    __atomic_store_n(&nngen_pool.generation, g, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&nngen_pool.sleepers, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&nngen_pool.lock);
        pthread_cond_broadcast(&nngen_pool.wake);
        pthread_mutex_unlock(&nngen_pool.lock);
    }
    return g;
}

/* Ends the workers (between calls only). Also runs when the library is unloaded (dlclose, exit). */
__attribute__((destructor)) static void nngen_pool_stop(void) {
    if (nngen_pool.threads <= 1) return;
    __atomic_store_n(&nngen_pool.stop, 1, __ATOMIC_SEQ_CST);
    nngen_publish((nngen_batch){NULL, 0, 0});
    pthread_mutex_lock(&nngen_pool.lock); /* wake workers that were about to sleep, too */
    pthread_cond_broadcast(&nngen_pool.wake);
    pthread_mutex_unlock(&nngen_pool.lock);
    for (int i = 1; i < nngen_pool.threads; i++) pthread_join(nngen_pool.workers[i], NULL);
    nngen_pool.threads = 0;
    nngen_pool.stop = 0;
}

/* A forked child has none of the parent's workers: it starts a new pool when it needs one. Whatever those
 * workers held is reset too: the lock, the condition variables they waited on (glibc's broadcast would wait
 * for them forever), their count, and a call in progress on another thread of the parent. */
static void nngen_pool_forget(void) {
    nngen_pool.threads = 0;
    pthread_mutex_init(&nngen_pool.lock, NULL);
    pthread_cond_init(&nngen_pool.wake, NULL);
    pthread_cond_init(&nngen_pool.done, NULL);
    nngen_pool.sleepers = 0;
    nngen_pool.caller_waiting = 0;
    nngen_pool.busy = 0;
}

static inline void nngen_pool_start(int threads) {
    static int registered;
    if (!registered) registered = pthread_atfork(NULL, NULL, nngen_pool_forget) == 0;
    nngen_pool.first = nngen_generation();
    int started = 1;
    while (started < threads &&
           pthread_create(&nngen_pool.workers[started], NULL, nngen_worker, (void *)(uintptr_t)started) == 0)
        started++;
    nngen_pool.threads = started;
    if (started < threads)
        nngen_pool.wanted = started; /* what the system gave: keep it, do not retry each call */
}

/* The thread count when nobody chose one: $NNGEN_THREADS, else the online cores. */
static inline int nngen_default_threads(void) {
    const char *text = getenv("NNGEN_THREADS");
    long threads = text ? strtol(text, NULL, 10) : 0;
    if (threads <= 0) threads = sysconf(_SC_NPROCESSORS_ONLN);
    return threads < 1 ? 1 : threads > NNGEN_MAX_THREADS ? NNGEN_MAX_THREADS : (int)threads;
}

/* Sets the threads later calls use (≤ 0: the default); returns the count now in effect. Call it between
 * steps, not while another thread runs the model. */
static inline int nngen_set_threads(int threads) {
    while (__atomic_exchange_n(&nngen_pool.busy, 1, __ATOMIC_ACQUIRE)) nngen_pause();
    const int wanted = threads <= 0                  ? nngen_default_threads()
                       : threads > NNGEN_MAX_THREADS ? NNGEN_MAX_THREADS
                                                     : threads;
    if (nngen_pool.threads > 1 && nngen_pool.threads != wanted) nngen_pool_stop();
    nngen_pool.wanted = wanted;
    __atomic_store_n(&nngen_pool.busy, 0, __ATOMIC_RELEASE);
    return wanted;
}

/* Runs every job on the calling thread alone, in its `whole` tasks where it has them. */
static inline void nngen_serial(const nngen_job *jobs, int count) {
    for (int j = 0; j < count; j++) {
        const int first = jobs[j].whole > 0 ? jobs[j].tasks : 0;
        const int tasks = jobs[j].whole > 0 ? jobs[j].whole : jobs[j].tasks;
        for (int t = 0; t < tasks; t++) jobs[j].run(jobs[j].context, first + t);
    }
}

/* Runs every task of `jobs` on the pool's threads, the caller's included, and returns when all have
 * finished. A call made while another thread owns the pool runs everything on the calling thread. */
static inline void nngen_parallel(const nngen_job *jobs, int count) {
    nngen_batch batch = {jobs, count, 0};
    for (int j = 0; j < count; j++) batch.tasks += (unsigned)jobs[j].tasks;
    if (__atomic_exchange_n(&nngen_pool.busy, 1, __ATOMIC_ACQUIRE)) {
        nngen_serial(jobs, count);
        return;
    }
    if (!nngen_pool.wanted) nngen_pool.wanted = nngen_default_threads();
    if (nngen_pool.wanted > 1 && nngen_pool.threads != nngen_pool.wanted) nngen_pool_start(nngen_pool.wanted);
    int worth = 0; /* some job is big enough to share */
    for (int j = 0; j < count; j++) worth |= !jobs[j].small;
    if (nngen_pool.threads <= 1 || batch.tasks <= 1 || batch.tasks >= NNGEN_SHARE_TASKS || !worth) {
        nngen_serial(jobs, count);
    } else {
        nngen_work(nngen_publish(batch), 0);
        for (int spin = 0; spin < NNGEN_SPINS; spin++) {
            if (__atomic_load_n(&nngen_pool.finished, __ATOMIC_ACQUIRE) == batch.tasks) break;
            nngen_pause();
        }
        if (__atomic_load_n(&nngen_pool.finished, __ATOMIC_ACQUIRE) != batch.tasks) {
            pthread_mutex_lock(&nngen_pool.lock);
            __atomic_store_n(&nngen_pool.caller_waiting, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&nngen_pool.finished, __ATOMIC_SEQ_CST) != batch.tasks)
                pthread_cond_wait(&nngen_pool.done, &nngen_pool.lock);
            __atomic_store_n(&nngen_pool.caller_waiting, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&nngen_pool.lock);
        }
    }
    __atomic_store_n(&nngen_pool.busy, 0, __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------------------------------------------
 * GEMM tiles:  C = C0 + A·B  with C (rows, cols), A (rows, depth), B (depth, cols), addressed through
 * strides so that one routine serves x·W, xᵀ·dout and dout·Wᵀ without copying the operands:
 *   A(i, k) = a[i·a_row + k·a_step]     B(k, j) = b[k·b_row + j·b_col]     C(i, j) = c[i·ldc + j]
 *   C0(i, j) = c0[j] (the bias, fused into the first store), or 0 when c0 is NULL.
 * Every C(i, j) is C0 + A(i,0)·B(0,j) + A(i,1)·B(1,j) + ... added left to right: the order of the
 * scalar loops, so the result is the scalar path's bit for bit.
 *
 * Blocking (BLIS-like, sized from the static shapes by the caller):
 *   - C is cut into panels of `nr` vectors (nr·NNGEN_LANES columns) and each panel into `chunks` ranges
 *     of rows; one task = one (panel, row range).
 *   - A task walks the depth in blocks of NNGEN_GEMM_KC(nr): it copies B(kblock, panel) into a
 *     contiguous, zero-padded buffer on its stack (fits L1, read once per row tile), then runs the
 *     register tile over its rows `mr` at a time. A task of few row tiles whose B rows already hold
 *     the full panel contiguously reads B in place instead (NNGEN_GEMM_DIRECT_TILES).
 *   - The register tile keeps mr × nr vectors of C in registers; per k it loads nr vectors of B,
 *     broadcasts mr values of A and does mr·nr vector multiply-adds. Edge tiles (fewer rows, fewer
 *     columns) compute on clamped rows and zero padding and store only the real elements. */
#if defined(__AVX512F__)
#define NNGEN_VECTOR_BYTES 64
#define NNGEN_REGISTERS    32
#elif defined(__AVX__)
#define NNGEN_VECTOR_BYTES 32
#define NNGEN_REGISTERS    16
#elif defined(__aarch64__)
#define NNGEN_VECTOR_BYTES 16
#define NNGEN_REGISTERS    32
#else
#define NNGEN_VECTOR_BYTES 16
#define NNGEN_REGISTERS    16
#endif
#define NNGEN_LANES (NNGEN_VECTOR_BYTES / (int)sizeof(real))
typedef real nngen_vec __attribute__((vector_size(NNGEN_VECTOR_BYTES)));

/* NNGEN_TILE_4X3 is 1 on x86 with 256-bit AVX vectors and 16 registers (AVX2 without AVX-512): the 4 × 3
 * register tile of nngen_gemm_4x3 below. */
#if defined(__AVX__) && !defined(__AVX512F__) && (defined(__x86_64__) || defined(__i386__))
#define NNGEN_TILE_4X3 1
#else
#define NNGEN_TILE_4X3 0
#endif

/* Tile shape for an output of `rows` × `cols`: nr vectors wide (up to NNGEN_GEMM_NR_MAX), mr rows (as
 * many as keep three quarters of the vector registers for accumulators, at most 16 and at most `rows`).
 * Per k the tile loads nr vectors of B, broadcasts mr values of A and does mr·nr fused multiply-adds.
 * With 32 registers (AVX-512, NEON) an 8 × 3 tile (24 accumulators + 3 B + 1 A). With 16 (AVX2) the 4 × 3
 * tile of nngen_gemm_4x3 (12 + 3 + 1: 4 broadcasts and 3 loads per 12 products), where its panels of 3
 * vectors cut the columns well, else 6 × 2 (12 + 2 + 1). SSE (16 registers of 128 bits) keeps 6 × 2. */
#define NNGEN_GEMM_NR_MAX (NNGEN_REGISTERS >= 32 || NNGEN_TILE_4X3 ? 3 : 2)
/* The 4 × 3 tile only where its panels of 3 vectors cut the columns well: a multiple of 3 vectors, or at
 * least 12 (a narrower last panel then costs under a twelfth); 32 or 64 columns keep the 6 × 2 tile. */
#define NNGEN_GEMM_VECTORS(cols) (((cols) + NNGEN_LANES - 1) / NNGEN_LANES)
#define NNGEN_GEMM_THREE(cols)                                                                               \
    (NNGEN_GEMM_VECTORS(cols) >= 3 &&                                                                        \
     (!NNGEN_TILE_4X3 || NNGEN_GEMM_VECTORS(cols) % 3 == 0 || NNGEN_GEMM_VECTORS(cols) >= 12))
#define NNGEN_GEMM_NR(cols)                                                                                  \
    (NNGEN_GEMM_NR_MAX >= 3 && NNGEN_GEMM_THREE(cols) ? 3 : (cols) > NNGEN_LANES ? 2 : 1)
#define NNGEN_GEMM_MR_FIT(cols)   (NNGEN_REGISTERS * 3 / 4 / NNGEN_GEMM_NR(cols))
#define NNGEN_GEMM_MR_MAX(cols)   (NNGEN_GEMM_MR_FIT(cols) < 16 ? NNGEN_GEMM_MR_FIT(cols) : 16)
#define NNGEN_GEMM_MR(rows, cols) ((rows) < NNGEN_GEMM_MR_MAX(cols) ? (rows) : NNGEN_GEMM_MR_MAX(cols))
/* Depth block: the packed B block (kc × nr vectors) takes NNGEN_PANEL_BYTES of the L1 data cache. The
 * runtime's -march=native builds define NNGEN_L1D_BYTES as the OS reports it; else 32 KiB is assumed.
 * 32 KiB blocks with AVX-512 and a 48 KiB L1 (W1's fc1 forward, depth 784 in 5 blocks instead of 7: 6%
 * faster on an Intel Xeon of family 6 model 207), else 24 KiB (the AVX2 path measured the same either
 * way; a 32 KiB block would fill a 32 KiB L1). */
#ifndef NNGEN_L1D_BYTES
#define NNGEN_L1D_BYTES 32768
#endif
#if defined(__AVX512F__) && NNGEN_L1D_BYTES >= 49152
#define NNGEN_PANEL_BYTES 32768
#else
#define NNGEN_PANEL_BYTES 24576
#endif
#define NNGEN_GEMM_KC(nr) (NNGEN_PANEL_BYTES / ((nr)*NNGEN_VECTOR_BYTES))
/* Row ranges per panel: enough tasks (about 16) to share among threads, at least 2·mr rows each. */
#define NNGEN_GEMM_WIDTH(cols)  (NNGEN_GEMM_NR(cols) * NNGEN_LANES)
#define NNGEN_GEMM_PANELS(cols) (((cols) + NNGEN_GEMM_WIDTH(cols) - 1) / NNGEN_GEMM_WIDTH(cols))
#define NNGEN_GEMM_CHUNKS_MAX(rows, cols)                                                                    \
    (((rows) + 2 * NNGEN_GEMM_MR(rows, cols) - 1) / (2 * NNGEN_GEMM_MR(rows, cols)))
#define NNGEN_GEMM_CHUNKS_WANTED(cols) ((16 + NNGEN_GEMM_PANELS(cols) - 1) / NNGEN_GEMM_PANELS(cols))
#define NNGEN_GEMM_CHUNKS(rows, cols)                                                                        \
    (NNGEN_GEMM_CHUNKS_WANTED(cols) < NNGEN_GEMM_CHUNKS_MAX(rows, cols) ? NNGEN_GEMM_CHUNKS_WANTED(cols)     \
                                                                        : NNGEN_GEMM_CHUNKS_MAX(rows, cols))
#define NNGEN_GEMM_TASKS(rows, cols) (NNGEN_GEMM_PANELS(cols) * NNGEN_GEMM_CHUNKS(rows, cols))

/* One task of a GEMM with the tile shape of its output, and the job of all its tasks. */
#define NNGEN_GEMM(rows, cols, depth, a, a_row, a_step, b, b_row, b_col, c0, c, ldc, task)                   \
    nngen_gemm_task(NNGEN_GEMM_MR(rows, cols), NNGEN_GEMM_NR(cols), NNGEN_GEMM_CHUNKS(rows, cols), rows,     \
                    cols, depth, a, a_row, a_step, b, b_row, b_col, c0, c, ldc, task)
/* The same with C starting as `from` says (NNGEN_FROM_C: the products are added onto what C holds). */
#define NNGEN_GEMM_FROM(from, rows, cols, depth, a, a_row, a_step, b, b_row, b_col, c0, c, ldc, task)        \
    nngen_gemm_task_ex(NNGEN_GEMM_MR(rows, cols), NNGEN_GEMM_NR(cols), NNGEN_GEMM_CHUNKS(rows, cols), rows,  \
                       cols, depth, a, a_row, a_step, b, b_row, b_col, from, c0, c, ldc, task)
#define NNGEN_GEMM_JOB(run, context, rows, cols, depth)                                                      \
    ((nngen_job){run, context, NNGEN_GEMM_TASKS(rows, cols),                                                 \
                 (double)(rows) * (cols) * (depth) < NNGEN_PARALLEL_WORK,                                    \
                 NNGEN_GEMM_CHUNKS(rows, cols) > 1 ? NNGEN_GEMM_PANELS(cols) : 0})

#define NNGEN_INLINE static inline __attribute__((always_inline))

/* x in every lane. (x − 0 is x for every x, −0 included, and compiles to a broadcast.) */
NNGEN_INLINE nngen_vec nngen_splat(real x) { return x - (nngen_vec){0}; }

/* c + a·b in every lane, rounded once (NNGEN_MADD's vector form): the CPU's FMA instruction (AVX-512,
 * AVX2 with FMA, NEON), else fmaf/fma lane by lane (correct, but slow: build with -march=native or -mfma
 * on x86 CPUs that have FMA). */
#if defined(__AVX512F__) || (defined(__AVX__) && defined(__FMA__))
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif
NNGEN_INLINE nngen_vec nngen_fmadd(nngen_vec a, nngen_vec b, nngen_vec c) {
#if defined(__AVX512F__)
    if (sizeof(real) == 4) return (nngen_vec)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
    return (nngen_vec)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
#elif defined(__AVX__) && defined(__FMA__)
    if (sizeof(real) == 4) return (nngen_vec)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
    return (nngen_vec)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
#elif defined(__aarch64__)
    if (sizeof(real) == 4) return (nngen_vec)vfmaq_f32((float32x4_t)c, (float32x4_t)a, (float32x4_t)b);
    return (nngen_vec)vfmaq_f64((float64x2_t)c, (float64x2_t)a, (float64x2_t)b);
#else
    for (int l = 0; l < NNGEN_LANES; l++) c[l] = NNGEN_MADD(a[l], b[l], c[l]);
    return c;
#endif
}

/* The first n elements at p (all of them when n ≥ NNGEN_LANES), zeros after. */
NNGEN_INLINE nngen_vec nngen_load_part(const real *p, int n) {
    nngen_vec v = {0};
    if (n >= NNGEN_LANES)
        memcpy(&v, p, sizeof v);
    else
        for (int l = 0; l < NNGEN_LANES; l++)
            if (l < n) v[l] = p[l];
    return v;
}

/* Stores the first n elements of v (all when n ≥ NNGEN_LANES). */
NNGEN_INLINE void nngen_store_part(real *p, nngen_vec v, int n) {
    if (n >= NNGEN_LANES)
        memcpy(p, &v, sizeof v);
    else
        for (int l = 0; l < NNGEN_LANES; l++)
            if (l < n) p[l] = v[l];
}

#if defined(__AVX512F__) || (defined(__AVX__) && defined(__FMA__))
#define NNGEN_PACK_8X8 1
/* Rows 0..7 of pack (stride apart), 8 floats each, = the transpose of the 8 × 8 block at b whose rows
 * are b_col apart: pack[k·stride + j] = b[j·b_col + k]. Eight loads, the usual AVX transpose (unpack pairs
 * of rows, shuffle pairs of pairs, swap 128-bit halves), eight stores: about a third of an instruction per
 * element where an element-by-element copy takes two. */
NNGEN_INLINE void nngen_pack_8x8(float *pack, const long stride, const float *b, const long b_col) {
    __m256 r[8], t[8], s[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(b + i * b_col);
    /* t[i], t[i + 1]: rows i and i + 1 interleaved (r[i][0], r[i+1][0], r[i][1], r[i+1][1], ... per half) */
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    /* s[i + c]: element c (c + 4 in the upper half) of rows i .. i + 3 */
    for (int i = 0; i < 8; i += 4) {
        s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) { /* column c: rows 0..3 from s[c], rows 4..7 from s[c + 4] */
        _mm256_storeu_ps(pack + c * stride, _mm256_permute2f128_ps(s[c], s[c + 4], 0x20));
        _mm256_storeu_ps(pack + (c + 4) * stride, _mm256_permute2f128_ps(s[c], s[c + 4], 0x31));
    }
}
#else
#define NNGEN_PACK_8X8 0
#endif

/* dst = srcᵀ: dst[j·ld_dst + i] = src[i·ld_src + j] for i < rows, j < cols (a GEMM's transposed B panels,
 * and conv's doutᵀ).
 * Floats go through 8 × 8 blocks transposed in registers (nngen_pack_8x8) where the ISA has them; the
 * edges, and doubles, element by element. A copy: the same values whichever way. */
NNGEN_MAYBE_UNUSED NNGEN_INLINE void nngen_transpose(real *dst, const long ld_dst, const real *src,
                                                     const long ld_src, const int rows, const int cols) {
    /* (rows from i0 on are copied element by element; counting i0 up in the block loop instead made
     * GCC 12 at -O3 report out-of-bounds iterations of the edge loop that are never reached) */
    const int i0 = NNGEN_PACK_8X8 && sizeof(real) == 4 ? rows / 8 * 8 : 0;
#if NNGEN_PACK_8X8
    if (sizeof(real) == 4)
        for (int b = 0; b < i0; b += 8) {
            int j = 0;
            for (; j + 8 <= cols; j += 8)
                nngen_pack_8x8((float *)dst + j * ld_dst + b, ld_dst, (const float *)src + b * ld_src + j,
                               ld_src);
            for (; j < cols; j++)
                for (int i = b; i < b + 8; i++) dst[j * ld_dst + i] = src[i * ld_src + j];
        }
#endif
    for (int j = 0; j < cols; j++)
        for (int i = i0; i < rows; i++) dst[j * ld_dst + i] = src[i * ld_src + j];
}

/* Copies B(0..kc, 0..width) into pack as kc rows of nr vectors, zero-padded beyond width. */
NNGEN_INLINE void nngen_pack_b(const int nr, real *pack, const real *b, const long b_row, const long b_col,
                               const int kc, const int width) {
    const int stride = nr * NNGEN_LANES;
    /* Rows of B a vector at a time: an element loop of runtime length would become `rep movs`, whose
     * start-up costs more than copying these 16- to 48-element rows. */
    if (b_col == 1) {
        for (int k = 0; k < kc; k++)
            for (int v = 0; v < nr; v++) {
                const nngen_vec row =
                    nngen_load_part(b + k * b_row + v * NNGEN_LANES, width - v * NNGEN_LANES);
                memcpy(pack + k * stride + v * NNGEN_LANES, &row, sizeof row);
            }
    } else { /* B is a transposed matrix: each of its columns read contiguously (b_row == 1) */
        if (b_row == 1)
            nngen_transpose(pack, stride, b, b_col, width, kc);
        else
            for (int j = 0; j < width; j++)
                for (int k = 0; k < kc; k++) pack[k * stride + j] = b[j * b_col + k * b_row];
        for (int k = 0; k < kc; k++)
            for (int j = width; j < stride; j++) pack[k * stride + j] = 0;
    }
}

#if defined(__AVX512F__)
#define NNGEN_STRIDE2 1
/* Every second element, for conv's rows with a stride of 2 (element by element, each of them a load and a
 * store, such rows cost im2col and col2im most of their time). x's elements 0, 2, ..., 2·(n − 1) with
 * n ≤ NNGEN_LANES lie in two vectors: masked loads read exactly the elements 0 .. 2n − 2 (the masked-off
 * lanes are neither read nor able to fault), a permutation picks the even lanes, a masked store writes n.
 *   nngen_gather2:      r[i] = x[2i]          for i < n
 * and for conv's col2im, which sums each row of dx in registers with its even and odd elements apart:
 *   nngen_load_range:   lane l = p[l] for a ≤ l < b, −0 in the other lanes (x + −0 is x for every x, −0
 *                       included: adding the vector changes only lanes a .. b − 1); only those are read
 *   nngen_store_pairs:  d[2i] = even[i], d[2i + 1] = odd[i] for the first n elements of d (n ≤ 2·lanes) */
NNGEN_MAYBE_UNUSED NNGEN_INLINE void nngen_gather2(real *r, const real *x, const int n) {
    const int m = 2 * n - 1; /* elements of x read */
    if (sizeof(real) == 4) {
        const __mmask16 lo = m >= 16 ? 0xFFFF : (__mmask16)((1u << m) - 1);
        const __mmask16 hi = m > 16 ? (__mmask16)((1u << (m - 16)) - 1) : 0;
        const __m512 a = _mm512_maskz_loadu_ps(lo, x), b = _mm512_maskz_loadu_ps(hi, (const float *)x + 16);
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        _mm512_mask_storeu_ps(r, n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1),
                              _mm512_permutex2var_ps(a, even, b));
    } else {
        const __mmask8 lo = m >= 8 ? 0xFF : (__mmask8)((1u << m) - 1);
        const __mmask8 hi = m > 8 ? (__mmask8)((1u << (m - 8)) - 1) : 0;
        const __m512d a = _mm512_maskz_loadu_pd(lo, x), b = _mm512_maskz_loadu_pd(hi, (const double *)x + 8);
        const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
        _mm512_mask_storeu_pd(r, n >= 8 ? 0xFF : (__mmask8)((1u << n) - 1),
                              _mm512_permutex2var_pd(a, even, b));
    }
}

NNGEN_MAYBE_UNUSED NNGEN_INLINE nngen_vec nngen_load_range(const real *p, const int a, const int b) {
    if (sizeof(real) == 4) {
        const unsigned below_b = b >= 16 ? 0xFFFFu : (1u << b) - 1;
        const __mmask16 m = (__mmask16)(below_b & ~((1u << a) - 1));
        return (nngen_vec)_mm512_mask_loadu_ps(_mm512_set1_ps(-0.0f), m, p);
    } else {
        const unsigned below_b = b >= 8 ? 0xFFu : (1u << b) - 1;
        const __mmask8 m = (__mmask8)(below_b & ~((1u << a) - 1));
        return (nngen_vec)_mm512_mask_loadu_pd(_mm512_set1_pd(-0.0), m, p);
    }
}

NNGEN_MAYBE_UNUSED NNGEN_INLINE void nngen_store_pairs(real *d, const nngen_vec even, const nngen_vec odd,
                                                       const int n) {
    if (sizeof(real) == 4) {
        const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        _mm512_mask_storeu_ps(d, n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1),
                              _mm512_permutex2var_ps((__m512)even, lo, (__m512)odd));
        if (n > 16)
            _mm512_mask_storeu_ps((float *)d + 16, n >= 32 ? 0xFFFF : (__mmask16)((1u << (n - 16)) - 1),
                                  _mm512_permutex2var_ps((__m512)even, hi, (__m512)odd));
    } else {
        const __m512i lo = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11);
        const __m512i hi = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
        _mm512_mask_storeu_pd(d, n >= 8 ? 0xFF : (__mmask8)((1u << n) - 1),
                              _mm512_permutex2var_pd((__m512d)even, lo, (__m512d)odd));
        if (n > 8)
            _mm512_mask_storeu_pd((double *)d + 8, n >= 16 ? 0xFF : (__mmask8)((1u << (n - 8)) - 1),
                                  _mm512_permutex2var_pd((__m512d)even, hi, (__m512d)odd));
    }
}
#elif defined(__AVX2__) && defined(__FMA__)
#define NNGEN_STRIDE2   1
/* The same with AVX2 (no mask registers): masks are vectors of all-ones lanes, and vmaskmov reads and
 * writes only those; 8 floats or 4 doubles a vector. */
/* 32-bit lanes a ≤ i < b, and 64-bit lanes likewise; nngen_mask32(k) and nngen_mask64(k): lanes i < k */
NNGEN_MAYBE_UNUSED NNGEN_INLINE __m256i nngen_range32(const int a, const int b) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(a), lane),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(b), lane));
}
NNGEN_MAYBE_UNUSED NNGEN_INLINE __m256i nngen_range64(const int a, const int b) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x(a), lane),
                               _mm256_cmpgt_epi64(_mm256_set1_epi64x(b), lane));
}
#define nngen_mask32(k) nngen_range32(0, k)
#define nngen_mask64(k) nngen_range64(0, k)

NNGEN_MAYBE_UNUSED NNGEN_INLINE void nngen_gather2(real *r, const real *x, const int n) {
    const int m = 2 * n - 1; /* elements of x read */
    if (sizeof(real) == 4) {
        const __m256 a = _mm256_maskload_ps((const float *)x, nngen_mask32(m));
        const __m256 b = _mm256_maskload_ps((const float *)x + 8, nngen_mask32(m - 8));
        const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6); /* into the lower half */
        const __m256 v =
            _mm256_permute2f128_ps(_mm256_permutevar8x32_ps(a, even), _mm256_permutevar8x32_ps(b, even),
                                   0x20); /* a's even lanes, then b's */
        _mm256_maskstore_ps((float *)r, nngen_mask32(n), v);
    } else {
        const __m256d a = _mm256_maskload_pd((const double *)x, nngen_mask64(m));
        const __m256d b = _mm256_maskload_pd((const double *)x + 4, nngen_mask64(m - 4));
        const __m256d v =
            _mm256_permute2f128_pd(_mm256_permute4x64_pd(a, 0x08), _mm256_permute4x64_pd(b, 0x08), 0x20);
        _mm256_maskstore_pd((double *)r, nngen_mask64(n), v);
    }
}

NNGEN_MAYBE_UNUSED NNGEN_INLINE nngen_vec nngen_load_range(const real *p, const int a, const int b) {
    if (sizeof(real) == 4) {
        const __m256i m = nngen_range32(a, b);
        return (nngen_vec)_mm256_blendv_ps(_mm256_set1_ps(-0.0f), _mm256_maskload_ps((const float *)p, m),
                                           _mm256_castsi256_ps(m));
    } else {
        const __m256i m = nngen_range64(a, b);
        return (nngen_vec)_mm256_blendv_pd(_mm256_set1_pd(-0.0), _mm256_maskload_pd((const double *)p, m),
                                           _mm256_castsi256_pd(m));
    }
}

NNGEN_MAYBE_UNUSED NNGEN_INLINE void nngen_store_pairs(real *d, const nngen_vec even, const nngen_vec odd,
                                                       const int n) {
    if (sizeof(real) == 4) { /* unpack: e0 o0 e1 o1 | e4 o4 e5 o5 and e2 o2 e3 o3 | e6 o6 e7 o7 */
        const __m256 lo = _mm256_unpacklo_ps((__m256)even, (__m256)odd);
        const __m256 hi = _mm256_unpackhi_ps((__m256)even, (__m256)odd);
        _mm256_maskstore_ps((float *)d, nngen_mask32(n), _mm256_permute2f128_ps(lo, hi, 0x20));
        if (n > 8)
            _mm256_maskstore_ps((float *)d + 8, nngen_mask32(n - 8), _mm256_permute2f128_ps(lo, hi, 0x31));
    } else { /* e0 o0 | e2 o2 and e1 o1 | e3 o3 */
        const __m256d lo = _mm256_unpacklo_pd((__m256d)even, (__m256d)odd);
        const __m256d hi = _mm256_unpackhi_pd((__m256d)even, (__m256d)odd);
        _mm256_maskstore_pd((double *)d, nngen_mask64(n), _mm256_permute2f128_pd(lo, hi, 0x20));
        if (n > 4)
            _mm256_maskstore_pd((double *)d + 4, nngen_mask64(n - 4), _mm256_permute2f128_pd(lo, hi, 0x31));
    }
}
#else
#define NNGEN_STRIDE2 0
#endif

#if NNGEN_TILE_4X3
/* The k loop of a full 4-row, 3-vector tile (see NNGEN_TILE_4X3): acc[r][v] += A(r, k)·B(k, v) for k = 0
 * .. kc − 1, in order, with the twelve accumulators in named variables so that they stay in registers
 * (12 + 3 B + 1 A: all 16). Row r of A is row[r], its k-th value row[r][k·a_step]; B's row k is pack +
 * k·pack_row, or with a window (goff not NULL, see nngen_gemm_tile) pack + goff[k / kw] + (k % kw)·kstep. */
NNGEN_INLINE void nngen_gemm_4x3(const int kc, const real *const row[16], const long a_step, const real *pack,
                                 const long pack_row, const int *goff, const int kw, const long kstep,
                                 nngen_vec acc[16][3]) {
    nngen_vec c00 = acc[0][0], c01 = acc[0][1], c02 = acc[0][2];
    nngen_vec c10 = acc[1][0], c11 = acc[1][1], c12 = acc[1][2];
    nngen_vec c20 = acc[2][0], c21 = acc[2][1], c22 = acc[2][2];
    nngen_vec c30 = acc[3][0], c31 = acc[3][1], c32 = acc[3][2];
    const real *const r0 = row[0], *const r1 = row[1], *const r2 = row[2], *const r3 = row[3];
/* one row of the tile at depth k: three products with the row's broadcast A value */
#define NNGEN_ROW3(r, x0, x1, x2)                                                                            \
    do {                                                                                                     \
        const nngen_vec ak = nngen_splat(r[k * a_step]);                                                     \
        x0 = nngen_fmadd(ak, b0, x0);                                                                        \
        x1 = nngen_fmadd(ak, b1, x1);                                                                        \
        x2 = nngen_fmadd(ak, b2, x2);                                                                        \
    } while (0)
/* the whole tile at depth k, B's row at bp */
#define NNGEN_STEP4X3(bp)                                                                                    \
    do {                                                                                                     \
        nngen_vec b0, b1, b2;                                                                                \
        memcpy(&b0, bp, sizeof b0);                                                                          \
        memcpy(&b1, bp + NNGEN_LANES, sizeof b1);                                                            \
        memcpy(&b2, bp + 2 * NNGEN_LANES, sizeof b2);                                                        \
        NNGEN_ROW3(r0, c00, c01, c02);                                                                       \
        NNGEN_ROW3(r1, c10, c11, c12);                                                                       \
        NNGEN_ROW3(r2, c20, c21, c22);                                                                       \
        NNGEN_ROW3(r3, c30, c31, c32);                                                                       \
    } while (0)
    if (goff)
        for (int g = 0; g < kc / kw; g++) {
            const real *const bg = pack + goff[g];
            NNGEN_UNROLL for (int x = 0; x < kw; x++) {
                const int k = g * kw + x;
                NNGEN_STEP4X3(bg + x * kstep);
            }
        }
    else {
#pragma GCC unroll 2
        for (int k = 0; k < kc; k++) NNGEN_STEP4X3(pack + k * pack_row);
    }
#undef NNGEN_STEP4X3
#undef NNGEN_ROW3
    acc[0][0] = c00, acc[0][1] = c01, acc[0][2] = c02;
    acc[1][0] = c10, acc[1][1] = c11, acc[1][2] = c12;
    acc[2][0] = c20, acc[2][1] = c21, acc[2][2] = c22;
    acc[3][0] = c30, acc[3][1] = c31, acc[3][2] = c32;
}
#endif /* NNGEN_TILE_4X3 */

/* The register tile: C(0..mr, 0..width) = start + A(0..mr, 0..kc)·B, B's row k being nr vectors at
 * pack + k·pack_row (the packed block, or B itself), where start is `start` (one
 * vector per column block), else row_start[r] in every lane of row r, else C itself (both NULL).
 * `tile_rows` (≥ mr) and nr are compile-time constants, so the accumulators stay in registers; rows
 * from mr on repeat row mr − 1 and are not stored.
 * With a window (goff not NULL; kc a multiple of kw): B's row k = g·kw + x is at pack + goff[g] + x·kstep,
 * conv's forward reading a padded image in place of its im2col matrix (templates/conv.c, WINDOW). */
NNGEN_INLINE void nngen_gemm_tile(const int tile_rows, const int nr, const int mr, const int kc,
                                  const real *a, const long a_row, const long a_step, const real *pack,
                                  const long pack_row, const int *goff, const int kw, const long kstep,
                                  const nngen_vec *start, const real *row_start, real *c, const long ldc,
                                  const int width) {
    nngen_vec acc[16][3];
    const real *row[16];
    for (int r = 0; r < tile_rows; r++) row[r] = a + (r < mr ? r : mr - 1) * a_row;
    for (int r = 0; r < tile_rows; r++)
        for (int v = 0; v < nr; v++) {
            const int lanes = r < mr ? width - v * NNGEN_LANES : 0; /* rows past mr: not read, not stored */
            acc[r][v] = start       ? start[v]
                        : row_start ? nngen_splat(row_start[r < mr ? r : mr - 1])
                                    : nngen_load_part(c + r * ldc + v * NNGEN_LANES, lanes);
        }
#if NNGEN_TILE_4X3
    if (nr == 3 && tile_rows == 4)
        nngen_gemm_4x3(kc, row, a_step, pack, pack_row, goff, kw, kstep, acc);
    else
#endif
        if (goff) {
        for (int g = 0; g < kc / kw; g++) {
            NNGEN_UNROLL for (int x = 0; x < kw; x++) {
                const int k = g * kw + x;
                const real *const bp = pack + goff[g] + x * kstep;
                nngen_vec bk[3];
                for (int v = 0; v < nr; v++) memcpy(&bk[v], bp + v * NNGEN_LANES, sizeof bk[v]);
                for (int r = 0; r < tile_rows; r++) {
                    const nngen_vec ak = nngen_splat(row[r][k * a_step]);
                    for (int v = 0; v < nr; v++) acc[r][v] = nngen_fmadd(ak, bk[v], acc[r][v]);
                }
            }
        }
    } else
        for (int k = 0; k < kc; k++) {
            nngen_vec bk[3];
            for (int v = 0; v < nr; v++) memcpy(&bk[v], pack + k * pack_row + v * NNGEN_LANES, sizeof bk[v]);
            for (int r = 0; r < tile_rows; r++) {
                const nngen_vec ak = nngen_splat(row[r][k * a_step]);
                for (int v = 0; v < nr; v++) acc[r][v] = nngen_fmadd(ak, bk[v], acc[r][v]);
            }
        }
    for (int r = 0; r < tile_rows;
         r++) /* (not r < mr: the compiler then sees that every stored row was set) */
        for (int v = 0; v < nr; v++)
            if (r < mr) nngen_store_part(c + r * ldc + v * NNGEN_LANES, acc[r][v], width - v * NNGEN_LANES);
}

/* Tasks of at most this many row tiles read B in place (see nngen_gemm_panel). */
#define NNGEN_GEMM_DIRECT_TILES 4

/* Rows i0 .. i1 of the columns j0 .. j0 + width (width ≤ nr vectors) of a GEMM: the depth in blocks of
 * NNGEN_GEMM_KC(nr), each B block packed once and run through the register tile mr rows at a time. */
NNGEN_INLINE void nngen_gemm_panel(const int mr, const int nr, const int i0, const int i1, const int depth,
                                   const real *a, const long a_row, const long a_step, const real *b,
                                   const long b_row, const long b_col, const int from, const real *c0,
                                   real *c, const long ldc, const int j0, const int width) {
    real pack[NNGEN_PANEL_BYTES / sizeof(real)] __attribute__((aligned(64)));
    nngen_vec start[3];
    /* The depth in equal blocks of at most NNGEN_GEMM_KC(nr): 784 = 4 × 196, not 3 × 256 + 16 (a block of
     * 16 costs each tile almost as much set-up as one of 256) */
    const int blocks = (depth + NNGEN_GEMM_KC(nr) - 1) / NNGEN_GEMM_KC(nr);
    const int kc_max = blocks > 1 ? (depth + blocks - 1) / blocks : NNGEN_GEMM_KC(nr);
    /* Packing B costs a copy of the block for every task; it pays when many row tiles reuse the copy.
     * A task of a few tiles over B rows that already hold the whole panel contiguously reads them in
     * place (conv's forward: a handful of filters over im2col rows), and so does any task when B's rows
     * are the panel and nothing else, back to back (the pack would be the same bytes: conv's dW product
     * over doutᵀ of 32 filters with AVX-512). The sums are the same either way. */
    const int direct = b_col == 1 && width == nr * NNGEN_LANES &&
                       (i1 - i0 <= NNGEN_GEMM_DIRECT_TILES * mr || b_row == nr * NNGEN_LANES);
    for (int v = 0; v < nr; v++)
        start[v] = from == NNGEN_FROM_ROW && c0
                       ? nngen_load_part(c0 + j0 + v * NNGEN_LANES, width - v * NNGEN_LANES)
                       : (nngen_vec){0};
    int k0 = 0;
    do { /* at least once: with depth 0, C = C0 */
        const int kc = depth - k0 < kc_max ? depth - k0 : kc_max;
        const real *bk = pack;
        long bk_row = nr * NNGEN_LANES;
        if (direct) { /* B's rows hold the panel as it is: the tiles read them in place */
            bk = b + k0 * b_row + j0;
            bk_row = b_row;
        } else
            nngen_pack_b(nr, pack, b + k0 * b_row + j0 * b_col, b_row, b_col, kc, width);
        const real *ak = a + k0 * a_step;
        const nngen_vec *first = k0 == 0 && from == NNGEN_FROM_ROW ? start : NULL;
        const real *first_rows = k0 == 0 && from == NNGEN_FROM_COLUMN ? c0 : NULL;
        int i = i0;
        for (; i + mr <= i1; i += mr) /* full tiles, then the rest of the rows */
            nngen_gemm_tile(mr, nr, mr, kc, ak + i * a_row, a_row, a_step, bk, bk_row, NULL, 1, 0, first,
                            first_rows ? first_rows + i : NULL, c + i * ldc + j0, ldc, width);
        if (i < i1)
            nngen_gemm_tile(mr, nr, i1 - i, kc, ak + i * a_row, a_row, a_step, bk, bk_row, NULL, 1, 0, first,
                            first_rows ? first_rows + i : NULL, c + i * ldc + j0, ldc, width);
        k0 += kc;
    } while (k0 < depth);
}

/* One task of a GEMM (see above): panel task / chunks, row range task % chunks, with C starting as
 * `from` says; task panels · chunks + p is panel p at full height (nngen_job's `whole`, one thread).
 * Inlined into a layer's task function with its constant shapes and strides.
 * A last panel narrower than nr vectors costs as much as a full one (49 columns would take two
 * 48-column panels); when that wastes more than a sixteenth of the work, it runs with a narrower tile
 * (only then: each tile shape is more code to compile). W1's fc2, 256 columns = 5 panels of 48 + 16:
 * the padded last panel wasted a ninth of its forward; its 1-vector tile made the forward 7–15% faster
 * (Intel Xeon, family 6 model 207) for 11% more gcc time on W1. */
NNGEN_INLINE void nngen_gemm_task_ex(const int mr, const int nr, const int chunks, const int rows,
                                     const int cols, const int depth, const real *a, const long a_row,
                                     const long a_step, const real *b, const long b_row, const long b_col,
                                     const int from, const real *c0, real *c, const long ldc,
                                     const int task) {
    const int panels = (cols + nr * NNGEN_LANES - 1) / (nr * NNGEN_LANES);
    const int whole = task >= panels * chunks;
    const int panel = whole ? task - panels * chunks : task / chunks, chunk = task % chunks;
    const int tiles = (rows + mr - 1) / mr;
    const int i0 = whole ? 0 : tiles * chunk / chunks * mr;
    const int end = tiles * (chunk + 1) / chunks * mr;
    const int i1 = whole || end > rows ? rows : end;
    const int j0 = panel * nr * NNGEN_LANES;
    const int width = cols - j0 < nr * NNGEN_LANES ? cols - j0 : nr * NNGEN_LANES;
    const int last_vectors = (cols - (panels - 1) * nr * NNGEN_LANES + NNGEN_LANES - 1) / NNGEN_LANES;
    const int narrow = panel == panels - 1 && (nr - last_vectors) * 16 > panels * nr;
    if (narrow && last_vectors == 1)
        nngen_gemm_panel(mr, 1, i0, i1, depth, a, a_row, a_step, b, b_row, b_col, from, c0, c, ldc, j0,
                         width);
    else if (narrow && last_vectors == 2)
        nngen_gemm_panel(mr, 2, i0, i1, depth, a, a_row, a_step, b, b_row, b_col, from, c0, c, ldc, j0,
                         width);
    else
        nngen_gemm_panel(mr, nr, i0, i1, depth, a, a_row, a_step, b, b_row, b_col, from, c0, c, ldc, j0,
                         width);
}

/* The GEMM task with C0 along the row (c0[j]) or 0 (c0 NULL). */
NNGEN_INLINE void nngen_gemm_task(const int mr, const int nr, const int chunks, const int rows,
                                  const int cols, const int depth, const real *a, const long a_row,
                                  const long a_step, const real *b, const long b_row, const long b_col,
                                  const real *c0, real *c, const long ldc, const int task) {
    nngen_gemm_task_ex(mr, nr, chunks, rows, cols, depth, a, a_row, a_step, b, b_row, b_col, NNGEN_FROM_ROW,
                       c0, c, ldc, task);
}

/* ---------------------------------------------------------------------------------------------------
 * Elementwise layers on the pool: nngen_ranges(count, cost, range, context) runs range(context, lo, hi)
 * over [0, count) cut into NNGEN_RANGES ranges of whole 64-byte lines (two tasks never write one line),
 * range `task` = [nngen_range(count, task), nngen_range(count, task + 1)). Under NNGEN_RANGE_SMALL
 * elements × `cost` (1 for a load, an add and a store; more for a call of exp or erf per element) the
 * tensor stays on the calling thread: 512 KiB of float32 memory traffic is too short to be worth another
 * thread. Each element is computed on its own, so the split changes no bit. */
#define NNGEN_RANGES      8
#define NNGEN_RANGE_SMALL 131072
static inline long nngen_range(long count, int task) {
    const long line = 64 / (long)sizeof(real), lines = (count + line - 1) / line;
    const long i = lines * task / NNGEN_RANGES * line;
    return i < count ? i : count;
}

typedef struct {
    void (*range)(void *context, long lo, long hi);
    void *context;
    long count;
} nngen_ranges_call;

static inline void nngen_ranges_task(void *context, int task) {
    const nngen_ranges_call *r = context;
    r->range(r->context, nngen_range(r->count, task), nngen_range(r->count, task + 1));
}

static inline void nngen_ranges(long count, double cost, void (*range)(void *context, long lo, long hi),
                                void *context) {
    nngen_ranges_call r = {range, context, count};
    const nngen_job job = {nngen_ranges_task, &r, NNGEN_RANGES, (double)count * cost < NNGEN_RANGE_SMALL, 0};
    nngen_parallel(&job, 1);
}
#endif /* NNGEN_FAST */

#if !NNGEN_FAST
/* The scalar path runs on the calling thread only. */
static inline int nngen_set_threads(int threads) {
    (void)threads;
    return 1;
}

/* Elementwise layers: range(context, 0, count) in one call (see the fast path's nngen_ranges). */
static inline void nngen_ranges(long count, double cost, void (*range)(void *context, long lo, long hi),
                                void *context) {
    (void)cost;
    range(context, 0, count);
}
#endif

/* What the ranges of a one-input layer without parameters read and write (elementwise activations, max
 * and average pooling's planes): out and x forward; dx, dout and x or out backward. */
typedef struct {
    real *out;
    const real *x, *dout;
    real *dx;
} nngen_unary;

/* What the ranges of a normalization layer (layernorm, groupnorm) read and write: its block of memory
 * (parameters, saved statistics, output), x, and backward dout and dx. */
typedef struct {
    real *mem;
    const real *x, *dout;
    real *dx;
} nngen_norm_call;

/* Sums in double by NNGEN_SUM_LANES lanes: value i of a run of values goes to lane i mod NNGEN_SUM_LANES
 * (each lane adds its values in order), and nngen_lanes_total adds the lanes pairwise at the end. The
 * normalization layers' statistics and gradient sums take this order, which a vector unit needs (one
 * chain of dependent adds in double costs 4 cycles a value); the fast path keeps the lanes in vector
 * registers, the scalar path in an array, and both give the same bits. */
#define NNGEN_SUM_LANES 16
#if NNGEN_FAST /* inlined where called, so that the tests of a NULL w or mask are made there once */
#define NNGEN_LANES_FUNCTION NNGEN_MAYBE_UNUSED static inline __attribute__((always_inline))
#else
#define NNGEN_LANES_FUNCTION NNGEN_MAYBE_UNUSED static inline
#endif

/* The total of the lanes, added pairwise: lanes[l] += lanes[l + w] for w = 8, 4, 2, 1. */
NNGEN_MAYBE_UNUSED static inline double nngen_lanes_total(double *lanes) {
    for (int w = NNGEN_SUM_LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) lanes[l] += lanes[l + w];
    return lanes[0];
}

#if NNGEN_FAST
/* NNGEN_DOUBLES doubles as one vector of the target's width; the lanes are NNGEN_SUM_VECTORS of them (a
 * vector type wider than the registers would live on the stack, each add waiting for the last one's store). */
#define NNGEN_DOUBLES     (NNGEN_VECTOR_BYTES / 8)
#define NNGEN_SUM_VECTORS (NNGEN_SUM_LANES / NNGEN_DOUBLES)
typedef double nngen_dvec __attribute__((vector_size(NNGEN_VECTOR_BYTES)));
typedef real nngen_dvec_real __attribute__((vector_size(NNGEN_DOUBLES * sizeof(real))));

/* The NNGEN_DOUBLES reals at p, as doubles. (GCC tuned for 256-bit vectors, as -march=native is on AVX-512
 * CPUs, widens 8 floats to 8 doubles in 4-lane halves and reassembles them: 4 instructions for one.) */
NNGEN_INLINE nngen_dvec nngen_widen(const real *p) {
    nngen_dvec wide;
#if defined(__AVX512F__)
    if (sizeof(real) == 4) {
        const __m512d converted = _mm512_cvtps_pd(_mm256_loadu_ps((const float *)p));
        memcpy(&wide, &converted, sizeof wide);
        return wide;
    }
#endif
    nngen_dvec_real narrow;
    memcpy(&narrow, p, sizeof narrow);
    wide = __builtin_convertvector(narrow, nngen_dvec);
    return wide;
}
#endif

/* lanes[i mod NNGEN_SUM_LANES] += x[i], or (x[i] − shift)² when `squares`, for i < count. */
NNGEN_LANES_FUNCTION void nngen_lanes_add(const real *x, long count, int squares, double shift,
                                          double *lanes) {
    long i = 0;
#if NNGEN_FAST
    nngen_dvec acc[NNGEN_SUM_VECTORS];
    memcpy(acc, lanes, sizeof acc);
    for (; i + NNGEN_SUM_LANES <= count; i += NNGEN_SUM_LANES)
        for (int j = 0; j < NNGEN_SUM_VECTORS; j++) {
            const nngen_dvec v = nngen_widen(x + i + j * NNGEN_DOUBLES);
            if (squares) {
                const nngen_dvec d = v - shift;
                acc[j] += d * d;
            } else
                acc[j] += v;
        }
    memcpy(lanes, acc, sizeof acc);
#endif
    for (; i < count; i++) {
        const double d = squares ? x[i] - shift : x[i];
        lanes[i % NNGEN_SUM_LANES] += squares ? d * d : d;
    }
}

/* A normalization layer's two gradient sums over a run of values, by lanes: with a = g[i]·w[i] (the product
 * in real; w NULL: the constant `weight`), g[i] taken as 0 where mask[i] > 0 does not hold (a relu's output
 * applied to g: its backward; mask NULL: nowhere) and x̂ = (x[i] − mean)·invstd,
 *   lanes_a[l] += a,   lanes_b[l] += a·x̂   for i ≡ l (mod NNGEN_SUM_LANES), i < count. */
NNGEN_LANES_FUNCTION void nngen_lanes_gradient(const real *g, const real *w, real weight, const real *x,
                                               long count, double mean, double invstd, double *lanes_a,
                                               double *lanes_b, const real *mask) {
    long i = 0;
#if NNGEN_FAST
    nngen_dvec acc_a[NNGEN_SUM_VECTORS], acc_b[NNGEN_SUM_VECTORS];
    memcpy(acc_a, lanes_a, sizeof acc_a);
    memcpy(acc_b, lanes_b, sizeof acc_b);
    for (; i + NNGEN_SUM_LANES <= count; i += NNGEN_SUM_LANES)
        for (int j = 0; j < NNGEN_SUM_VECTORS; j++) {
            const long k = i + j * NNGEN_DOUBLES;
            nngen_dvec_real gv, wv;
            memcpy(&gv, g + k, sizeof gv);
            if (mask) { /* g's bits and-ed with all ones or all zeros: +0 where masked, as the scalar loop */
                nngen_dvec_real mv;
                memcpy(&mv, mask + k, sizeof mv);
                const __typeof__(mv > mv) keep = mv > (nngen_dvec_real){0};
                __typeof__(mv > mv) bits;
                memcpy(&bits, &gv, sizeof bits);
                bits &= keep;
                memcpy(&gv, &bits, sizeof gv);
            }
            if (w)
                memcpy(&wv, w + k, sizeof wv);
            else
                wv = weight - (nngen_dvec_real){0};
            const nngen_dvec_real product = gv * wv;
            const nngen_dvec a = nngen_widen((const real *)&product);
            acc_a[j] += a;
            acc_b[j] += a * (nngen_widen(x + k) - mean) * invstd;
        }
    memcpy(lanes_a, acc_a, sizeof acc_a);
    memcpy(lanes_b, acc_b, sizeof acc_b);
#endif
    for (; i < count; i++) {
        const real gi = mask && !(mask[i] > 0) ? 0 : g[i];
        const double a = gi * (w ? w[i] : weight);
        lanes_a[i % NNGEN_SUM_LANES] += a;
        lanes_b[i % NNGEN_SUM_LANES] += a * (x[i] - mean) * invstd;
    }
}

/* The mean of the `count` values at x and 1/sqrt(σ² + eps) for their biased variance
 * σ² = (1/count) Σ (x − mean)², each sum in double by lanes (above): a normalization layer's statistics. */
NNGEN_MAYBE_UNUSED static inline void nngen_moments(const real *x, long count, double eps, double *mean,
                                                    double *invstd) {
    double lanes[NNGEN_SUM_LANES] = {0};
    nngen_lanes_add(x, count, 0, 0, lanes);
    const double m = nngen_lanes_total(lanes) / count;
    for (int l = 0; l < NNGEN_SUM_LANES; l++) lanes[l] = 0;
    nngen_lanes_add(x, count, 1, m, lanes);
    *mean = m;
    *invstd = 1 / sqrt(nngen_lanes_total(lanes) / count + eps);
}

/* ---------------------------------------------------------------------------------------------------
 * Optimizer updates. Every element of the parameter tensors (offset, size pairs) is updated from its own
 * gradient and state alone, so the elements can be cut into pieces that run on any thread, in any order,
 * without changing a bit. nngen_update_all calls piece(context, offset, count) for pieces of at most
 * NNGEN_UPDATE_PIECE elements of each tensor: on the thread pool in the fast path (one thread below
 * NNGEN_UPDATE_PARALLEL elements in all), in order in the scalar path. Training builds only. */
#if NNGEN_BACKWARD
#define NNGEN_UPDATE_PIECE    16384
#define NNGEN_UPDATE_PARALLEL 65536

typedef struct {
    const long *ranges; /* offset, size of each tensor */
    int tensors;
    void (*piece)(void *context, long offset, long count);
    void *context;
} nngen_update_job;

/* Piece `task`: the pieces of tensor 0, then those of tensor 1, ... */
static inline void nngen_update_task(void *context, int task) {
    const nngen_update_job *u = context;
    for (int t = 0; t < u->tensors; t++) {
        const long size = u->ranges[2 * t + 1];
        const long pieces = (size + NNGEN_UPDATE_PIECE - 1) / NNGEN_UPDATE_PIECE;
        if (task < pieces) {
            const long start = (long)task * NNGEN_UPDATE_PIECE;
            const long count = size - start < NNGEN_UPDATE_PIECE ? size - start : NNGEN_UPDATE_PIECE;
            u->piece(u->context, u->ranges[2 * t] + start, count);
            return;
        }
        task -= (int)pieces;
    }
}

static inline void nngen_update_all(const long *ranges, int tensors, void (*piece)(void *, long, long),
                                    void *context) {
    nngen_update_job u = {ranges, tensors, piece, context};
    int tasks = 0;
    long total = 0;
    for (int t = 0; t < tensors; t++) {
        tasks += (int)((ranges[2 * t + 1] + NNGEN_UPDATE_PIECE - 1) / NNGEN_UPDATE_PIECE);
        total += ranges[2 * t + 1];
    }
#if NNGEN_FAST
    const nngen_job job = {nngen_update_task, &u, tasks, total < NNGEN_UPDATE_PARALLEL, 0};
    nngen_parallel(&job, 1);
#else
    (void)total;
    for (int task = 0; task < tasks; task++) nngen_update_task(&u, task);
#endif
}
#endif /* NNGEN_BACKWARD */

#endif /* NNGEN_H */
