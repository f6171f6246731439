// Tests for TCCCompiler: compiling C in memory, calling it, and the errors a person sees when it fails.
import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct TCCCompilerTests {
    @Test func sumsADoubleArrayThroughAPointer() throws {
        let program = try TCCCompiler.compile(
            source: """
                double sum(const double *x, int n) {
                    double total = 0;
                    for (int i = 0; i < n; i++) total += x[i];
                    return total;
                }
                """)
        let sum = try program.function("sum", as: (@convention(c) (UnsafePointer<Double>, Int32) -> Double).self)
        let values: [Double] = [1, 2, 3, 4.5]
        #expect(sum(values, Int32(values.count)) == 10.5)
    }

    @Test func scalesAFloatArrayInPlace() throws {
        let program = try TCCCompiler.compile(
            source: "void scale(float *x, int n, float a) { for (int i = 0; i < n; i++) x[i] *= a; }")
        let scale = try program.function(
            "scale", as: (@convention(c) (UnsafeMutablePointer<Float>, Int32, Float) -> Void).self)
        var values: [Float] = [1, -2, 0.5]
        scale(&values, 3, 4)
        #expect(values == [4, -8, 2])
    }

    @Test func resolvesMathAndMemoryFunctionsWithoutMathH() throws {
        // Like generated code: <string.h> and <stdint.h>, math functions declared by hand, no <math.h>.
        let program = try TCCCompiler.compile(
            source: """
                #include <stdint.h>
                #include <string.h>
                float expf(float); float logf(float); double sqrt(double); double pow(double, double);
                void apply(float *out, const float *in, int64_t n) {
                    memset(out, 0, sizeof(float) * n);
                    for (int64_t i = 0; i < n; i++) out[i] = expf(in[i]) + logf(in[i]) + (float)sqrt(in[i]);
                    float copy[4];
                    memcpy(copy, out, sizeof copy);
                    out[0] = copy[0] + (float)pow(2.0, 3.0);
                }
                """)
        let apply = try program.function(
            "apply", as: (@convention(c) (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int64) -> Void).self)
        let input: [Float] = [1, 2, 3, 4]
        var output = [Float](repeating: .nan, count: 4)
        apply(&output, input, 4)
        var expected = input.map { Foundation.expf($0) + Foundation.logf($0) + Float(Foundation.sqrt(Double($0))) }
        expected[0] += 8
        for (got, want) in zip(output, expected) { #expect(abs(got - want) <= 1e-5 * abs(want)) }
    }

    @Test func syntaxErrorThrowsTccMessageWithLine() {
        let source = "int f(void) {\n    int x = 1;\n    return x\n}\n"
        let error = #expect(throws: Diagnostic.self) {
            try TCCCompiler.compile(source: source, fileName: "bad.c")
        }
        #expect(error?.location?.file == "bad.c")
        #expect(error?.location?.line == 4)  // tcc notices the missing ';' at the '}' on line 4
        #expect(error?.message.contains("';' expected") == true)
        #expect(error?.description.hasPrefix("bad.c:4:") == true)
    }

    @Test func lineDirectivesNameTemplatesInErrorsAndStaticFunctionsWork() throws {
        // Generated code: each template's text follows a #line naming the template file.
        let good = """
            #line 1 "templates/relu.c"
            static float relu(float x) { return x > 0 ? x : 0; }
            float relu_forward(float x) { return relu(x); }
            """
        let program = try TCCCompiler.compile(source: good)  // must outlive every call through `relu`
        let relu = try program.function("relu_forward", as: (@convention(c) (Float) -> Float).self)
        #expect(relu(-3) == 0 && relu(2.5) == 2.5)

        let bad = good + "\n#line 20 \"templates/affine.c\"\nstatic void affine(void) { undeclared_name = 1; }\n"
        let error = #expect(throws: Diagnostic.self) { try TCCCompiler.compile(source: bad) }
        #expect(error?.location?.file == "templates/affine.c")
        #expect(error?.location?.line == 20)
        #expect(error?.message.contains("undeclared_name") == true)
    }

    @Test func missingFunctionThrowsDiagnostic() throws {
        let program = try TCCCompiler.compile(source: "int present(void) { return 1; }")
        #expect(program.symbol("present") != nil)
        #expect(program.symbol("absent") == nil)
        let error = #expect(throws: Diagnostic.self) {
            try program.function("absent", as: (@convention(c) () -> Int32).self)
        }
        #expect(error?.message.contains("'absent'") == true)
    }

    @Test func undefinedExternalFunctionFailsAtLinking() {
        let source = "double no_such_function(double); double f(double x) { return no_such_function(x); }"
        let error = #expect(throws: Diagnostic.self) { try TCCCompiler.compile(source: source) }
        #expect(error?.message.contains("undefined symbol 'no_such_function'") == true)
    }

    @Test func warningsAreKeptOnSuccess() throws {
        let program = try TCCCompiler.compile(
            source: "int f(void) { return g(); }\nint g(void) { return 7; }", fileName: "warn.c")
        #expect(program.warnings.contains { $0.contains("warn.c:1: warning:") && $0.contains("'g'") })
    }

    @Test func optionsArePassedAndUnknownOnesRejected() throws {
        let program = try TCCCompiler.compile(source: "int n(void) { return N; }", options: "-DN=42 -Wall")
        #expect(try program.function("n", as: (@convention(c) () -> Int32).self)() == 42)
        // tcc would exit(1) on this one.
        #expect(throws: Diagnostic.self) { try TCCCompiler.compile(source: "", options: "-bogus") }
    }

    @Test func compilesConcurrentlyFromManyTasks() async throws {
        let results = try await withThrowingTaskGroup(of: (Int, Int32).self) { group in
            for task in 0..<8 {
                group.addTask {
                    var last: Int32 = 0
                    for round in 0..<6 {
                        let value = task * 100 + round
                        // Padding makes each compilation long enough for tasks to overlap.
                        let padding = (0..<40).map { "static int pad\($0)(int x) { return x * \($0) + \(value); }" }
                        let source = padding.joined(separator: "\n") + "\nint value(void) { return \(value); }"
                        let program = try TCCCompiler.compile(source: source)
                        last = try program.function("value", as: (@convention(c) () -> Int32).self)()
                        #expect(last == Int32(value))
                    }
                    return (task, last)
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 8)
        for (task, last) in results { #expect(last == Int32(task * 100 + 5)) }
    }

    @Test func programStaysCallableWhileOthersComeAndGo() throws {
        let program = try TCCCompiler.compile(
            source: "static int calls; int count(int step) { calls += step; return calls; }")
        let count = try program.function("count", as: (@convention(c) (Int32) -> Int32).self)
        #expect(count(1) == 1)
        for i in 0..<20 {
            let other = try TCCCompiler.compile(source: "int calls = \(i); int count(int step) { return -step; }")
            #expect(try other.function("count", as: (@convention(c) (Int32) -> Int32).self)(1) == -1)
        }  // each `other` is deleted here
        #expect(count(2) == 3)
    }

    @Test func runtimeDirectoryHoldsLibtcc1() throws {
        let directory = try TCCCompiler.runtimeDirectory()
        #expect(FileManager.default.fileExists(atPath: directory + "/libtcc1.a"))
    }
}
