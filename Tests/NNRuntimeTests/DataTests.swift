// Tests of data loading: gzip, IDX decoding, LabeledDataset validation, and the real Fashion-MNIST files.
import CZlib
import Foundation
import NNGen
import Testing

@testable import NNRuntime

// MARK: - Helpers

/// An IDX file of unsigned bytes: header `00 00 type rank`, big-endian dims, then `values`.
private func idxBytes(dims: [Int], values: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for size in dims {
        bytes += [UInt8(size >> 24 & 0xff), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)]
    }
    return bytes + values
}

/// Compresses `bytes` to the gzip format with zlib's deflate (windowBits 15 + 16 writes a gzip wrapper).
private func gzip(_ bytes: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    let status = deflateInit2_(
        &stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
        Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK, "deflateInit2_ failed: \(status)")
    defer { deflateEnd(&stream) }
    var input = bytes
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 32)
    let written = input.withUnsafeMutableBufferPointer { input in
        output.withUnsafeMutableBufferPointer { output in
            stream.next_in = input.baseAddress
            stream.avail_in = UInt32(input.count)
            stream.next_out = output.baseAddress
            stream.avail_out = UInt32(output.count)
            let result = deflate(&stream, Z_FINISH)
            precondition(result == Z_STREAM_END, "deflate failed: \(result)")
            return output.count - Int(stream.avail_out)
        }
    }
    return Array(output[..<written])
}

/// A fresh empty directory under the system temporary directory.
private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "nngen-data-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

private func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The message of the `Diagnostic` that `body` throws, or nil if it throws none.
private func diagnostic(_ body: () throws -> Void) -> Diagnostic? {
    do {
        try body()
        return nil
    } catch {
        return error as? Diagnostic
    }
}

/// Writes a small Fashion-MNIST-like split (`count` 28×28 images) into `directory`.
private func writeSplit(
    _ prefix: String, in directory: String, imageCount: Int, labels: [UInt8], compress: Bool = true
) throws {
    let pixels = (0..<imageCount * 28 * 28).map { UInt8($0 % 256) }
    let images = idxBytes(dims: [imageCount, 28, 28], values: pixels)
    let labelFile = idxBytes(dims: [labels.count], values: labels)
    try write(compress ? gzip(images) : images, to: "\(directory)/\(prefix)-images-idx3-ubyte.gz")
    try write(compress ? gzip(labelFile) : labelFile, to: "\(directory)/\(prefix)-labels-idx1-ubyte.gz")
}

// MARK: - Gzip

@Test func gzipRoundTrip() throws {
    let original = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
    #expect(try Gzip.decompress(gzip(original), origin: "x.gz") == original)
    #expect(try Gzip.decompress(gzip([]), origin: "empty.gz") == [])
}

@Test func gzipPassesPlainDataThrough() throws {
    let plain: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 0]
    #expect(try Gzip.decompress(plain, origin: "plain") == plain)
    #expect(try Gzip.decompress([], origin: "empty") == [])
    #expect(try Gzip.decompress([0x1f], origin: "one byte") == [0x1f])
}

@Test func gzipInflatesConcatenatedMembers() throws {
    let first: [UInt8] = Array("hello, ".utf8)
    let second: [UInt8] = Array("world".utf8)
    #expect(try Gzip.decompress(gzip(first) + gzip(second), origin: "two.gz") == first + second)
}

@Test func gzipRejectsTruncatedData() {
    let compressed = gzip((0..<10_000).map { UInt8($0 % 251) })
    for cut in [3, 10, compressed.count / 2, compressed.count - 1] {
        let error = diagnostic { _ = try Gzip.decompress(Array(compressed[..<cut]), origin: "cut.gz") }
        #expect(error?.location?.file == "cut.gz")
        #expect(
            error?.message.hasPrefix("gzip data is corrupt:") == true, "cut at \(cut): \(String(describing: error))")
    }
}

