// Data-parallel training over MPI, through the nngen binary under `mpirun --oversubscribe -np 2` on
// localhost over TCP: equal to one process with the global batch, identical ranks, exact resume, run-to-run
// determinism, and a killed rank ending the job with the last checkpoint intact. Skipped, saying why,
// where Open MPI is not installed (.ci/run installs it).

import Foundation
import NNGen
import Testing

@testable import NNRuntime

/// Open MPI's launcher, where it is installed.
private let mpirunPath = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite(.serialized, .enabled(if: mpirunPath != nil, "mpirun not found: apt-get install openmpi-bin libopenmpi-dev"))
struct DataParallelTests {
    static let mpirun = mpirunPath

    /// A float64 MLP without batchnorm of batch `batch`; with `batchnorm`, one after the first affine, which
    /// then has no bias (its gradient would be 0 but for rounding), `sync=true` with `sync`.
    static func spec(batch: Int, batchnorm: Bool = false, sync: Bool = false) -> String {
        """
        model dp
        input x [\(batch), 2, 3, 3]
        dtype float64
        affine fc1 out=7\(batchnorm ? " bias=false" : "")
        \(batchnorm ? "batchnorm bn1" + (sync ? " sync=true" : "") : "")
        relu
        affine fc2 out=5
        loss softmax
        optimizer sgd lr=0.1 momentum=0.9 weight_decay=1e-4

        """
    }

    /// A folder with 40 float64 samples (`x.npy` [40, 2, 3, 3], `y.npy` [40]) and the specs.
    static func folder() throws -> String {
        let directory = try ImageFolder.make(prefix: "nngen-mpi", samples: 40, seed: 9) { ($0 * 7) % 5 }
        try spec(batch: 4).write(toFile: directory + "/b4.spec", atomically: true, encoding: .utf8)
        try spec(batch: 8).write(toFile: directory + "/b8.spec", atomically: true, encoding: .utf8)
        try spec(batch: 4, batchnorm: true).write(toFile: directory + "/bn4.spec", atomically: true, encoding: .utf8)
        try spec(batch: 4, batchnorm: true, sync: true).write(toFile: directory + "/sync4.spec", atomically: true, encoding: .utf8)
        try spec(batch: 8, batchnorm: true).write(toFile: directory + "/bn8.spec", atomically: true, encoding: .utf8)
        return directory
    }

    static func data(_ directory: String) -> [String] {
        ["--data", directory + "/x.npy", "--labels", directory + "/y.npy", "--backend", "tcc"]
    }

    /// Open MPI's launcher options of every run: 2 processes on a 2-core (or smaller) machine, TCP over
    /// the loopback interface, root allowed (CI runs as root).
    static let launcher = [
        "--oversubscribe", "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
    ]
    static let rootEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    /// Runs `mpirun <launcher> <program>` under a 120 s timeout: `program` is `-np K nngen ARGS` (or
    /// Open MPI's `A : B` form for different arguments per rank, each part starting with -np).
    static func run(_ program: [String]) throws -> (status: Int32, stderr: String, stdout: String) {
        let binary = try #require(CommandLineTests.binary, "nngen binary not found next to the tests")
        let launcherPath = try #require(mpirun)
        let arguments = program.map { $0 == "nngen" ? binary : $0 }
        return try HardeningTests.run(["120", launcherPath] + launcher + arguments, environment: rootEnvironment)
    }

    static func tensors(_ path: String) throws -> [String: [Double]] {
        Dictionary(uniqueKeysWithValues: try Safetensors.read(path: path).tensors.map { ($0.name, $0.tensor.doubles()) })
    }

