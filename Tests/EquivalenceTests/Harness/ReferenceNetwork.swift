// ReferenceNetwork: a whole spec evaluated by the float64 reference layers — the independent twin of the
// generated forward/backward/train-step functions.

import NNGen
import NNRuntime

struct ReferencePass {
    var loss: Double
    var output: [Double]
    var inputGradient: [Double]
    /// Parameter gradients by full name (`fc1.weight`).
    var gradients: [String: [Double]]
    /// Buffers after the forward pass, by full name.
    var buffers: [String: [Double]]
}

enum ReferenceNetwork {
    /// One forward and backward pass of `graph` with `tensors` (every parameter and buffer by full name).
    /// `labels` are the class ids of a softmax or svm loss; `targetValues` the output-shaped targets of an mse loss.
    /// Layers run in spec order on their sources; backward runs them in reverse, and the gradient of a tensor
    /// read by several layers (or twice by one) is the sum of what each sends back.
    static func run(
        _ graph: ShapedGraph, tensors: [String: [Double]], input: [Double], labels: [Int], mode: RunMode,
        targetValues: [Double]? = nil
    ) -> ReferencePass {
        let state = State(tensors: tensors, mode: mode)
        let network = RefTensor(shape: graph.inputShape.dims, data: input)
        var outputs: [RefTensor] = []
        var backwards: [(RefTensor) -> [RefTensor]] = []
        func value(_ source: TensorSource) -> RefTensor {
            switch source {
            case .input: network
            case .layer(let index): outputs[index]
            }
        }
        for layer in graph.layers {
            let inputs = layer.sources.map(value)
            let (out, backward) = state.layer(layer, inputs)
            outputs.append(out)
            backwards.append(backward)
        }
        let x = outputs.last ?? network
        let (loss, dlogits): (Double, RefTensor)
        switch graph.loss.definition.keyword {
        case "softmax":
            (loss, dlogits) = Reference.softmaxCrossEntropy(
                logits: x, labels: labels, smoothing: graph.loss.attributes.double("smoothing"))
        case "svm":
            (loss, dlogits) = Reference.svmLoss(scores: x, labels: labels)
        case "mse":
            (loss, dlogits) = Reference.mseLoss(output: x, target: RefTensor(shape: x.shape, data: targetValues!))
        default:
            preconditionFailure("ReferenceNetwork has no loss '\(graph.loss.definition.keyword)' yet")
        }
        // Gradients of every source, summed over its readers.
        var layerGradients: [RefTensor?] = Array(repeating: nil, count: graph.layers.count)
        var inputGradient = RefTensor(shape: graph.inputShape.dims, data: [Double](repeating: 0, count: input.count))
        if !graph.layers.isEmpty { layerGradients[graph.layers.count - 1] = dlogits }
        for index in graph.layers.indices.reversed() {
            let dout =
                layerGradients[index] ?? RefTensor(shape: outputs[index].shape, data: [Double](repeating: 0, count: outputs[index].count))
            for (source, dx) in zip(graph.layers[index].sources, backwards[index](dout)) {
                switch source {
                case .input:
                    inputGradient = RefTensor(shape: inputGradient.shape, data: zip(inputGradient.data, dx.data).map(+))
                case .layer(let p):
                    let previous = layerGradients[p]?.data ?? [Double](repeating: 0, count: dx.count)
                    layerGradients[p] = RefTensor(shape: outputs[p].shape, data: zip(previous, dx.data).map(+))
                }
            }
        }
        return ReferencePass(
            loss: loss, output: x.data, inputGradient: inputGradient.data, gradients: state.gradients, buffers: state.buffers)
    }

    /// What the layers of one pass share: the tensors they read and the gradients and buffers they record.
    final class State {
        let tensors: [String: [Double]]
        let mode: RunMode
        var gradients: [String: [Double]] = [:]
        var buffers: [String: [Double]] = [:]

        init(tensors: [String: [Double]], mode: RunMode) {
            self.tensors = tensors
            self.mode = mode
        }

