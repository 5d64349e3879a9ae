import Datasets
import Foundation

/// A directory under the system's temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "batchaug-datasets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    func read(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }

    func remove(_ name: String) throws { try FileManager.default.removeItem(atPath: file(name)) }

    /// Compresses `name` into `name.gz` with the system's gzip (removing `name`).
    func gzip(_ name: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-n", "-f", file(name)]
        try process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "gzip failed")
    }
}

/// Test pixel values: a pattern that identifies the record, channel and position.
func testPixel(record: Int, offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: record &* 31 &+ offset &* 7 &+ 3) }

/// CIFAR records: label bytes (`labels(record)`) then 3072 pixels each.
func cifarRecords(_ range: Range<Int>, labels: (Int) -> [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    for record in range {
        bytes += labels(record)
        bytes += (0 ..< 3072).map { testPixel(record: record, offset: $0) }
    }
    return bytes
}

/// A CIFAR-10 directory with `perFile` records in each of the 5 training files and `test` in the test file.
func writeCIFAR10(_ directory: TemporaryDirectory, perFile: Int, test: Int = 3) throws {
    for f in 0 ..< 5 {
        try directory.write("data_batch_\(f + 1).bin",
                            cifarRecords(f * perFile ..< (f + 1) * perFile) { [UInt8($0 % 10)] })
    }
    try directory.write("test_batch.bin", cifarRecords(0 ..< test) { [UInt8(($0 + 1) % 10)] })
}

func bigEndian(_ words: [UInt32]) -> [UInt8] {
    words.flatMap { w in [UInt8(w >> 24), UInt8(w >> 16 & 0xff), UInt8(w >> 8 & 0xff), UInt8(w & 0xff)] }
}

func idxImages(count: Int, rows: Int = 28, columns: Int = 28, magic: UInt32 = 0x803) -> [UInt8] {
    bigEndian([magic, UInt32(count), UInt32(rows), UInt32(columns)])
        + (0 ..< count).flatMap { r in (0 ..< rows * columns).map { testPixel(record: r, offset: $0) } }
}

func idxLabels(count: Int, magic: UInt32 = 0x801, label: (Int) -> UInt8 = { UInt8($0 % 10) }) -> [UInt8] {
    bigEndian([magic, UInt32(count)]) + (0 ..< count).map(label)
}

/// An MNIST-style directory for `split`, optionally gzip-compressed.
func writeIDX(_ directory: TemporaryDirectory, split: Split = .train, count: Int, gzip: Bool,
              images: [UInt8]? = nil, labels: [UInt8]? = nil) throws {
    let prefix = split == .train ? "train" : "t10k"
    let imageName = "\(prefix)-images-idx3-ubyte", labelName = "\(prefix)-labels-idx1-ubyte"
    try directory.write(imageName, images ?? idxImages(count: count))
    try directory.write(labelName, labels ?? idxLabels(count: count))
    if gzip {
        try directory.gzip(imageName)
        try directory.gzip(labelName)
    }
}

/// The CIFAR-10 copy in ../shared/datasets relative to the repository root (found from this
/// file's path), or nil.
let cifar10Directory: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let directory = root.deletingLastPathComponent().appendingPathComponent("shared/datasets/cifar10-jpeg").path
    return FileManager.default.fileExists(atPath: directory + "/data_batch_1.bin") ? directory : nil
}()

let fashionDirectory: String? = {
    let directory = "/usr/share/datasets/fashion-mnist"
    return FileManager.default.fileExists(atPath: directory + "/train-images-idx3-ubyte.gz") ? directory : nil
}()

/// Per-channel mean and population standard deviation of pixel/255 over a shard.
func channelStatistics(_ shard: ImageShard) -> (mean: [Double], std: [Double]) {
    let channels = shard.descriptor.channels
    let plane = shard.descriptor.height * shard.descriptor.width
    var sum = [Double](repeating: 0, count: channels), squares = sum
    let pixels = shard.allPixels
    for record in 0 ..< shard.count {
        for c in 0 ..< channels {
            var s = 0, q = 0
            let base = record * shard.recordBytes + c * plane
            for i in 0 ..< plane {
                let v = Int(pixels[base + i])
                s += v
                q += v * v
            }
            sum[c] += Double(s)
            squares[c] += Double(q)
        }
    }
    let n = Double(shard.count * plane)
    let mean = sum.map { $0 / n / 255 }
    let std = zip(squares, mean).map { (($0 / n / 65025) - $1 * $1).squareRoot() }
    return (mean, std)
}
