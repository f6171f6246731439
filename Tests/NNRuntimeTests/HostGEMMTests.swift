// The runtime's vector GEMM for libtcc builds (Sources/CNNGenHost): the scalar loops' sums, bit for bit.
import CNNGenHost
import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct HostGEMMTests {
    /// C, compiled by tcc with the host GEMM: `mismatches` fills A, B and C with pseudo-random values, runs
    /// the scalar loops of the templates (fma of each product into the running sum, k in order) and
    /// nngen_host_gemm_f32/_f64 on the same operands, and counts the elements whose bits differ.
    static let source = """
        #include <stdlib.h>
        #include <string.h>
        float fmaf(float, float, float);
        double fma(double, double, double);
        static unsigned long state = 88172645463325252ul;
        static double next(void) { /* xorshift64 in [-1, 1) */
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            return (double)(state >> 11) / 4503599627370496.0 - 1.0;
        }
        #define CHECK(T, FMA, HOST)                                                                           \\
            T *a = malloc(sizeof(T) * (rows * depth + 1)), *b = malloc(sizeof(T) * (depth * cols + 1));     \\
            T *c0 = malloc(sizeof(T) * (rows + cols + 1));                                                    \\
            T *want = malloc(sizeof(T) * (rows * cols + 1)), *got = malloc(sizeof(T) * (rows * cols + 1));  \\
            for (int i = 0; i < rows * depth; i++) a[i] = (T)next();                                          \\
            for (int i = 0; i < depth * cols; i++) b[i] = (T)next();                                          \\
            for (int i = 0; i < rows + cols; i++) c0[i] = (T)next();                                          \\
            for (int i = 0; i < rows * cols; i++) want[i] = got[i] = (T)next();                               \\
            const long b_row = transposed ? 1 : cols, b_col = transposed ? depth : 1;                         \
            const long a_row = transposed_a ? 1 : depth, a_step = transposed_a ? rows : 1;                    \\
            const T *start = from == 3 ? NULL : c0;                                                           \\
            const int mode = from == 3 ? 0 : from;                                                            \\
            for (int i = 0; i < rows; i++)                                                                    \\
                for (int j = 0; j < cols; j++) {                                                              \\
                    T s = mode == 0 ? (start ? start[j] : 0) : mode == 1 ? start[i] : want[i * cols + j];    \\
                    for (int k = 0; k < depth; k++) s = FMA(a[i * a_row + k * a_step], b[k * b_row + j * b_col], s); \\
                    want[i * cols + j] = s;                                                                   \\
                }                                                                                             \\
            HOST(rows, cols, depth, a, a_row, a_step, b, b_row, b_col, mode, start, got, cols);              \\
            int bad = 0;                                                                                      \\
            for (int i = 0; i < rows * cols; i++) bad += memcmp(&want[i], &got[i], sizeof(T)) != 0;           \\
            free(a), free(b), free(c0), free(want), free(got);                                                \\
            return bad;
        void nngen_host_gemm_f32(int, int, int, const float *, long, long, const float *, long, long, int,
                                 const float *, float *, long);
        void nngen_host_gemm_f64(int, int, int, const double *, long, long, const double *, long, long, int,
                                 const double *, double *, long);
        /* from: 0 C0 along the row, 1 along the column, 2 C itself, 3 from 0 (c0 NULL); transposed: B stored
         * (cols, depth); transposed_a: A stored (depth, rows) */
        int mismatches(int rows, int cols, int depth, int transposed, int from, int f64, int transposed_a) {
            if (f64) { CHECK(double, fma, nngen_host_gemm_f64) }
            CHECK(float, fmaf, nngen_host_gemm_f32)
        }
        """

    typealias Check = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Int32) -> Int32

    /// Every tile shape and tail of the kernels (4 × 2 vectors, 4 × 1, single rows, scalar columns) of each
    /// kernel this CPU can run (AVX-512, AVX2 + FMA, portable: `nngen_host_gemm_limit`), with each start
    /// of C, A and B in rows or transposed, and depth 0.
    @Test(.serialized, arguments: [2, 1, 0])
    func hostGEMMGivesTheScalarLoopsBits(widest: Int32) throws {
        let program = try TCCCompiler.compile(source: Self.source, fileName: "host_gemm_test.c", hostGEMM: true)
        let mismatches = try program.function("mismatches", as: Check.self)
        nngen_host_gemm_limit(widest)
        defer { nngen_host_gemm_limit(2) }
        var cases = 0
        for transposedA in [0, 1] {
            for rows in [1, 3, 4, 5, 9] {
                for cols in [1, 7, 8, 15, 16, 17, 33, 40] {
                    for depth in [0, 1, 5, 37] {
                        for transposed in [0, 1] {
                            for from in [0, 1, 2, 3] {
                                for f64 in [0, 1] {
                                    let bad = mismatches(
                                        Int32(rows), Int32(cols), Int32(depth), Int32(transposed), Int32(from), Int32(f64),
                                        Int32(transposedA))
                                    #expect(
                                        bad == 0,
                                        "widest \(widest) rows \(rows) cols \(cols) depth \(depth) transposed \(transposed)/\(transposedA) from \(from) f64 \(f64)"
                                    )
                                    cases += 1
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(cases == 5120)
    }

    /// Models whose tcc builds call the host GEMM: affine (forward, dW, dx = dout·Wᵀ from a transposed B)
    /// and conv (grouped with a bias, then without one and strided: forward, dW, dx through dcol).
    static let specs = [
        """
        model host
        input x [6, 19]
        affine fc1 out=37
        relu
        affine fc2 out=5
        loss softmax
        optimizer sgd lr=0.1 momentum=0.9
        """,
        """
        model host
        input x [3, 4, 7, 7]
        conv c1 filters=6 size=3 pad=1 groups=2
        relu
        conv c2 filters=5 size=3 stride=2 bias=false
        affine fc out=5
        loss softmax
        optimizer sgd lr=0.1 momentum=0.9
        """,
    ]

    /// A model's libtcc build calls the host GEMM (its text calls it only under NNGEN_HOST_GEMM), and the
    /// training bits do not depend on it: the same source compiled without it, scalar loops only, gives the
    /// same memory after two steps.
    @Test(arguments: specs)
    func modelBuildWithAndWithoutTheHostGEMMIsBitIdentical(spec: String) throws {
        let graph = try ShapeInference.load(spec, path: "host.spec")
        let model = try CompiledModel(graph: graph, backend: .tcc)
        // The runtime's own tcc build links the host GEMM in.
        let build = try Backend.tcc.compile(model.source, cc: CCOptions())
        #expect(build.program.symbol("nngen_host_gemm_f32") != nil)
        let driver = """

            int host_gemm_defined(void) {
            #ifdef NNGEN_HOST_GEMM
                return 1;
            #else
                return 0;
            #endif
            }
            int run_steps(float *mem, const float *x, const int *y) {
                if (host_init(mem, 1) != 0) return -1;
                for (int s = 0; s < 2; s++) host_train_step(mem, x, y, 0.1, s, 3);
                return 0;
            }
            """
        var rng = SplitMix64(seed: 4)
        let x = (0..<graph.inputShape.count).map { _ in Float(rng.normal()) }
        let y = (0..<graph.inputShape[0]).map { Int32($0 % 5) }
        var results: [[UInt32]] = []
        for host in [true, false] {
            let program = try TCCCompiler.compile(
                source: model.source.singleUnit + driver, fileName: "host.c", hostGEMM: host)
            let run = try program.function(
                "run_steps",
                as: (@convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Int32>) -> Int32)
                    .self)
            let defined = try program.function("host_gemm_defined", as: (@convention(c) () -> Int32).self)
            #expect(defined() == (host ? 1 : 0))
            var memory = [Float](repeating: 0, count: model.plan.total)
            #expect(run(&memory, x, y) == 0)
            results.append(memory.map(\.bitPattern))
        }
        #expect(results[0] == results[1])
        #expect(results[0].contains { $0 != 0 })
    }
}
