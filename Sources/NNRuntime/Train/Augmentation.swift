// Augmentation: training-time random crops (with padding) and horizontal flips of image batches, seeded by the
// run's seed and the step, so a run and its resume see the same images.

import NNGen

/// What `nngen train --crop P --flip` does to each training sample before its step (test data is untouched).
///
/// ```
/// crop P:  pad the image by P on every side with the value of a black pixel (a zero byte, or 0 for float
///          data), then take the H×W window at a random offset (oy, ox) in [0, 2P]²:
///          out[c][y][x] = in[c][y + oy − P][x + ox − P]   (the pad value outside the image)
/// flip:    with probability ½, out[c][y][x] = in[c][y][W − 1 − x]            (after the crop)
/// ```
/// As torchvision's `RandomCrop(H, padding=P)` and `RandomHorizontalFlip()`. The random numbers of sample
/// `slot` of step `step` come from SplitMix64 seeded by (seed, step, slot) alone.
public struct Augmentation: Sendable, Equatable {
    /// Padding of the random crop; 0: no crop.
    public var cropPadding: Int
    public var horizontalFlip: Bool

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
    }

    public var isIdentity: Bool { cropPadding == 0 && !horizontalFlip }

    /// `crop 2, flip`, for messages.
    public var description: String {
        let parts = (cropPadding > 0 ? ["random crop with padding \(cropPadding)"] : []) + (horizontalFlip ? ["horizontal flip"] : [])
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// Checks that the model's input is an image the augmentation fits.
    public func check(for graph: ShapedGraph) throws {
        guard !isIdentity else { return }
        guard graph.inputShape.rank == 4 else {
            throw Diagnostic(
                "--crop and --flip work on images, but input \(graph.inputName) is \(graph.inputShape)",
                hint: "give the input as [N, C, H, W] (e.g. [\(graph.batch), 1, 28, 28] for Fashion-MNIST), or train without them")
        }
        let (h, w) = (graph.inputShape[2], graph.inputShape[3])
        guard cropPadding >= 0, cropPadding < min(h, w) else {
            throw Diagnostic(
                "--crop \(cropPadding) must be from 0 to \(min(h, w) - 1) for \(h)x\(w) images",
                hint: "a padding of 2 to 4 is usual for 28×28 images")
        }
    }
}

/// Applies an augmentation to the staged input batch of a model, in place, with one sample of scratch.
final class Augmenter {
    let augmentation: Augmentation
    let seed: UInt64
    /// One sample of the input, in the model's dtype.
    private let scratch: UnsafeMutableRawPointer
    private let channels: Int
    private let height: Int
    private let width: Int
    private let batch: Int

    init(_ augmentation: Augmentation, graph: ShapedGraph, seed: UInt64) {
        self.augmentation = augmentation
        self.seed = seed
        (batch, channels, height, width) = (graph.inputShape[0], graph.inputShape[1], graph.inputShape[2], graph.inputShape[3])
        scratch = CompiledModel.allocate(bytes: channels * height * width * graph.dtype.byteSize)
    }

    deinit { scratch.deallocate() }

    /// The random offset (oy, ox) in [0, 2P]² and flip of sample `slot` at `step`.
    func draw(step: Int64, slot: Int) -> (oy: Int, ox: Int, flip: Bool) {
        var rng = SplitMix64(seed: seed ^ (UInt64(bitPattern: step) &* 0xD1B5_4A32_D192_ED03) ^ (UInt64(slot) &* 0x8CB9_2BA7_2F3D_8DD7))
        let span = UInt64(2 * augmentation.cropPadding + 1)
        let oy = augmentation.cropPadding > 0 ? Int(rng.next() % span) : augmentation.cropPadding
        let ox = augmentation.cropPadding > 0 ? Int(rng.next() % span) : augmentation.cropPadding
        let flip = augmentation.horizontalFlip && rng.next() >> 63 == 1
        return (oy, ox, flip)
    }

    /// Transforms every sample of `model.inputBuffer`; `padValue` is a black pixel in the staged values.
    /// `firstSlot` is the staged batch's first slot in the global batch (a data-parallel rank's share
    /// starts at rank · batch), so K ranks of batch N draw what one process of batch K·N would.
    func apply(to model: CompiledModel, step: Int64, padValue: Double, firstSlot: Int = 0) {
        switch model.graph.dtype {
        case .float32:
            transform(model.inputBuffer.assumingMemoryBound(to: Float.self), step: step, pad: Float(padValue), firstSlot: firstSlot)
        case .float64:
            transform(model.inputBuffer.assumingMemoryBound(to: Double.self), step: step, pad: padValue, firstSlot: firstSlot)
        }
    }

    private func transform<T: BinaryFloatingPoint>(_ input: UnsafeMutablePointer<T>, step: Int64, pad: T, firstSlot: Int) {
        let plane = height * width
        let sample = channels * plane
        let copy = scratch.assumingMemoryBound(to: T.self)
        let p = augmentation.cropPadding
        for slot in 0..<batch {
            let (oy, ox, flip) = draw(step: step, slot: firstSlot + slot)
            guard oy != p || ox != p || flip else { continue }
            let image = input + slot * sample
            copy.update(from: image, count: sample)
            for c in 0..<channels {
                for y in 0..<height {
                    let sy = y + oy - p
                    for x in 0..<width {
                        let cx = flip ? width - 1 - x : x
                        let sx = cx + ox - p
                        image[c * plane + y * width + x] =
                            sy >= 0 && sy < height && sx >= 0 && sx < width ? copy[c * plane + sy * width + sx] : pad
                    }
                }
            }
        }
    }
}
