/* host_gemm.c — nngen_host_gemm_f32/_f64 (see include/nngen_host.h): a vector GEMM for the scalar path of
 * code compiled by libtcc inside the nngen runtime. gemm_kernel.inc is compiled once per element type and
 * ISA (AVX-512, AVX2 + FMA, and a portable version: NEON on aarch64, fma calls elsewhere); each call picks
 * what the CPU runs (__builtin_cpu_supports reads flags set once at load time). */
#include "nngen_host.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

/* nngen_host_gemm_limit's setting: 2 AVX-512, 1 AVX2 + FMA, 0 portable. */
static atomic_int nngen_widest = 2;

void nngen_host_gemm_limit(int widest) { atomic_store(&nngen_widest, widest); }

#define NNGEN_CAT_(a, b) a##b
#define NNGEN_CAT(a, b)  NNGEN_CAT_(a, b)

/* The start value of C(i, j) (see nngen_host.h), read where `from`, `c0`, `c` and `ldc` are in scope: the
 * kernels' scalar columns and the strided fallback of gemm_entry.inc. */
#define NNGEN_START(i, j) (from == 0 ? (c0 ? c0[j] : (T)0) : from == 1 ? c0[i] : c[(long)(i)*ldc + (j)])

typedef float nngen_f32x4 __attribute__((ext_vector_type(4)));
typedef double nngen_f64x2 __attribute__((ext_vector_type(2)));

#define T     float
#define FMA_S __builtin_fmaf
#define V     nngen_f32x4
#define LANES 4
#define TARGET
#define KERNEL nngen_gemm_f32_any
#include "gemm_kernel.inc"
#undef T
#undef FMA_S

#define T     double
#define FMA_S __builtin_fma
#define V     nngen_f64x2
#define LANES 2
#define TARGET
#define KERNEL nngen_gemm_f64_any
#include "gemm_kernel.inc"
#undef T
#undef FMA_S

#if defined(__x86_64__) || defined(__i386__)
typedef float nngen_f32x8 __attribute__((ext_vector_type(8)));
typedef float nngen_f32x16 __attribute__((ext_vector_type(16)));
typedef double nngen_f64x4 __attribute__((ext_vector_type(4)));
typedef double nngen_f64x8 __attribute__((ext_vector_type(8)));

#define T      float
#define FMA_S  __builtin_fmaf
#define V      nngen_f32x8
#define LANES  8
#define TARGET __attribute__((target("avx2,fma")))
#define KERNEL nngen_gemm_f32_avx2
#include "gemm_kernel.inc"
#define V      nngen_f32x16
#define LANES  16
#define TARGET __attribute__((target("avx512f")))
#define KERNEL nngen_gemm_f32_avx512
#include "gemm_kernel.inc"
#undef T
#undef FMA_S

#define T      double
#define FMA_S  __builtin_fma
#define V      nngen_f64x4
#define LANES  4
#define TARGET __attribute__((target("avx2,fma")))
#define KERNEL nngen_gemm_f64_avx2
#include "gemm_kernel.inc"
#define V      nngen_f64x8
#define LANES  8
#define TARGET __attribute__((target("avx512f")))
#define KERNEL nngen_gemm_f64_avx512
#include "gemm_kernel.inc"
#undef T
#undef FMA_S
#endif

/* The public functions (gemm_entry.inc): the kernel the CPU runs, picked on each call (a cached cpuid). */
#define T      float
#define FMA_S  __builtin_fmaf
#define SUFFIX f32
#include "gemm_entry.inc"

#define T      double
#define FMA_S  __builtin_fma
#define SUFFIX f64
#include "gemm_entry.inc"

const void *nngen_host_gemm_address(int float64) {
    return float64 ? (const void *)nngen_host_gemm_f64 : (const void *)nngen_host_gemm_f32;
}
