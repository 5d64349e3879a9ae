import Augmentation
import Foundation
import Datasets
import Engine
#if canImport(Glibc)
import Glibc
#endif

/// Images ready for a model: float32 NCHW, preprocessed as for validation with the model's
/// normalisation, each with a name for people and, when known, its label.
public struct PredictionInputs: Sendable {
    public var names: [String] = []
    /// The label of each image among the source's classes, when the source has labels.
    public var labels: [Int?] = []
    /// The source's name of each label (nil where there is no label).
    public var labelNames: [String?] = []
    /// `count × C × H × W` values.
    public var images: [Float] = []
    /// Files of the folders given that are not images by their names (left out).
    public var skipped: [String] = []

    public var count: Int { names.count }

    public init() {}

    /// Records `selection` of `split` of a dataset (CIFAR, IDX or synthetic): the stored pixels
    /// normalised with the model's constants, no crop or flip (what `eval` feeds the model). A
    /// dataset whose images are not the model's shape is refused.
    public static func records(_ kind: DatasetKind, directory: String?, split: Split, selection: RecordSelection,
                               model card: ModelCard) throws -> PredictionInputs {
        let shard = try ImageShard.load(kind, directory: directory, split: split)
        let d = shard.descriptor
        guard d.channels == card.input.channels, d.height == card.input.height, d.width == card.input.width else {
            throw ExportError("--dataset \(kind.rawValue): its images are \(d.channels)×\(d.height)×\(d.width) "
                + "(channels×height×width); the model (\(card.architecture)) takes \(card.input)")
        }
        let indices = try selection.indices(count: shard.count, what: "\(kind.rawValue) \(split.rawValue) records")
        let shape = ImageShape(d)
        let normalisation = Normalisation(mean: card.mean, std: card.std)
        let classNames = d.classNames
        var inputs = PredictionInputs()
        inputs.images = [Float](repeating: 0, count: indices.count * shape.count)
        inputs.images.withUnsafeMutableBufferPointer { images in
            for (row, index) in indices.enumerated() {
                ImageKernels.crop(shard.pixels(of: index).baseAddress!, shape: shape, top: 0, left: 0, flipped: false,
                                  normalisation: normalisation, into: images.baseAddress! + row * shape.count)
            }
        }
        for index in indices {
            let label = Int(shard.labels[index])
            inputs.names.append("\(kind.rawValue) \(split.rawValue) #\(index)")
            inputs.labels.append(label)
            inputs.labelNames.append(classNames[label])
        }
        return inputs
    }
}

extension PredictionInputs {
    /// Photographs (JPEG or PNG files) as validation sees them: decoded by the folder loader's
    /// decoder, resized on the shorter side and centre-cropped to the model's S×S
    /// (`CentreCrop`), rounded to bytes, normalised with the model's constants: a photograph of a
    /// validation folder gives the model what `eval` gives it. Each path is an image file or a
    /// folder: a folder's images, and those of its subfolders, sorted by name; a subfolder named
    /// like one of the model's classes labels its images with that class (a `val/` folder).
    /// Files in a folder whose names are not images are left out and counted in `skipped`.
    public static func photographs(_ paths: [String], model card: ModelCard,
                                   maxPixels: Int = ImageDecoder.defaultMaxPixels) throws -> PredictionInputs {
        let input = card.input
        guard input.channels == 3, input.height == input.width else {
            throw ExportError("the model (\(card.architecture)) takes \(input) images (channels×height×width), not "
                + "photographs (RGB, square after the centre crop): give records of its dataset with --records")
        }
        var files: [(path: String, label: Int?)] = []
        var inputs = PredictionInputs()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ExportError("\(path): no such file or folder")
            }
            guard isDirectory.boolValue else { files.append((path, nil)); continue }
            for (file, subfolder) in try imagesIn(folder: path, skipped: &inputs.skipped) {
                files.append((file, subfolder.flatMap { card.classes.firstIndex(of: $0) }))
            }
        }
        guard !files.isEmpty else { throw ExportError("no JPEG or PNG images in \(paths.joined(separator: ", "))") }

        let shape = ImageShape(channels: 3, height: input.height, width: input.width)
        let crop = CentreCrop(size: input.height)
        let decoder = ImageDecoder(maxPixels: maxPixels)
        let decoded = ByteBuffer()
        let normalisation = Normalisation(mean: card.mean, std: card.std)
        var record = [UInt8](repeating: 0, count: shape.count)
        inputs.images = [Float](repeating: 0, count: files.count * shape.count)
        for (row, file) in files.enumerated() {
            let bytes: Data
            do {
                bytes = try Data(contentsOf: URL(fileURLWithPath: file.path), options: .mappedIfSafe)
            } catch {
                throw ExportError("\(file.path) cannot be read: \(error.localizedDescription)")
            }
            let image = try bytes.withUnsafeBytes {
                try decoder.decode($0, path: file.path, shorterSide: crop.decodeSide, into: decoded)
            }
            record.withUnsafeMutableBufferPointer { record in
                crop.record(of: image, into: record.baseAddress!)
                inputs.images.withUnsafeMutableBufferPointer { images in
                    ImageKernels.crop(UnsafePointer(record.baseAddress!), shape: shape, top: 0, left: 0, flipped: false,
                                      normalisation: normalisation, into: images.baseAddress! + row * shape.count)
                }
            }
            inputs.names.append(file.path)
            inputs.labels.append(file.label)
            inputs.labelNames.append(file.label.map { card.classes[$0] })
        }
        return inputs
    }

    /// The image files of `folder` and of its subfolders (one level; symbolic links to folders
    /// are not followed), sorted, each with the name of the subfolder it is in.
    private static func imagesIn(folder: String, skipped: inout [String]) throws -> [(String, String?)] {
        let manager = FileManager.default
        func entries(_ directory: String) throws -> [String] {
            do {
                return try manager.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
            } catch {
                throw ExportError("\(directory) cannot be listed: \(error.localizedDescription)")
            }
        }
        func isFolder(_ path: String) -> Bool {
            (try? manager.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeDirectory
        }
        var found: [(String, String?)] = []
        for name in try entries(folder) {
            let path = (folder as NSString).appendingPathComponent(name)
            if isFolder(path) {
                for inner in try entries(path) {
                    let file = (path as NSString).appendingPathComponent(inner)
                    if isFolder(file) { continue }
                    if ImageFolder.isImageName(inner) { found.append((file, name)) } else { skipped.append(file) }
                }
            } else if ImageFolder.isImageName(name) {
                found.append((path, nil))
            } else {
                skipped.append(path)
            }
        }
        return found
    }
}

