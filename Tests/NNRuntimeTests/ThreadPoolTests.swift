// The generated code's thread pool (templates/nngen.h: nngen_parallel, its per-thread shares and the
// claims that take from other threads' shares), driven from C under ThreadSanitizer: every task of every
// call runs exactly once, whatever the thread count, the mix of jobs, calls from inside a task or a call
// with more tasks than a share can count.
import Foundation
import NNGen
import Testing

@Suite struct ThreadPoolTests {
    /// Makes parallel calls with pseudo-random jobs (1–3 per call, 1–700 tasks each, some marked small,
    /// tasks of uneven length, some calling nngen_parallel themselves) on 2, 3, 5 and 8 threads (more
    /// threads than cores: late and sleeping workers, stolen shares), counts each task's runs, and exits 1
    /// at the first task that did not run exactly once.
    static let source = """
        #include "nngen.h"
        #include <stdio.h>
        enum { JOBS = 3, MOST = 700 };
        static int runs[JOBS][MOST];
        static int inner_runs[8];
        static uint64_t state = 0x9E3779B97F4A7C15u;
        static unsigned next(unsigned bound) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            return (unsigned)(state >> 33) % bound;
        }
        static void inner(void *context, int task) { (void)context; __atomic_add_fetch(&inner_runs[task], 1, __ATOMIC_RELAXED); }
        static void work(void *context, int task) {
            const int job = (int)(intptr_t)context;
            volatile unsigned sink = 0;
            for (int i = 0; i < (task % 7) * 300; i++) sink += (unsigned)i; /* uneven tasks */
            if (job == 2 && task == 0) { /* a call from inside a task: runs on this thread */
                const nngen_job nested = {inner, NULL, 8, 0, 0};
                nngen_parallel(&nested, 1);
            }
            __atomic_add_fetch(&runs[job][task], 1, __ATOMIC_RELAXED);
        }
        static long big_runs;
        static void big(void *context, int task) { (void)context; (void)task; big_runs++; }
        int main(void) {
            static const int thread_counts[] = {2, 3, 5, 8};
            long calls = 0;
            for (int c = 0; c < 4; c++) {
                if (nngen_set_threads(thread_counts[c]) != thread_counts[c]) return 2;
                for (int call = 0; call < 1500; call++, calls++) {
                    nngen_job jobs[JOBS];
                    const int count = 1 + (int)next(JOBS);
                    for (int j = 0; j < count; j++)
                        jobs[j] = (nngen_job){work, (void *)(intptr_t)j, 1 + (int)next(MOST), next(8) == 0, 0};
                    nngen_parallel(jobs, count);
                    for (int j = 0; j < count; j++)
                        for (int t = 0; t < jobs[j].tasks; t++) {
                            if (runs[j][t] != 1) {
                                printf("threads %d, call %d: job %d task %d ran %d times\\n", thread_counts[c], call, j, t, runs[j][t]);
                                return 1;
                            }
                            runs[j][t] = 0;
                        }
                    for (int t = 0; t < 8; t++) {
                        if (count == JOBS && inner_runs[t] != 1) {
                            printf("threads %d, call %d: nested task %d ran %d times\\n", thread_counts[c], call, t, inner_runs[t]);
                            return 1;
                        }
                        inner_runs[t] = 0;
                    }
                }
            }
            /* more tasks than a share counts: the whole call on the calling thread */
            const nngen_job many = {big, NULL, (int)NNGEN_SHARE_TASKS + 5, 0, 0};
            nngen_parallel(&many, 1);
            if (big_runs != (long)NNGEN_SHARE_TASKS + 5) { printf("%ld runs of %ld tasks\\n", big_runs, (long)NNGEN_SHARE_TASKS + 5); return 1; }
            printf("ok: %ld calls\\n", calls);
            return 0;
        }
        """

    /// A child forked while the parent's workers sleep makes parallel calls of its own: it starts a pool of its
    /// own instead of waiting for the parent's workers (glibc's broadcast to their condition variable would
    /// wait for them forever), and the parent's pool goes on working.
    static let forkSource = """
        #include "nngen.h"
        #include <stdio.h>
        #include <sys/wait.h>
        #include <time.h>
        static int runs[64];
        static void work(void *context, int task) {
            (void)context;
            volatile unsigned sink = 0;
            for (int i = 0; i < 20000; i++) sink += (unsigned)i;
            __atomic_add_fetch(&runs[task], 1, __ATOMIC_RELAXED);
        }
        static int call(void) { /* 1: every task ran once */
            const nngen_job job = {work, NULL, 64, 0, 0};
            nngen_parallel(&job, 1);
            int good = 1;
            for (int t = 0; t < 64; t++) good &= runs[t] == 1, runs[t] = 0;
            return good;
        }
        int main(void) {
            nngen_set_threads(2);
            if (!call()) return 1;
            const struct timespec nap = {0, 200000000};
            nanosleep(&nap, NULL); /* longer than the spin: the worker sleeps on its condition variable */
            const pid_t child = fork();
            if (child == 0) {
                for (int i = 0; i < 200; i++) if (!call()) _exit(1);
                printf("child: 200 calls\\n");
                fflush(stdout);
                _exit(0);
            }
            int status = 0;
            if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
            if (!call()) return 1;
            printf("parent: ok\\n");
            return 0;
        }
        """

    /// Builds `source` with the embedded nngen.h by gcc (and `flags`) in a new directory, which `body` gets
    /// with the program's path; the directory is removed afterwards.
    static func withProgram(_ source: String, flags: [String] = [], _ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "nngen-pool-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TemplateLibrary.embedded.text("nngen.h").write(toFile: directory + "/nngen.h", atomically: true, encoding: .utf8)
        try source.write(toFile: directory + "/pool.c", atomically: true, encoding: .utf8)
        let build = GeneratedCTests.run(
            ["gcc", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-O1", "-g", "-Wall", "-Wextra", "-Werror"] + flags
                + ["-pthread", "-I", directory, directory + "/pool.c", "-o", directory + "/pool"])
        try #require(build.status == 0, "\(build.output)")
        try body(directory + "/pool")
    }

    @Test func aForkedChildStartsItsOwnPool() throws {
        try Self.withProgram(Self.forkSource) { program in
            let result = GeneratedCTests.run(["timeout", "60", program])
            #expect(result.status == 0, "exit \(result.status) (124: the child hung): \(result.output)")
            #expect(result.output.contains("child: 200 calls") && result.output.contains("parent: ok"), "\(result.output)")
        }
    }

    @Test func everyTaskRunsExactlyOnceUnderThreadSanitizer() throws {
        try Self.withProgram(Self.source, flags: ["-fsanitize=thread"]) { program in
            let result = GeneratedCTests.run(["timeout", "600", program], environment: ["TSAN_OPTIONS": "halt_on_error=1 exitcode=66"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("ok: 6000 calls"), "\(result.output)")
            #expect(!result.output.contains("ThreadSanitizer"), "\(result.output)")
        }
    }
}