    /// 2 ranks of batch 4 take the 5 steps of one epoch of 40 samples; one process of batch 8 takes the same
    /// 5 steps on the same samples (the shuffle depends on the seed alone, and with --flip the same images
    /// are flipped): equal parameters and momentum to 1e-12.
    @Test func twoRanksEqualOneProcessWithTheGlobalBatch() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ranks = try Self.run(
            ["-np", "2", "nngen", "train", directory + "/b4.spec", "--epochs", "1", "--flip", "--save", directory + "/two.ckpt"]
                + Self.data(directory))
        #expect(ranks.status == 0, "\(ranks.stderr)")
        #expect(ranks.stdout.contains("5 steps of 2 ranks × 4 per epoch"), "\(ranks.stdout)")
        #expect(ranks.stdout.contains("allreduce: "))
        // Rank 0 alone prints: one "training" line.
        #expect(ranks.stdout.components(separatedBy: "training dp:").count == 2, "\(ranks.stdout)")
        let single = try HardeningTests.nngen(
            ["train", directory + "/b8.spec", "--epochs", "1", "--flip", "--save", directory + "/one.ckpt"] + Self.data(directory))
        #expect(single.status == 0, "\(single.stderr)")
        let two = try Self.tensors(directory + "/two.ckpt")
        let one = try Self.tensors(directory + "/one.ckpt")
        #expect(Set(two.keys) == Set(one.keys))
        #expect(two.keys.contains("fc1.weight") && two.keys.contains("optimizer.0.fc1.weight"))
        var worst = 0.0
        for (name, values) in one {
            let other = try #require(two[name])
            for (a, b) in zip(values, other) { worst = max(worst, abs(a - b) / max(abs(a), 1e-300)) }
        }
        #expect(worst <= 1e-12, "worst relative difference \(worst)")
        // And not trivially: the parameters moved from their initialization.
        let initial = try HardeningTests.nngen(["init", directory + "/b8.spec", "-o", directory + "/init.safetensors"])
        #expect(initial.status == 0, "\(initial.stderr)")
        #expect(try Self.tensors(directory + "/init.safetensors")["fc1.weight"] != one["fc1.weight"])
    }

    /// `batchnorm sync=true` takes its statistics over the global batch (PyTorch's SyncBatchNorm): 2 ranks of
    /// batch 4 give the parameters, running statistics and momentum of one process of batch 8 with plain
    /// batchnorm, to 1e-12 (float64). Without sync they do not (each rank normalizes its own 4).
    @Test func syncBatchnormEqualsOneProcessWithTheGlobalBatch() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func worst(_ a: [String: [Double]], _ b: [String: [Double]]) -> Double {
            var worst = 0.0
            for (name, values) in a {
                guard let other = b[name], other.count == values.count else { return .infinity }
                for (x, y) in zip(values, other) { worst = max(worst, abs(x - y) / max(abs(x), 1e-300)) }
            }
            return worst
        }
        let single = try HardeningTests.nngen(
            ["train", directory + "/bn8.spec", "--epochs", "1", "--save", directory + "/one.ckpt"] + Self.data(directory))
        #expect(single.status == 0, "\(single.stderr)")
        let one = try Self.tensors(directory + "/one.ckpt")
        for (spec, synced) in [("sync4", true), ("bn4", false)] {
            let ranks = try Self.run(
                ["-np", "2", "nngen", "train", directory + "/\(spec).spec", "--epochs", "1", "--save", directory + "/\(spec).ckpt"]
                    + Self.data(directory))
            #expect(ranks.status == 0, "\(ranks.stderr)")
            let two = try Self.tensors(directory + "/\(spec).ckpt")
            #expect(Set(two.keys) == Set(one.keys))
            let difference = worst(one, two)
            if synced {
                #expect(difference <= 1e-12, "sync=true: worst relative difference \(difference)")
            } else {
                #expect(difference > 1e-6, "without sync the ranks' statistics are their own: \(difference)")
            }
        }
    }

    /// With batchnorm the ranks' batch statistics differ, but the ranks still hold the same parameters
    /// (checked by the run after each epoch); a resume after --stop-after continues bit for bit, and a
    /// second run gives the same bits.
    @Test func batchnormRanksAgreeResumeIsExactAndRunsRepeat() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let train = ["-np", "2", "nngen", "train", directory + "/bn4.spec", "--epochs", "3"] + Self.data(directory)
        let whole = try Self.run(train + ["--save", directory + "/whole.ckpt"])
        #expect(whole.status == 0, "\(whole.stderr)")
        let again = try Self.run(train + ["--save", directory + "/again.ckpt"])
        #expect(again.status == 0, "\(again.stderr)")
        let first = try Self.run(train + ["--stop-after", "1", "--save", directory + "/part.ckpt"])
        #expect(first.status == 0, "\(first.stderr)")
        let rest = try Self.run(train + ["--resume", directory + "/part.ckpt", "--save", directory + "/part.ckpt"])
        #expect(rest.status == 0, "\(rest.stderr)")
        let reference = try Self.tensors(directory + "/whole.ckpt")
        #expect(reference.keys.contains("bn1.running_mean"))
        #expect(try Self.tensors(directory + "/again.ckpt") == reference)
        #expect(try Self.tensors(directory + "/part.ckpt") == reference)
        // A checkpoint of 2 processes does not resume on 1.
        HardeningTests.expectError(
            try HardeningTests.nngen(
                ["train", directory + "/bn4.spec", "--epochs", "4", "--resume", directory + "/whole.ckpt"] + Self.data(directory)),
            "the checkpoint was trained by 2 processes; this run has 1", "resume on one process")
    }

    /// Ranks that diverge (here: another seed on rank 1, so another initialization and shuffle) are
    /// caught by the checksum after the first epoch: one clear error, every rank stops.
    @Test func ranksThatDifferAreAnError() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let common = ["train", directory + "/b4.spec", "--epochs", "2"] + Self.data(directory)
        let result = try Self.run(["-np", "1", "nngen"] + common + ["--seed", "0", ":", "-np", "1", "nngen"] + common + ["--seed", "1"])
        #expect(result.status != 0 && result.status != 124, "status \(result.status)")
        #expect(result.stderr.contains("after epoch 1 the ranks' parameters differ"), "\(result.stderr)")
    }

    /// A rank killed mid-run ends the whole job within seconds (no hang), and the checkpoint on disk is
    /// the last complete one.
    @Test func aKilledRankEndsTheJobAndKeepsTheCheckpoint() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = try #require(CommandLineTests.binary)
        let launcherPath = try #require(Self.mpirun)
        let checkpoint = directory + "/run.ckpt"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcherPath)
        process.arguments =
            Self.launcher + ["-np", "2", binary, "train", directory + "/bn4.spec", "--epochs", "1000000", "--save", checkpoint]
            + Self.data(directory)
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in Self.rootEnvironment { environment[key] = value }
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint), Date() < deadline, process.isRunning { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: checkpoint), "no checkpoint within 60 s")
        usleep(300_000)
        let rank1 = try #require(Self.processes(withArgument: checkpoint, rank: 1).first, "rank 1 not found")
        #expect(kill(rank1, SIGKILL) == 0)
        let killed = Date()
        while process.isRunning, Date().timeIntervalSince(killed) < 20 { usleep(50_000) }
        #expect(!process.isRunning, "the job still runs 20 s after a rank was killed")
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(stderr.contains("signal 9"), "\(stderr.prefix(2000))")
        // Rank 0 is gone too, and what it left is a whole checkpoint that resumes.
        #expect(Self.processes(withArgument: checkpoint, rank: 0).isEmpty)
        let graph = try ShapeInference.load(try readSpec(directory + "/bn4.spec"), path: directory + "/bn4.spec")
        let model = try CompiledModel(graph: graph, backend: .tcc)
        let state = try model.restoreCheckpoint(from: checkpoint)
        #expect(state.epoch >= 1 && state.ranks == 2)
        #expect(state.step == Int64(state.epoch * 5))
    }

    /// Live processes (from /proc) whose command line has `argument` and whose environment says Open MPI
    /// rank `rank`.
    static func processes(withArgument argument: String, rank: Int) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { return nil }
            let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.contains(argument), arguments.first?.hasSuffix("nngen") == true,
                variables.contains("OMPI_COMM_WORLD_RANK=\(rank)")
            else { return nil }
            return pid
        }
    }
}

