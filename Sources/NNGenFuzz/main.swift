// nngen-fuzz: a mutation fuzzer over the spec front end and every file reader nngen has (safetensors, .npy,
// IDX/gzip, checkpoint metadata). It mutates the seed corpus of Tests/FuzzCorpus/TARGET (bit flips, bytes
// set to boundary values, inserted, deleted, duplicated and spliced ranges, huge little-endian integers,
// spec tokens swapped for extreme ones) and runs each input through the reader. A Diagnostic is the
// expected outcome of a bad input; anything else fails the run and keeps the input in fuzz-failures/:
//   a crash or trap (SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE),
//   a hang (an input running longer than --timeout seconds),
//   an allocation above the bound (resident memory over --max-rss-mb after an input).
//
//   nngen-fuzz TARGET|all [--seconds S] [--seed N] [--corpus DIR] [--timeout S] [--max-rss-mb M]

import Foundation
import NNGen
import NNImport
import NNRuntime

setvbuf(stdout, nil, _IOLBF, 0)  // one line per target as it finishes, also into a file

let targets = ["spec", "safetensors", "npy", "idx", "checkpoint", "onnx"]

// MARK: Command line

var arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ fallback: Double) -> Double {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Double(arguments[index + 1]) else {
        return fallback
    }
    arguments.removeSubrange(index...(index + 1))
    return value
}
func stringOption(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    let value = arguments[index + 1]
    arguments.removeSubrange(index...(index + 1))
    return value
}
let seconds = option("--seconds", 30)
let seed = UInt64(option("--seed", 1))
let timeout = option("--timeout", 10)
let maxRSS = Int(option("--max-rss-mb", 1024)) << 20
let corpusRoot = stringOption("--corpus") ?? "Tests/FuzzCorpus"
// The harness's own checks: inputs that trap, hang or allocate, so a test can see each one caught.
let selfTests = ["selftest-crash", "selftest-hang", "selftest-memory"]
guard let chosen = arguments.first, chosen == "all" || targets.contains(chosen) || selfTests.contains(chosen), arguments.count == 1 else {
    FileHandle.standardError.write(
        Data(
            "usage: nngen-fuzz \(targets.joined(separator: "|"))|all [--seconds S] [--seed N] [--corpus DIR] [--timeout S] [--max-rss-mb M]\n"
                .utf8))
    exit(2)
}

// MARK: Failure capture (async-signal-safe: the current input lives in a fixed buffer)

let inputCapacity = 1 << 24
let currentInput = UnsafeMutablePointer<UInt8>.allocate(capacity: inputCapacity)
var currentCount = 0
var crashDescriptor: Int32 = -1
var inputStarted: UInt64 = 0  // uptime in ns when the current input began; 0 between inputs

@Sendable func failurePath(_ target: String, _ kind: String) -> String {
    try? FileManager.default.createDirectory(atPath: "fuzz-failures", withIntermediateDirectories: true)
    return "fuzz-failures/\(target)-\(kind).bin"
}

@Sendable func keep(_ target: String, _ kind: String, _ message: String) -> Never {
    let path = failurePath(target, kind)
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: currentInput, count: currentCount))
    unlink(failurePath(target, "crash"))  // (opened for a crash that did not happen)
    FileHandle.standardError.write(Data("nngen-fuzz \(target): \(message); the input is in \(path)\n".utf8))
    exit(1)
}

func installCrashHandlers(_ target: String) {
    crashDescriptor = open(failurePath(target, "crash"), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    for signal in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            _ = write(crashDescriptor, currentInput, currentCount)
            let message = "nngen-fuzz: the input crashed the reader (signal \(number)); it is in fuzz-failures/\n"
            message.withCString { _ = write(2, $0, strlen($0)) }
            _exit(70)
        }
        sigaction(signal, &action, nil)
    }
}

/// The process's peak resident memory so far (getrusage's high-water mark), in bytes: an input that
/// allocated and freed a huge buffer still shows.
func residentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