@Test func gzipRejectsRandomBytesAfterTheMagic() {
    // Fixed pseudo-random bytes (a linear congruential generator), so a failure can be reproduced.
    var state: UInt32 = 12345
    let noise = (0..<1000).map { _ -> UInt8 in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(state >> 24)
    }
    let bytes: [UInt8] = [0x1f, 0x8b] + noise
    let error = diagnostic { _ = try Gzip.decompress(bytes, origin: "random.gz") }
    #expect(error?.message.hasPrefix("gzip data is corrupt:") == true, "\(String(describing: error))")
}

@Test func gzipRejectsCorruptedBody() {
    var compressed = gzip(Array(repeating: 7, count: 5000))
    compressed[compressed.count - 6] ^= 0xff  // inside the CRC-32 of the trailer
    let error = diagnostic { _ = try Gzip.decompress(compressed, origin: "crc.gz") }
    #expect(error?.description == "crc.gz: error: gzip data is corrupt: incorrect data check")
}

@Test func gzipStopsAtTheSizeLimit() throws {
    let bomb = gzip(Array(repeating: 0, count: 1 << 20))
    let error = diagnostic { _ = try Gzip.decompress(bomb, origin: "bomb.gz", limit: 1000) }
    #expect(error?.message == "gzip data inflates to more than 1000 bytes")
    // Output of exactly the limit is allowed.
    #expect(try Gzip.decompress(bomb, origin: "bomb.gz", limit: 1 << 20).count == 1 << 20)
}

// MARK: - IDX

@Test func idxDecodesDimsAndValues() throws {
    let values = (0..<24).map { UInt8($0) }
    let bytes = idxBytes(dims: [2, 3, 4], values: values)
    let decoded = try IDX.decode(bytes, origin: "a.idx")
    #expect(decoded.dims == [2, 3, 4])
    #expect(decoded.values == values)
    // Dims are big-endian: 0x0000_0102 = 258.
    let wide = try IDX.decode(idxBytes(dims: [258], values: Array(repeating: 1, count: 258)), origin: "w.idx")
    #expect(wide.dims == [258])
}

@Test func idxReadsGzippedAndPlainFiles() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let bytes = idxBytes(dims: [3, 2], values: [1, 2, 3, 4, 5, 6])
    try write(gzip(bytes), to: directory + "/a.gz")
    try write(bytes, to: directory + "/a.idx")
    for name in ["a.gz", "a.idx"] {
        let decoded = try IDX.read(path: "\(directory)/\(name)")
        #expect(decoded.dims == [3, 2])
        #expect(Array(decoded.values) == [1, 2, 3, 4, 5, 6])
    }
}

@Test func idxRejectsBadMagic() {
    let error = diagnostic { _ = try IDX.decode([0x01, 0x00, 0x08, 0x01, 0, 0, 0, 0], origin: "m.idx") }
    #expect(error?.description == "m.idx: error: not an IDX file: it must start with bytes 00 00, found 01 00")
    let short = diagnostic { _ = try IDX.decode([0, 0], origin: "s.idx") }
    #expect(short?.message.hasPrefix("not an IDX file") == true)
}

@Test func idxRejectsUnsupportedType() {
    let error = diagnostic {
        _ = try IDX.decode(idxBytes(dims: [1], values: [0, 0, 0, 0], type: 0x0D), origin: "f.idx")
    }
    #expect(
        error?.message == "unsupported IDX element type 0x0D (32-bit float); only 0x08 (unsigned byte) is supported")
}

@Test func idxRejectsTruncatedData() {
    let error = diagnostic { _ = try IDX.decode(idxBytes(dims: [2, 3], values: [1, 2, 3, 4]), origin: "t.idx") }
    #expect(error?.description == "t.idx: error: truncated: expected 6 bytes of data, found 4")
    let header = diagnostic { _ = try IDX.decode([0, 0, 8, 3, 0, 0, 0, 2], origin: "h.idx") }
    #expect(header?.message.hasPrefix("truncated: the header declares 3 dimensions") == true)
}

@Test func idxRejectsTrailingData() {
    let error = diagnostic { _ = try IDX.decode(idxBytes(dims: [2], values: [1, 2, 3]), origin: "l.idx") }
    #expect(error?.message == "trailing data: expected 2 bytes of data for dimensions [2], found 3")
}

