// LayerDefinition: what one layer kind is — keyword, attributes, shape rule, tensors, template constants.

/// A tensor a layer owns: a trainable parameter or a non-trainable buffer (running statistics).
public struct TensorSpec: Sendable, Hashable {
    /// The part after the layer name: `weight` in `fc1.weight`.
    public var suffix: String
    public var shape: TensorShape
    public var initializer: Initializer
    /// Fan-in and fan-out for the He and Xavier initializers.
    public var fanIn: Int
    public var fanOut: Int

    public init(_ suffix: String, _ shape: TensorShape, _ initializer: Initializer, fanIn: Int = 1, fanOut: Int = 1) {
        self.suffix = suffix
        self.shape = shape
        self.initializer = initializer
        self.fanIn = fanIn
        self.fanOut = fanOut
    }
}

/// A scratch array a layer's forward fills for its backward (e.g. batchnorm's mean and 1/σ).
public struct SavedSpec: Sendable, Hashable {
    public var name: String
    public var count: Int
    /// True for scratch only the backward pass uses: a forward-only build (`nngen compile --inference`)
    /// does not allocate it.
    public var backwardOnly: Bool
    public init(_ name: String, count: Int, backwardOnly: Bool = false) {
        self.name = name
        self.count = count
        self.backwardOnly = backwardOnly
    }
}

/// A `#define` the template of a layer reads, e.g. `("N", "128")`.
public struct TemplateConstant: Sendable, Hashable {
    public var name: String
    public var value: String
    /// What it is, written as a comment beside the `#define`.
    public var comment: String

    public init(_ name: String, _ value: Int, _ comment: String = "") {
        self.init(name, String(value), comment)
    }
    public init(_ name: String, _ value: String, _ comment: String = "") {
        self.name = name
        self.value = value
        self.comment = comment
    }
    /// A real-valued constant written with full precision.
    public static func real(_ name: String, _ value: Double, _ comment: String = "") -> TemplateConstant {
        TemplateConstant(name, CLiteral.double(value), comment)
    }
}

/// What a layer kind derives from one layer statement and its input shape.
public struct LayerInstance: Sendable {
    public var output: TensorShape
    public var parameters: [TensorSpec]
    public var buffers: [TensorSpec]
    public var saved: [SavedSpec]
    public var constants: [TemplateConstant]
    /// Forward floating-point operations (a multiply-add counts 2).
    public var forwardFLOPs: Int
    /// What the shape rule accepted but the user should know (e.g. input rows no window reads).
    public var warnings: [Diagnostic] = []
    /// The template of this instance when not the definition's (e.g. `batchnorm_sync` for `sync=true`).
    public var template: String?
    /// Keywords of one-input activations this instance's template can apply in its own loops, when such
    /// a layer alone reads its output: the template then defines `FN(forward_<keyword>)` and
    /// `FN(backward_<keyword>)` under `#ifdef <KEYWORD>_OUT` (see `ActivationFusion`).
    public var fusibleActivations: [String] = []

    public init(
        output: TensorShape, parameters: [TensorSpec] = [], buffers: [TensorSpec] = [], saved: [SavedSpec] = [],
        constants: [TemplateConstant], forwardFLOPs: Int, warnings: [Diagnostic] = []
    ) {
        self.warnings = warnings
        self.output = output
        self.parameters = parameters
        self.buffers = buffers
        self.saved = saved
        self.constants = constants
        self.forwardFLOPs = forwardFLOPs
    }
}

/// One input of a layer as its shape rule sees it: what it is called in the spec, its shape, where it is made.
public struct LayerInput: Sendable {
    /// The input's name or the producing layer's name.
    public var name: String
    public var shape: TensorShape
    /// The statement that makes it (the `input` line or the layer's line).
    public var location: SourceLocation?

    public init(name: String, shape: TensorShape, location: SourceLocation? = nil) {
        self.name = name
        self.shape = shape
        self.location = location
    }

    /// `'fc1' [2, 4] (line 3)`, for messages that compare inputs.
    public var described: String { "'\(name)' \(shape)" + (location.map { " (line \($0.line))" } ?? "") }
}

/// What a layer kind's shape rule sees.
public struct LayerContext: Sendable {
    public var name: String
    public var kind: String
    /// Its inputs in `from=` order: one for every layer but the merge layers.
    public var inputs: [LayerInput]
    public var attributes: Attributes
    public var location: SourceLocation
    /// True when the layer is checked for a forward-only build (`nngen compile --inference`).
    public var forwardOnly = false

    /// The shape of the (first) input.
    public var input: TensorShape { inputs[0].shape }

    public init(name: String, kind: String, inputs: [LayerInput], attributes: Attributes, location: SourceLocation) {
        self.name = name
        self.kind = kind
        self.inputs = inputs
        self.attributes = attributes
        self.location = location
    }

    public init(name: String, kind: String, input: TensorShape, attributes: Attributes, location: SourceLocation) {
        self.init(name: name, kind: kind, inputs: [LayerInput(name: "x", shape: input)], attributes: attributes, location: location)
    }

    /// A warning about this layer, located at the layer (or at `attribute` when given).
    public func warning(_ message: String, attribute: String? = nil, hint: String? = nil) -> Diagnostic {
        .warning(at: attribute.map { attributes.location(of: $0) } ?? location, "\(kind) '\(name)' \(message)", hint: hint)
    }

    /// An error about this layer, located at the layer (or at `attribute` when given).
    public func error(_ message: String, attribute: String? = nil, hint: String? = nil) -> Diagnostic {
        Diagnostic(
            at: attribute.map { attributes.location(of: $0) } ?? location,
            "\(kind) '\(name)' \(message)", hint: hint)
    }
}

/// How many inputs a layer kind reads.
public enum LayerArity: Sendable, Hashable {
    /// One input (`from=NAME`, or the statement before): entry points `EntryPoint.layer`.
    case unary
    /// Two or more (`from=A,B,...`): entry points `EntryPoint.merge`, with arrays of input pointers.
    case merge
}

/// A layer kind. Adding one is a new file with a `static let` of this type, a template, and a registry line.
public struct LayerDefinition: Sendable {
    /// The spec keyword: `affine`.
    public var keyword: String
    /// One line for `nngen check` and the docs.
    public var summary: String
    public var attributes: [AttributeSpec]
    /// The file in `templates/` (without `.c`) that holds its forward and backward kernels.
    public var template: String
    /// TensorShape rule and tensors; throws a located `Diagnostic` when the input does not fit.
    public var instantiate: @Sendable (LayerContext) throws -> LayerInstance
    /// One input, or several.
    public var arity: LayerArity = .unary

    /// The C entry points its template defines.
    public var entryPoints: [EntryPoint] { [.ownForward(arity), .ownBackward(arity)] }
}

/// Every layer kind the spec language knows, by keyword.
public enum LayerRegistry {
    public static let all: [LayerDefinition] = [
        .affine,
        .relu,
        .leakyrelu,
        .gelu,
        .batchnorm,
        .conv,
        .maxpool,
        .avgpool,
        .globalavgpool,
        .layernorm,
        .groupnorm,
        .dropout,
        .sigmoid,
        .tanh,
        .add,
        .concat,
    ]

    public static func definition(_ keyword: String) -> LayerDefinition? {
        all.first { $0.keyword == keyword }
    }
}
