// EntryPoint: every C function of a generated library, declared once. The header writer, the network
// writer, the runtime's symbol lookup and the template signature test all read this table.

/// One parameter of a C function: `const real *x`.
public struct CParameter: Sendable, Hashable {
    /// The C type, written with `real` for the model's element type: `const real *`.
    public var type: String
    public var name: String

    /// `type name`, with `real` replaced by `realType` (`float`, `double`, or `real` in templates).
    public func declaration(real realType: String) -> String {
        let spelled = type.split(separator: " ", omittingEmptySubsequences: false)
            .map { $0 == "real" ? realType : String($0) }
            .joined(separator: " ")
        return spelled.hasSuffix("*") ? spelled + name : spelled + " " + name
    }
}

/// A C function of a generated library.
///
/// A network entry point is named `<model>_<suffix>` (`fashion_mlp_train_step`); a layer or loss entry point
/// `<model>_<owner>_<suffix>` (`fashion_mlp_fc1_forward`), and inside its template `FN(<suffix>)`.
public struct EntryPoint: Sendable, Hashable {
    /// Whose function it is.
    public enum Scope: Sendable, Hashable {
        /// The whole network: written by the network writer, or by the optimizer template (`update`).
        case network
        /// One layer (or the loss): written by the layer's template.
        case layer
    }

    public var scope: Scope
    public var result: String
    public var suffix: String
    public var parameters: [CParameter]

    /// `EntryPoint(.layer, "void", "forward", "real *mem, const real *x, int train, uint64_t rng")`
    init(_ scope: Scope, _ result: String, _ suffix: String, _ parameters: String) {
        self.scope = scope
        self.result = result
        self.suffix = suffix
        self.parameters =
            parameters == "void"
            ? []
            : parameters.split(separator: ",").map { part in
                let text = part.trimmingSpaces()
                // The name is the last identifier; everything before it (stars included) is the type.
                let nameStart =
                    text.lastIndex { !($0.isLetter || $0.isNumber || $0 == "_") }.map { text.index(after: $0) } ?? text.startIndex
                return CParameter(type: String(text[..<nameStart]).trimmingSpaces(), name: String(text[nameStart...]))
            }
    }

    /// The C name of this function: `fashion_mlp_forward`, or `fashion_mlp_fc1_forward` for `owner` "fc1".
    public func symbol(_ names: Names, owner: String? = nil) -> String {
        owner.map { "\(names.layer($0))_\(suffix)" } ?? names.function(suffix)
    }

    /// The parameter list with `real` spelled as `realType`: `float *mem, const float *x, int train, uint64_t rng`.
    public func parameterList(real realType: String) -> String {
        parameters.isEmpty ? "void" : parameters.map { $0.declaration(real: realType) }.joined(separator: ", ")
    }

    /// `double fashion_mlp_forward(float *mem, ...)` (no semicolon).
    public func prototype(_ names: Names, owner: String? = nil, real realType: String) -> String {
        "\(resultPrefix)\(symbol(names, owner: owner))(\(parameterList(real: realType)))"
    }

    /// How a template defines it: `void FN(forward)(real *mem, const real *x, int train, uint64_t rng)`.
    public var templateSignature: String { "\(resultPrefix)FN(\(suffix))(\(parameterList(real: "real")))" }

    /// The result type as it stands before the name: `double `, `const char *`.
    var resultPrefix: String { result.hasSuffix("*") ? result : result + " " }
}

extension EntryPoint {
    // MARK: The whole network (NetworkWriter)

    /// Forward pass from `input`; returns the mean loss against `target`, or 0 when target is NULL.
    public static let forward = EntryPoint(
        .network, "double", "forward", "real *mem, const real *input, const void *target, int train, uint64_t rng")
    /// Backward pass after `forward`: every parameter gradient, and the input gradient unless `grad_input` is NULL.
    public static let backward = EntryPoint(
        .network, "void", "backward", "real *mem, const real *input, const void *target, real *grad_input, int train")
    /// forward (train mode) + backward + update in one call; returns the loss before the update.
    public static let trainStep = EntryPoint(
        .network, "double", "train_step",
        "real *mem, const real *input, const void *target, double lr, int64_t step, uint64_t rng")
    /// Sets the kernels' thread count (≤ 0: the default) and returns the count in effect.
    public static let setThreads = EntryPoint(.network, "int", "set_threads", "int threads")
    /// Sets the function that sums doubles over the processes of a data-parallel job (only in a build with
    /// `batchnorm ... sync=true`; see `ShapedGraph.synchronizesBatchStatistics`).
    public static let setAllreduce = EntryPoint(
        .network, "void", "set_allreduce", "nngen_allreduce_fn allreduce")

    // MARK: The library (templates/library.c)