@Test func idxRejectsMissingFile() {
    let error = diagnostic { _ = try IDX.read(path: "/nonexistent/nngen/x.gz") }
    #expect(error?.description == "/nonexistent/nngen/x.gz: error: cannot open for reading: No such file or directory")
}

// MARK: - LabeledDataset

@Test func datasetValidates() throws {
    let dataset = LabeledDataset(samples: Array(repeating: 0.5, count: 6), labels: [0, 2, 1], sampleShape: [2])
    #expect(dataset.count == 3)
    #expect(dataset.featureCount == 2)
    #expect(dataset.classCount == 3)
    try dataset.validate(origin: "ok")

    let outOfRange = LabeledDataset(
        samples: Array(repeating: 0, count: 6), labels: [0, 5, 1], sampleShape: [2], classCount: 3)
    #expect(diagnostic { try outOfRange.validate(origin: "d") }?.message == "label 5 of sample 1 is out of range 0...2")
    let negative = LabeledDataset(samples: Array(repeating: 0, count: 2), labels: [-1], sampleShape: [2], classCount: 3)
    #expect(diagnostic { try negative.validate(origin: "d") }?.message == "label -1 of sample 0 is out of range 0...2")
    let sizes = LabeledDataset(samples: Array(repeating: 0, count: 5), labels: [0, 1, 1], sampleShape: [2])
    #expect(
        diagnostic { try sizes.validate(origin: "d") }?.message
            == "5 sample values for 3 labels of 2 features: expected 6")
}

// MARK: - FashionMNIST on small files

@Test func fashionMNISTLoadsAndNormalizesSmallFiles() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try writeSplit("t10k", in: directory, imageCount: 3, labels: [9, 0, 4], compress: false)
    let dataset = try FashionMNIST.load(directory: directory, split: .test, cache: nil)
        .mapped(by: FashionMNIST.preprocessing, channels: 1)
    #expect(dataset.count == 3)
    #expect(dataset.sampleShape == [1, 28, 28])
    #expect(dataset.featureCount == 784)
    #expect(dataset.classCount == 10)
    #expect(dataset.labels == [9, 0, 4])
    // Pixel i holds i % 256; sample 1 starts at pixel 784 (784 % 256 = 16).
    let expected: (Int) -> Float = { (Float($0 % 256) / 255 - FashionMNIST.mean) / FashionMNIST.std }
    for index in [0, 1, 255, 784, 3 * 784 - 1] {
        #expect(abs(dataset.value(at: index) - expected(index)) < 1e-5)
    }
}

@Test func fashionMNISTRejectsLabelOutOfRange() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try writeSplit("train", in: directory, imageCount: 2, labels: [3, 10])
    let error = diagnostic { _ = try FashionMNIST.load(directory: directory, split: .train, cache: nil) }
    #expect(error?.location?.file == "\(directory)/train-labels-idx1-ubyte.gz")
    #expect(error?.message == "label 10 of sample 1 is out of range 0...9")
}

@Test func fashionMNISTRejectsCountMismatch() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try writeSplit("train", in: directory, imageCount: 3, labels: [1, 2])
    let error = diagnostic { _ = try FashionMNIST.load(directory: directory, split: .train, cache: nil) }
    #expect(error?.message == "2 labels for 3 images in \(directory)/train-images-idx3-ubyte.gz")
}

@Test func fashionMNISTRejectsWrongImageShape() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try write(
        gzip(idxBytes(dims: [1, 27, 29], values: Array(repeating: 0, count: 27 * 29))),
        to: directory + "/train-images-idx3-ubyte.gz")
    try write(gzip(idxBytes(dims: [1], values: [0])), to: directory + "/train-labels-idx1-ubyte.gz")
    let error = diagnostic { _ = try FashionMNIST.load(directory: directory, split: .train, cache: nil) }
    #expect(error?.message == "expected images of shape [count, 28, 28], found [1, 27, 29]")
}