/// Which records of a split: "all", or a comma-separated list of indices and inclusive ranges
/// ("0-9", "0..9", "3,17,40-49"), counted from 0.
public struct RecordSelection: Sendable, Equatable {
    /// nil: every record.
    public let ranges: [ClosedRange<Int>]?

    public static let all = RecordSelection(ranges: nil)

    public init(ranges: [ClosedRange<Int>]?) { self.ranges = ranges }

    /// Parses the option's text; the error says what is wrong with it.
    public init(parsing text: String) throws {
        guard text != "all" else { self = .all; return }
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        ranges = try items.map { item in
            let bounds = item.contains("..") ? item.split(separator: ".", omittingEmptySubsequences: true)
                : item.split(separator: "-", omittingEmptySubsequences: false)
            let numbers = bounds.map { Int($0) }
            guard (1 ... 2).contains(numbers.count), let low = numbers.first!, let high = numbers.last!, low >= 0, low <= high else {
                throw ExportError("--records '\(text)': '\(item)' is not an index or a range A-B of indices with A ≤ B "
                    + "(give e.g. 0-9,20 or all)")
            }
            return low ... high
        }
    }

    /// The indices, in the order given; an index past `count` is an error naming `what`.
    public func indices(count: Int, what: String) throws -> [Int] {
        guard let ranges else { return Array(0 ..< count) }
        if let past = ranges.first(where: { $0.upperBound >= count }) {
            throw ExportError("--records: \(past.upperBound) is past the last of the \(count) \(what) (0 to \(count - 1))")
        }
        return ranges.flatMap { Array($0) }
    }
}

/// What the model says of one image: its logits and their softmax.
public struct Prediction: Sendable {
    public let logits: [Float]
    public let probabilities: [Float]

    public init(logits: [Float]) {
        self.logits = logits
        let maximum = logits.max() ?? 0
        let exponentials = logits.map { Double(expf($0 - maximum)) }
        let total = exponentials.reduce(0, +)
        probabilities = exponentials.map { Float($0 / total) }
    }

    /// The `k` most probable classes, most probable first (ties: the lower class first).
    public func top(_ k: Int) -> [(index: Int, probability: Float)] {
        probabilities.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(k).map { ($0.offset, $0.element) }
    }

    /// Runs `model` over `inputs`, `chunk` images per forward pass.
    public static func run(_ model: TrainedModel, on inputs: PredictionInputs, chunk: Int = 64) -> [Prediction] {
        let network = model.network, classes = network.classes
        guard inputs.count > 0 else { return [] }
        precondition(inputs.images.count == inputs.count * network.inputShape.elements, "inputs of another shape")
        var logits = [Float](repeating: 0, count: inputs.count * classes)
        inputs.images.withUnsafeBufferPointer { images in
            logits.withUnsafeMutableBufferPointer { out in
                network.logits(images: images.baseAddress!, count: inputs.count, chunk: chunk, into: out.baseAddress!)
            }
        }
        return (0 ..< inputs.count).map { Prediction(logits: Array(logits[$0 * classes ..< ($0 + 1) * classes])) }
    }
}
