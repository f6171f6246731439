// Training-time augmentation: the crop and flip each sample gets, their randomness (seeded, reproducible),
// and an augmented run that resumes bit for bit.

import Foundation
import NNGen
import Testing

@testable import NNRuntime

@Suite struct AugmentationTests {
    /// A model of 3×4 images, two channels, batch 4.
    static let spec = """
        model aug
        input x [4, 2, 3, 4]
        dtype float64
        conv c filters=2 size=2
        affine fc out=3
        loss softmax
        optimizer sgd lr=0.05 momentum=0.9
        """

    /// Sample s, channel c, pixel (y, x) holds 1000·s + 100·c + 10·y + x: every value says where it came from.
    static func stageLabelledPixels(_ model: CompiledModel) throws {
        let values = (0..<96).map { (i: Int) -> Double in
            let (slot, channel, row, column) = (i / 24, i / 12 % 2, i / 4 % 3, i % 4)
            return Double(1000 * slot + 100 * channel + 10 * row + column)
        }
        try model.stageInput(values)
    }

    @Test func eachSampleIsItsCropThenItsFlip() throws {
        let model = try CompiledModel(graph: try ShapeInference.load(Self.spec, path: "aug.spec"))
        let augmenter = Augmenter(Augmentation(cropPadding: 1, horizontalFlip: true), graph: model.graph, seed: 7)
        try Self.stageLabelledPixels(model)
        augmenter.apply(to: model, step: 3, padValue: -1)
        let staged = model.load(from: model.inputBuffer, offset: 0, count: 96)
        var sawFlip = false
        var sawShift = false
        for slot in 0..<4 {
            let (oy, ox, flip) = augmenter.draw(step: 3, slot: slot)
            #expect((0...2).contains(oy) && (0...2).contains(ox))
            sawFlip = sawFlip || flip
            sawShift = sawShift || oy != 1 || ox != 1
            for c in 0..<2 {
                for y in 0..<3 {
                    for x in 0..<4 {
                        let (sy, sx) = (y + oy - 1, (flip ? 3 - x : x) + ox - 1)
                        let expected = sy >= 0 && sy < 3 && sx >= 0 && sx < 4 ? Double(1000 * slot + 100 * c + 10 * sy + sx) : -1
                        #expect(staged[slot * 24 + c * 12 + y * 4 + x] == expected, "slot \(slot) c \(c) (\(y), \(x))")
                    }
                }
            }
        }
        #expect(sawFlip && sawShift, "seed 7, step 3 should flip and shift some sample")
    }

    /// The draws depend only on (seed, step, slot); other seeds or steps give other draws.
    @Test func drawsAreSeeded() throws {
        let graph = try ShapeInference.load(Self.spec, path: "aug.spec")
        let a = Augmenter(Augmentation(cropPadding: 2, horizontalFlip: true), graph: graph, seed: 1)
        let b = Augmenter(Augmentation(cropPadding: 2, horizontalFlip: true), graph: graph, seed: 1)
        let c = Augmenter(Augmentation(cropPadding: 2, horizontalFlip: true), graph: graph, seed: 2)
        let draws = { (g: Augmenter, step: Int64) in (0..<64).map { g.draw(step: step, slot: $0) }.map { "\($0.oy)\($0.ox)\($0.flip)" } }
        #expect(draws(a, 5) == draws(b, 5))
        #expect(draws(a, 5) != draws(c, 5))
        #expect(draws(a, 5) != draws(a, 6))
        let all = (1...200).flatMap { draws(a, Int64($0)) }
        #expect(Set(all).count == 5 * 5 * 2, "every offset in [0, 4]² with and without a flip occurs")
    }

    @Test func flatInputsAreRefused() throws {
        let error = thrownDiagnostic { try Augmentation(cropPadding: 2).check(for: try Toy.graph()) }
        #expect(error?.message == "--crop and --flip work on images, but input x is [8, 6]")
        let big = thrownDiagnostic {
            try Augmentation(cropPadding: 3).check(for: try ShapeInference.load(Self.spec, path: "aug.spec"))
        }
        #expect(big?.message == "--crop 3 must be from 0 to 2 for 3x4 images")
    }

    /// A run with augmentation, stopped after epoch 1 and resumed, ends with the same bits as one run straight
    /// through; the same run without augmentation ends elsewhere.
    @Test func augmentedRunsResumeExactly() throws {
        var rng = SplitMix64(seed: 3)
        let dataset = LabeledDataset(
            samples: (0..<(40 * 24)).map { _ in Float(rng.normal()) }, labels: (0..<40).map { Int32($0 % 3) },
            sampleShape: [2, 3, 4], classCount: 3)
        let directory = try temporaryTrainingDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let augmentation = Augmentation(cropPadding: 1, horizontalFlip: true)
        func run(_ options: TrainingOptions, resume: String? = nil) throws -> [String: HostTensor] {
            let model = try CompiledModel(graph: try ShapeInference.load(Self.spec, path: "aug.spec"))
            let trainer = try Trainer(model: model, trainingSet: dataset, testSet: nil, options: options)
            if let resume { try trainer.resume(from: resume) }
            try trainer.run()
            return Toy.snapshot(model)
        }
        let path = directory + "/aug.safetensors"
        let straight = try run(TrainingOptions(epochs: 3, seed: 4, augmentation: augmentation))
        _ = try run(TrainingOptions(epochs: 3, seed: 4, checkpointPath: path, stopAfterEpoch: 1, augmentation: augmentation))
        let resumed = try run(TrainingOptions(epochs: 3, seed: 4, augmentation: augmentation), resume: path)
        #expect(resumed == straight)
        #expect(try run(TrainingOptions(epochs: 3, seed: 4)) != straight)
    }
}