@Test func fashionMNISTDamagedFileSaysToReinstall() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try writeSplit("t10k", in: directory, imageCount: 2, labels: [1, 2])
    let path = "\(directory)/t10k-images-idx3-ubyte.gz"
    let compressed = try FileBytes.read(path, limit: 1 << 30)
    try write(Array(compressed[..<(compressed.count / 2)]), to: path)
    let error = diagnostic { _ = try FashionMNIST.load(directory: directory, split: .test, cache: nil) }
    #expect(error?.location?.file == path)
    #expect(error?.message.hasPrefix("gzip data is corrupt:") == true)
    #expect(error?.hint?.contains("apt-get install --reinstall dataset-fashion-mnist") == true)
}

@Test func fashionMNISTMissingFileNamesThePackage() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    for path in [directory, directory + "/no-such-subdirectory"] {
        let error = diagnostic { _ = try FashionMNIST.load(directory: path, split: .test, cache: nil) }
        #expect(error?.location?.file == "\(path)/t10k-images-idx3-ubyte.gz")
        #expect(error?.hint == "install the data set: apt-get install dataset-fashion-mnist")
    }
}

// MARK: - The real data set

@Test func fashionMNISTRealDataSet() throws {
    guard FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory) else {
        // Not installed: the error must say how to install it.
        let error = diagnostic { _ = try FashionMNIST.load(split: .train) }
        #expect(error?.hint?.contains("dataset-fashion-mnist") == true)
        return
    }
    let train = try FashionMNIST.load(split: .train)
    let test = try FashionMNIST.load(split: .test)
    #expect(train.count == 60_000)
    #expect(test.count == 10_000)
    #expect(train.storage.count == 60_000 * 784)
    #expect(train.labels.first == 9)  // an ankle boot
    #expect(test.labels.first == 9)
    for (dataset, perClass) in [(train, 6000), (test, 1000)] {
        var histogram = Array(repeating: 0, count: 10)
        for label in dataset.labels { histogram[Int(label)] += 1 }
        #expect(histogram == Array(repeating: perClass, count: 10))
    }
    var sum = 0.0
    var sumOfSquares = 0.0
    // The examples' normalize statistics are the training set's: mapped by them it has mean 0 and std 1.
    let values = train.mapped(by: FashionMNIST.preprocessing, channels: 1).floatValues()
    for value in values {
        sum += Double(value)
        sumOfSquares += Double(value) * Double(value)
    }
    let mean = sum / Double(values.count)
    let std = (sumOfSquares / Double(values.count) - mean * mean).squareRoot()
    #expect(abs(mean) < 1e-4)
    #expect(abs(std - 1) < 1e-4)
}

// MARK: - The decoded-data cache

/// The modification time of `path`, to put back after rewriting it (so the cache key stays the same).
private func modificationTime(_ path: String) -> timespec {
    var status = stat()
    stat(path, &status)
    return status.st_mtim
}

private func setModificationTime(_ path: String, _ time: timespec) {
    var times = [time, time]
    utimensat(AT_FDCWD, path, &times, 0)
}

@Test func decodedCacheServesTheSecondLoadWithoutZlib() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let cache = DecodedCache(directory: directory + "/cache")
    try writeSplit("train", in: directory, imageCount: 5, labels: [1, 2, 3, 4, 5])
    let first = try FashionMNIST.load(directory: directory, split: .train, cache: cache)
    let entries = try FileManager.default.contentsOfDirectory(atPath: cache.directory).sorted()
    #expect(entries.count == 2 && entries.allSatisfy { $0.hasSuffix(".decoded") })
    #expect(entries.first?.hasPrefix("train-images-idx3-ubyte-") == true)

    // Garbage of the same size with the same modification time: only the cache can give the data now.
    let images = FashionMNIST.paths(directory: directory, split: .train).images
    let mtime = modificationTime(images)
    let size = try FileBytes.read(images, limit: 1 << 30).count
    try write([UInt8](repeating: 0x55, count: size), to: images)
    setModificationTime(images, mtime)
    let second = try FashionMNIST.load(directory: directory, split: .train, cache: cache)
    #expect(second.floatValues() == first.floatValues())
    #expect(second.labels == first.labels)

    // Without the cache the garbage is read, and reported.
    #expect(diagnostic { _ = try FashionMNIST.load(directory: directory, split: .train, cache: nil) } != nil)
}

