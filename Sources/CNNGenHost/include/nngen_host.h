/* nngen_host.h — kernels the nngen runtime lends to the code libtcc compiles (tcc_add_symbol).
 *
 * tcc does not vectorize, so the generated scalar GEMM loops run one fmaf call per product (W1's training
 * step: about 0.37 s). When the runtime compiles a model with libtcc it defines NNGEN_HOST_GEMM and adds
 * these symbols; the templates' scalar path then calls them for its GEMMs. Each computes exactly the
 * scalar loops' sums: C(i, j) = start + A(i,0)·B(0,j) + A(i,1)·B(1,j) + ..., every product fused into the
 * running sum (fma) in order k = 0, 1, 2, ..., so the bits are the scalar path's and the cc build's;
 * only the number of elements per instruction changes (AVX-512, AVX2 + FMA, else scalar fma). */
#ifndef NNGEN_HOST_H
#define NNGEN_HOST_H

/* C = start + A·B with A(i, k) = a[i·a_row + k·a_step], B(k, j) = b[k·b_row + j·b_col],
 * C(i, j) = c[i·ldc + j]; start is c0[j] (from 0, c0 NULL: 0), c0[i] (from 1) or C(i, j) itself
 * (from 2): nngen.h's NNGEN_FROM_ROW, NNGEN_FROM_COLUMN, NNGEN_FROM_C. */
void nngen_host_gemm_f32(int rows, int cols, int depth, const float *a, long a_row, long a_step,
                         const float *b, long b_row, long b_col, int from, const float *c0, float *c,
                         long ldc);
void nngen_host_gemm_f64(int rows, int cols, int depth, const double *a, long a_row, long a_step,
                         const double *b, long b_row, long b_col, int from, const double *c0, double *c,
                         long ldc);

/* The widest kernels the functions above may use from now on: 2 (the default) AVX-512, 1 AVX2 + FMA, 0 the
 * portable one; each still runs only what the CPU has. Every kernel gives the same bits: this exists so
 * that a test can run each of them on one machine. Safe to call while other threads compute. */
void nngen_host_gemm_limit(int widest);

/* The address of nngen_host_gemm_f32 (float64 = 0) or nngen_host_gemm_f64 (float64 ≠ 0), for
 * tcc_add_symbol. */
const void *nngen_host_gemm_address(int float64);

#endif