// MARK: Mutation

struct Mutator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    static let bytes: [UInt8] = [
        0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x1B, 0x20, 0x22, 0x2C, 0x2D, 0x2E, 0x30, 0x39, 0x3A, 0x5B, 0x5D, 0x7B, 0x7D,
    ]
    static let integers: [UInt64] = [
        0, 1, 7, 8, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 40, UInt64(Int64.max), UInt64.max,
    ]
    static let words = [
        "0", "-1", "1e308", "-1e308", "nan", "inf", "99999999999999999999", "2147483648", "9223372036854775807", "0x10", "1,2",
        "[", "]", "=", "from=", "x", "#", "\t", "\u{0}", "é", "affine", "conv", "concat", "add", "loss", "input", "model nngen",
    ]

    mutating func mutate(_ input: [UInt8], corpus: [[UInt8]], text: Bool) -> [UInt8] {
        var data = input
        for _ in 0...below(8) {
            switch below(text ? 9 : 8) {
            case 0 where !data.isEmpty: data[below(data.count)] ^= UInt8(1) << UInt8(below(8))
            case 1 where !data.isEmpty: data[below(data.count)] = Self.bytes[below(Self.bytes.count)]
            case 2: data.insert(contentsOf: (0..<1 + below(16)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: below(data.count + 1))
            case 3 where !data.isEmpty:
                let start = below(data.count)
                data.removeSubrange(start..<min(data.count, start + 1 + below(64)))
            case 4 where !data.isEmpty:
                let start = below(data.count)
                let piece = data[start..<min(data.count, start + 1 + below(256))]
                data.insert(contentsOf: piece, at: below(data.count + 1))
            case 5 where data.count >= 8:
                let value = Self.integers[below(Self.integers.count)] &+ UInt64(below(3)) &- 1
                let at = below(data.count - 7)
                for k in 0..<8 { data[at + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
            case 6 where !corpus.isEmpty:
                let other = corpus[below(corpus.count)]
                let cut = below(data.count + 1)
                let from = below(other.count + 1)
                data = Array(data[..<cut]) + Array(other[from...])
            case 7 where data.count > 1: data.removeLast(below(data.count))
            case 8:
                let word = Array(Self.words[below(Self.words.count)].utf8)
                var at = below(data.count + 1)
                while at < data.count, data[at] != 0x20, data[at] != 0x3D, data[at] != 0x0A { at += 1 }
                data.insert(contentsOf: [0x20] + word, at: at)
            default: break
            }
        }
        return Array(data.prefix(inputCapacity))
    }
}

// MARK: Targets

let tinySpec = """
    model fuzz_tiny
    input x [4, 2, 3, 3]
    dtype float64
    batchnorm bn0
    affine fc1 out=7
    relu
    affine fc2 out=5
    loss softmax
    optimizer adam lr=0.01
    """

func makeRunner(_ target: String) throws -> ([UInt8]) -> Bool {
    switch target {
    case "spec":
        return { bytes in
            do {
                let graph = try ShapeInference.load(String(decoding: bytes, as: UTF8.self), path: "fuzz.spec")
                let plan = MemoryPlan.plan(graph)
                // Plan and emit what fits in memory, as nngen check --dump c would.
                if plan.total < 1 << 26 {
                    _ = try Emitter.emit(graph, plan: plan, templates: .embedded)
                    _ = MemoryPlan.planForward(graph)
                    _ = graph.identityLines
                }
                return true
            } catch let diagnostic as Diagnostic {
                _ = diagnostic.rendered
                return false
            } catch {
                return false
            }
        }
    case "safetensors":
        return { bytes in (try? Safetensors.decode(bytes, origin: "fuzz.safetensors")) != nil }
    case "npy":
        return { bytes in (try? NPY.decode(bytes, origin: "fuzz.npy")) != nil }
    case "idx":
        return { bytes in
            guard let plain = try? Gzip.decompress(bytes, origin: "fuzz.gz", limit: 1 << 26) else { return false }
            return (try? IDX.decode(plain, origin: "fuzz.idx")) != nil
        }
    case "checkpoint":
        let model = try CompiledModel(graph: try ShapeInference.load(tinySpec, path: "fuzz_tiny.spec"), backend: .tcc)
        return { bytes in
            guard let (tensors, metadata) = try? Safetensors.decode(bytes, origin: "fuzz.safetensors") else { return false }
            return (try? model.restoreCheckpoint(tensors: tensors, metadata: metadata, origin: "fuzz.safetensors")) != nil
        }
    case "onnx":
        return { bytes in (try? ONNXImporter.importModel(bytes: bytes, origin: "fuzz.onnx", options: ImportOptions(batch: 2))) != nil }
    case "selftest-crash":
        return { bytes in
            let values = bytes.map(Int8.init(truncatingIfNeeded:))
            return values.reduce(Int8.max) { $0 + $1 } > 0  // overflows (a trap) on the first positive byte
        }
    case "selftest-hang":
        return { _ in
            while true { usleep(1000) }
        }
    case "selftest-memory":
        return { bytes in
            var hoard = [[UInt8]]()
            for _ in 0..<64 { hoard.append([UInt8](repeating: 1, count: 32 << 20)) }  // 2 GiB, touched
            return hoard.count + bytes.count > 0
        }
    default:
        return { _ in false }
    }
}

func fuzz(_ target: String, seconds: Double) throws {
    let folder = corpusRoot + "/" + (selfTests.contains(target) ? "npy" : target)  // (self tests: any seeds)
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    let corpus = try names.map { name in try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))) }
    guard !corpus.isEmpty else {
        FileHandle.standardError.write(Data("nngen-fuzz \(target): no seed inputs in \(folder)\n".utf8))
        exit(2)
    }
    let run = try makeRunner(target)
    installCrashHandlers(target)
    var mutator = Mutator(state: seed ^ UInt64(truncatingIfNeeded: target.hashValue & 0) ^ UInt64(target.utf8.count))
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    var inputs = 0
    var accepted = 0
    var peak = 0
    func execute(_ input: [UInt8]) {
        currentCount = input.count
        input.withUnsafeBufferPointer { currentInput.update(from: $0.baseAddress!, count: input.count) }
        inputStarted = DispatchTime.now().uptimeNanoseconds
        if run(input) { accepted += 1 }
        inputStarted = 0
        inputs += 1
        let resident = residentBytes()
        peak = max(peak, resident)
        if resident > maxRSS {
            keep(target, "memory", "peak resident memory reached \(resident >> 20) MB, over the \(maxRSS >> 20) MB bound")
        }
    }
    // The watchdog: an input running longer than the timeout is a hang.
    let watchdog = Thread {
        while true {
            usleep(200_000)
            let started = inputStarted
            if started != 0, DispatchTime.now().uptimeNanoseconds > started + UInt64(timeout * 1e9) {
                keep(target, "hang", "an input ran longer than \(timeout) s")
            }
        }
    }
    watchdog.start()
    for input in corpus { execute(input) }  // every seed as it is
    while DispatchTime.now().uptimeNanoseconds < deadline {
        execute(mutator.mutate(corpus[mutator.below(corpus.count)], corpus: corpus, text: target == "spec"))
    }
    close(crashDescriptor)
    unlink(failurePath(target, "crash"))
    print(
        "nngen-fuzz \(target): \(inputs) inputs in \(Int(seconds)) s (\(accepted) accepted), peak resident memory \(peak >> 20) MB: no crash, no hang over \(Int(timeout)) s, no memory over \(maxRSS >> 20) MB"
    )
}

for target in chosen == "all" ? targets : [chosen] {
    do {
        try fuzz(target, seconds: seconds)
    } catch {
        FileHandle.standardError.write(Data("nngen-fuzz \(target): cannot start: \(error)\n".utf8))
        exit(2)
    }
}