@Test func decodedCacheNeverTrustsADamagedEntry() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let cache = DecodedCache(directory: directory + "/cache")
    let source = directory + "/x.gz"
    let payload = (0..<10_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try write(gzip(payload), to: source)
    cache.store(payload, source: source)
    let entry = try #require(cache.entryPath(source: source))
    #expect(cache.lookup(source: source).map(Array.init) == payload)
    let good = try FileBytes.read(entry, limit: 1 << 30)

    var flipped = good
    flipped[24 + 5000] ^= 0x10
    try write(flipped, to: entry)
    #expect(cache.lookup(source: source) == nil, "a flipped payload bit fails the checksum")
    try write(Array(good.dropLast(7)), to: entry)
    #expect(cache.lookup(source: source) == nil, "a truncated entry fails the size check")
    try write(Array(good.prefix(10)), to: entry)
    #expect(cache.lookup(source: source) == nil, "an entry shorter than its header")
    var magic = good
    magic[0] = 0
    try write(magic, to: entry)
    #expect(cache.lookup(source: source) == nil, "a foreign file")

    // Loading through IDX rebuilds the entry.
    let idx = idxBytes(dims: [3], values: [7, 8, 9])
    try write(gzip(idx), to: source)
    try write(flipped, to: cache.entryPath(source: source) ?? entry)
    #expect(Array(try IDX.read(path: source, cache: cache).values) == [7, 8, 9])
    #expect(cache.lookup(source: source).map(Array.init) == idx)
}

@Test func decodedCacheKeyFollowsTheSourceFile() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let cache = DecodedCache(directory: directory + "/cache")
    let source = directory + "/x.gz"
    try write(gzip([1, 2, 3]), to: source)
    cache.store([1, 2, 3], source: source)
    #expect(cache.lookup(source: source) != nil)
    var later = modificationTime(source)
    later.tv_sec += 10
    setModificationTime(source, later)
    #expect(cache.lookup(source: source) == nil, "a newer source file is decoded again")
    #expect(cache.entryPath(source: directory + "/missing.gz") == nil)
}

@Test func anUnwritableCacheDirectoryMeansNoCache() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try write([0], to: directory + "/a-file")
    // A directory inside a regular file can never be created (even by root).
    let cache = DecodedCache(directory: directory + "/a-file/cache")
    try writeSplit("t10k", in: directory, imageCount: 2, labels: [3, 4])
    let dataset = try FashionMNIST.load(directory: directory, split: .test, cache: cache)
    #expect(dataset.labels == [3, 4])
    #expect(cache.lookup(source: FashionMNIST.paths(directory: directory, split: .test).images) == nil)
}

@Test func decodedCacheChecksumSeesOrderAndLength() {
    func checksum(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { DecodedCache.checksum($0) } }
    let words = (0..<32).map { UInt8($0) }
    let swapped = Array(words[8..<16] + words[0..<8] + words[16...])
    #expect(checksum(words) != checksum(swapped))
    #expect(checksum(words) != checksum(words + [0]))
    #expect(checksum([]) != checksum([0]))
}

@Test func fashionMNISTKeepsPixelBytes() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try writeSplit("t10k", in: directory, imageCount: 2, labels: [1, 2])
    let raw = try FashionMNIST.load(directory: directory, split: .test, cache: nil)
    guard case .bytes(let bytes, let map) = raw.storage else {
        Issue.record("Fashion-MNIST images should be held as bytes")
        return
    }
    #expect(bytes.count == 2 * 784 && map == .identity, "loaded raw: the spec's normalize maps them")
    // Under the examples' normalize, a byte's value is exactly the expression nngen always used:
    // p · (1 / (255 std)) + (−mean / std).
    let dataset = raw.mapped(by: FashionMNIST.preprocessing, channels: 1)
    let std = FashionMNIST.std
    let mean = FashionMNIST.mean
    let expected = (0..<2 * 784).map { Float(UInt8($0 % 256)) * (1 / (255 * std)) + -mean / std }
    #expect(dataset.floatValues().map(\.bitPattern) == expected.map(\.bitPattern))
}