        /// One layer's output on `inputs`, and its backward: output gradient → one gradient per input.
        func layer(_ layer: ShapedLayer, _ inputs: [RefTensor]) -> (RefTensor, (RefTensor) -> [RefTensor]) {
            switch layer.kind {
            case "add":
                let out = Reference.addForward(inputs)
                return (out, { dout in inputs.map { _ in dout } })
            case "concat":
                return Reference.concat(inputs)
            default:
                let (out, backward) = unary(layer, inputs[0])
                return (out, { dout in [backward(dout)] })
            }
        }

        func unary(_ layer: ShapedLayer, _ xIn: RefTensor) -> (RefTensor, (RefTensor) -> RefTensor) {
            func tensor(_ name: String, _ shape: TensorShape) -> RefTensor { RefTensor(shape: shape.dims, data: tensors[name]!) }
            let name = layer.name
            var x = xIn
            var backward: (RefTensor) -> RefTensor = { $0 }
            switch layer.kind {
            case "affine":
                let n = xIn.shape[0]
                let flat = xIn.reshaped([n, xIn.count / n])
                let w = tensor("\(name).weight", layer.instance.parameters[0].shape)
                let m = w.shape[1]
                let hasBias = layer.attributes.bool("bias")
                let b = hasBias ? tensor("\(name).bias", [m]) : RefTensor(shape: [m], data: [Double](repeating: 0, count: m))
                x = Reference.affineForward(x: flat, w: w, b: b)
                backward = { dout in
                    let g = Reference.affineBackward(dout: dout, x: flat, w: w)
                    self.gradients["\(name).weight"] = g.dw.data
                    if hasBias { self.gradients["\(name).bias"] = g.db.data }
                    return g.dx.reshaped(xIn.shape)
                }
            case "relu":
                x = Reference.reluForward(x: xIn)
                backward = { dout in Reference.reluBackward(dout: dout, x: xIn) }
            case "batchnorm":
                let c = [xIn.shape[1]]
                let gamma = tensor("\(name).gamma", TensorShape(c))
                let beta = tensor("\(name).beta", TensorShape(c))
                let mean = tensor("\(name).running_mean", TensorShape(c))
                let variance = tensor("\(name).running_var", TensorShape(c))
                let eps = layer.attributes.double("eps")
                let momentum = layer.attributes.double("momentum")
                if mode == .train {
                    let f = Reference.batchNormForwardTrain(
                        x: xIn, gamma: gamma, beta: beta, runningMean: mean,
                        runningVar: variance, momentum: momentum, eps: eps)
                    x = f.out
                    self.buffers["\(name).running_mean"] = f.runningMean.data
                    self.buffers["\(name).running_var"] = f.runningVar.data
                    backward = { dout in
                        let g = Reference.batchNormBackwardTrain(dout: dout, cache: f.cache)
                        self.gradients["\(name).gamma"] = g.dgamma.data
                        self.gradients["\(name).beta"] = g.dbeta.data
                        return g.dx
                    }
                } else {
                    x = Reference.batchNormForwardTest(x: xIn, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, eps: eps)
                    self.buffers["\(name).running_mean"] = mean.data
                    self.buffers["\(name).running_var"] = variance.data
                    backward = { dout in
                        let g = Reference.batchNormBackwardTest(
                            dout: dout, x: xIn, gamma: gamma, runningMean: mean, runningVar: variance, eps: eps)
                        self.gradients["\(name).gamma"] = g.dgamma.data
                        self.gradients["\(name).beta"] = g.dbeta.data
                        return g.dx
                    }
                }
            case "layernorm":
                let d = [xIn.count / xIn.shape[0]]
                let gamma = tensor("\(name).gamma", TensorShape(d))
                let beta = tensor("\(name).beta", TensorShape(d))
                let f = Reference.layerNormForward(x: xIn, gamma: gamma, beta: beta, eps: layer.attributes.double("eps"))
                x = f.out
                backward = { dout in
                    let g = Reference.layerNormBackward(dout: dout, cache: f.cache)
                    self.gradients["\(name).gamma"] = g.dgamma.data
                    self.gradients["\(name).beta"] = g.dbeta.data
                    return g.dx
                }
            case "groupnorm":
                let c = [xIn.shape[1]]
                let gamma = tensor("\(name).gamma", TensorShape(c))
                let beta = tensor("\(name).beta", TensorShape(c))
                let f = Reference.groupNormForward(
                    x: xIn, gamma: gamma, beta: beta, groups: layer.attributes.int("groups"),
                    eps: layer.attributes.double("eps"))
                x = f.out
                backward = { dout in
                    let g = Reference.groupNormBackward(dout: dout, cache: f.cache)
                    self.gradients["\(name).gamma"] = g.dgamma.data
                    self.gradients["\(name).beta"] = g.dbeta.data
                    return g.dx
                }
            case "dropout":
                // Train mode needs the mask the kernel drew, passed in as tensors["NAME.mask"] (read it with
                // CompiledModel.saved(layer:name:)); with keep=1 every element is kept, so no mask is needed.
                let keep = layer.attributes.double("keep")
                if mode == .train {
                    let ones = [Double](repeating: 1, count: xIn.count)
                    precondition(
                        tensors["\(name).mask"] != nil || keep == 1, "dropout '\(name)': pass its mask as tensors[\"\(name).mask\"]")
                    let mask = RefTensor(shape: xIn.shape, data: tensors["\(name).mask"] ?? ones)
                    x = Reference.dropoutForward(x: xIn, mask: mask, keep: keep)
                    backward = { dout in Reference.dropoutBackward(dout: dout, mask: mask, keep: keep) }
                } else {
                    backward = { dout in dout }
                }
            case "leakyrelu":
                let slope = layer.attributes.double("slope")
                x = Reference.leakyReluForward(x: xIn, slope: slope)
                backward = { dout in Reference.leakyReluBackward(dout: dout, x: xIn, slope: slope) }
            case "gelu":
                x = Reference.geluForward(x: xIn)
                backward = { dout in Reference.geluBackward(dout: dout, x: xIn) }
            case "sigmoid":
                let out = Reference.sigmoidForward(x: xIn)
                x = out
                backward = { dout in Reference.sigmoidBackward(dout: dout, out: out) }
            case "tanh":
                let out = Reference.tanhForward(x: xIn)
                x = out
                backward = { dout in Reference.tanhBackward(dout: dout, out: out) }
            case "conv":
                let w = tensor("\(name).weight", layer.instance.parameters[0].shape)
                let b = layer.attributes.bool("bias") ? tensor("\(name).bias", layer.instance.parameters[1].shape) : nil
                let geometry = ConvTests.geometry(layer)
                x = Reference.convForward(x: xIn, w: w, b: b, geometry: geometry)
                backward = { dout in
                    let g = Reference.convBackward(dout: dout, x: xIn, w: w, geometry: geometry)
                    self.gradients["\(name).weight"] = g.dw.data
                    if b != nil { self.gradients["\(name).bias"] = g.db.data }
                    return g.dx
                }
            case "maxpool":
                let geometry = MaxPoolTests.geometry(layer)
                x = Reference.maxPool(xIn, geometry, dout: nil).out
                backward = { dout in Reference.maxPool(xIn, geometry, dout: dout).dx }
            case "avgpool", "globalavgpool":
                let geometry =
                    layer.kind == "avgpool"
                    ? MaxPoolTests.geometry(layer)
                    : Reference.PoolGeometry(window: (xIn.shape[2], xIn.shape[3]), stride: (xIn.shape[2], xIn.shape[3]))
                let countPad = layer.kind == "globalavgpool" || layer.attributes.bool("count_pad")
                x = Reference.avgPool(xIn, geometry, countPad: countPad, dout: nil).out
                backward = { dout in Reference.avgPool(xIn, geometry, countPad: countPad, dout: dout).dx }
            default:
                preconditionFailure("ReferenceNetwork has no layer kind '\(layer.kind)' yet")
            }
            return (x, backward)
        }
    }
}