    /// Parameters and buffers as `nngen init --seed` sets them; every other value 0. Returns 0.
    public static let initialize = EntryPoint(.network, "int", "init", "real *mem, uint64_t seed")
    /// Parameters and buffers from the arrays `--embed-weights` compiled in; every other value 0. Returns 0.
    public static let initEmbedded = EntryPoint(.network, "int", "init_embedded", "real *mem")
    /// Parameters, buffers (and optimizer state, when present) from a safetensors image; 0 or an error code.
    public static let load = EntryPoint(.network, "int", "load", "real *mem, const void *data, size_t size")
    /// The message of an error code.
    public static let error = EntryPoint(.network, "const char *", "error", "int code")
    /// The bytes `save` writes.
    public static let saveSize = EntryPoint(.network, "size_t", "save_size", "void")
    /// Parameters, buffers and optimizer state as safetensors; the bytes written, or 0 if `capacity` is short.
    public static let save = EntryPoint(.network, "size_t", "save", "const real *mem, void *out, size_t capacity")
    /// One batch of raw bytes through the spec's `normalize` (b / 255 without one).
    public static let preprocess = EntryPoint(.network, "void", "preprocess", "const uint8_t *raw, real *input")
    /// Test-mode forward; class probabilities (softmax) or the output itself into `out`.
    public static let predict = EntryPoint(.network, "void", "predict", "real *mem, const real *input, real *out")
    /// The spec's learning rate for a step (`step` steps before it), as nngen train computes it.
    public static let learningRate = EntryPoint(
        .network, "double", "learning_rate", "int64_t step, int64_t total_steps, int64_t steps_per_epoch")
    /// `load` of a file (allocates one buffer; not compiled with NNGEN_NO_STDIO).
    public static let loadFile = EntryPoint(.network, "int", "load_file", "real *mem, const char *path")
    /// `save` to a file (allocates one buffer; not compiled with NNGEN_NO_STDIO).
    public static let saveFile = EntryPoint(.network, "int", "save_file", "const real *mem, const char *path")

    // MARK: The optimizer template

    /// One optimizer update of every parameter from the gradients; `step` counts from 1.
    public static let update = EntryPoint(.network, "void", "update", "real *mem, double lr, int64_t step")

    // MARK: Layer templates

    /// A layer of one input: reads `x`, writes its output slot.
    public static let layerForward = EntryPoint(.layer, "void", "forward", "real *mem, const real *x, int train, uint64_t rng")
    /// A layer of one input: reads `dout`, writes its parameter gradients and `dx` (skipped when NULL).
    public static let layerBackward = EntryPoint(
        .layer, "void", "backward", "real *mem, const real *x, const real *dout, real *dx, int train")
    /// A merge layer: reads its inputs `x[0]`, `x[1]`, ... and writes its output slot.
    public static let mergeForward = EntryPoint(
        .layer, "void", "forward", "real *mem, const real *const *x, int train, uint64_t rng")
    /// A merge layer: reads `dout`, writes each input's gradient `dx[i]` (skipped where NULL).
    public static let mergeBackward = EntryPoint(
        .layer, "void", "backward", "real *mem, const real *const *x, const real *dout, real *const *dx, int train")
    /// The loss: returns the mean loss of `logits` against `target`.
    public static let lossForward = EntryPoint(.layer, "double", "forward", "real *mem, const real *logits, const void *target")
    /// The loss: writes dloss/dlogits.
    public static let lossBackward = EntryPoint(
        .layer, "void", "backward", "real *mem, const real *logits, const void *target, real *dlogits")

    /// A layer's own forward by its arity: `layerForward`, or `mergeForward` for a merge layer.
    public static func ownForward(_ arity: LayerArity) -> EntryPoint { arity == .unary ? .layerForward : .mergeForward }
    /// A layer's own backward by its arity: `layerBackward`, or `mergeBackward` for a merge layer.
    public static func ownBackward(_ arity: LayerArity) -> EntryPoint { arity == .unary ? .layerBackward : .mergeBackward }

    /// The entry points every layer template defines.
    public static let layer: [EntryPoint] = [.layerForward, .layerBackward]
    /// The entry points every merge layer template defines.
    public static let merge: [EntryPoint] = [.mergeForward, .mergeBackward]
    /// The entry points every loss template defines.
    public static let loss: [EntryPoint] = [.lossForward, .lossBackward]
    /// The entry points templates/library.c defines (the file helpers unless NNGEN_NO_STDIO).
    public static let library: [EntryPoint] = [
        .initialize, .load, .error, .saveSize, .save, .preprocess, .predict, .learningRate, .loadFile, .saveFile,
    ]
    /// The entry points every optimizer template defines.
    public static let optimizer: [EntryPoint] = [.update]
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
