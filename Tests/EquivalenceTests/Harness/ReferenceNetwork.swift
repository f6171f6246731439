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
    static func run(_ graph: ShapedGraph, tensors: [String: [Double]], input: [Double], labels: [Int], mode: Mode) -> ReferencePass {
        func tensor(_ name: String, _ shape: Shape) -> RefTensor { RefTensor(shape: shape.dims, data: tensors[name]!) }
        var buffers: [String: [Double]] = [:]
        var x = RefTensor(shape: graph.inputShape.dims, data: input)
        var inputs: [RefTensor] = []
        var backwards: [(RefTensor) -> RefTensor] = []
        var gradients: [String: [Double]] = [:]
        for layer in graph.layers {
            inputs.append(x)
            let name = layer.name
            let xIn = x
            switch layer.kind {
            case "affine":
                let n = xIn.shape[0]
                let flat = xIn.reshaped([n, xIn.count / n])
                let w = tensor("\(name).weight", layer.instance.parameters[0].shape)
                let b = tensor("\(name).bias", layer.instance.parameters[1].shape)
                x = Reference.affineForward(x: flat, w: w, b: b)
                backwards.append { dout in
                    let g = Reference.affineBackward(dout: dout, x: flat, w: w)
                    gradients["\(name).weight"] = g.dw.data
                    gradients["\(name).bias"] = g.db.data
                    return g.dx.reshaped(xIn.shape)
                }
            case "relu":
                x = Reference.reluForward(x: xIn)
                backwards.append { dout in Reference.reluBackward(dout: dout, x: xIn) }
            case "batchnorm":
                let c = [xIn.shape[1]]
                let gamma = tensor("\(name).gamma", Shape(c)), beta = tensor("\(name).beta", Shape(c))
                let mean = tensor("\(name).running_mean", Shape(c)), variance = tensor("\(name).running_var", Shape(c))
                let eps = layer.attributes.double("eps"), momentum = layer.attributes.double("momentum")
                if mode == .train {
                    let f = Reference.batchNormForwardTrain(x: xIn, gamma: gamma, beta: beta, runningMean: mean,
                                                            runningVar: variance, momentum: momentum, eps: eps)
                    x = f.out
                    buffers["\(name).running_mean"] = f.runningMean.data
                    buffers["\(name).running_var"] = f.runningVar.data
                    backwards.append { dout in
                        let g = Reference.batchNormBackwardTrain(dout: dout, cache: f.cache)
                        gradients["\(name).gamma"] = g.dgamma.data
                        gradients["\(name).beta"] = g.dbeta.data
                        return g.dx
                    }
                } else {
                    x = Reference.batchNormForwardTest(x: xIn, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance, eps: eps)
                    buffers["\(name).running_mean"] = mean.data
                    buffers["\(name).running_var"] = variance.data
                    backwards.append { dout in
                        let g = Reference.batchNormBackwardTest(dout: dout, x: xIn, gamma: gamma, runningMean: mean, runningVar: variance, eps: eps)
                        gradients["\(name).gamma"] = g.dgamma.data
                        gradients["\(name).beta"] = g.dbeta.data
                        return g.dx
                    }
                }
            default:
                preconditionFailure("ReferenceNetwork has no layer kind '\(layer.kind)' yet")
            }
        }
        let (loss, dlogits): (Double, RefTensor)
        switch graph.loss.definition.keyword {
        case "softmax":
            (loss, dlogits) = Reference.softmaxCrossEntropy(logits: x, labels: labels)
        default:
            preconditionFailure("ReferenceNetwork has no loss '\(graph.loss.definition.keyword)' yet")
        }
        var dout = dlogits
        for backward in backwards.reversed() { dout = backward(dout) }
        return ReferencePass(loss: loss, output: x.data, inputGradient: dout.data, gradients: gradients, buffers: buffers)
    }
}