/// Without mpirun nothing of MPI is touched; a launcher environment whose library cannot be loaded is one
/// clear error. Runs everywhere.
@Suite struct MPIDetectionTests {
    @Test func aMissingMPILibraryIsAClearError() throws {
        let data = try HardeningTests.dataFolder()
        defer { try? FileManager.default.removeItem(atPath: data) }
        HardeningTests.expectError(
            try HardeningTests.nngen(
                [
                    "train", HardeningTests.spec, "--epochs", "1", "--data", data + "/x.npy", "--labels", data + "/y.npy", "--backend",
                    "tcc",
                ],
                environment: [
                    "OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0", "NNGEN_MPI_LIBRARY": "/nonexistent/libmpi.so.40",
                ]),
            "nngen was started by mpirun, but Open MPI's library /nonexistent/libmpi.so.40 cannot be loaded", "no libmpi")
    }

    @Test func theLauncherEnvironmentIsReadStrictly() throws {
        #expect(ProcessGroup.launcher([:]) == nil)
        #expect(ProcessGroup.launcher(["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]).map { $0 == (1, 2) } == true)
        #expect(ProcessGroup.launcher(["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "2"]) == nil)
        #expect(ProcessGroup.launcher(["OMPI_COMM_WORLD_SIZE": "x", "OMPI_COMM_WORLD_RANK": "0"]) == nil)
        // mpirun -np 1: a single process, no MPI.
        #expect(try ProcessGroup.join(environment: ["OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"]) == nil)
    }
}
