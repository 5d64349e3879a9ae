#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Randomness

/// Photographs in one folder per class, as torchvision's `ImageFolder` reads them:
/// `ROOT/train/<class>/…` and `ROOT/val/<class>/…`.
///
/// **Classes and order.** The classes are the sorted names of the folders in `train/` (label 0 is
/// the first); `val/` must have the same folders. Within a class folder, subfolders are followed
/// (symbolic links too) and the samples are ordered as torchvision orders them: directories by
/// their path, files by name within each (byte order, as Python sorts `str`). That order numbers
/// the split's samples 0, 1, 2, … — the global indices sharding, epoch orders and augmentation
/// draws are keyed by.
///
/// **What is a sample.** A file whose extension is `.jpg`, `.jpeg` or `.png` (any case). Any other
/// file, and anything hidden (a name starting with '.', such as macOS's `._x.jpg` or Jupyter's
/// `.ipynb_checkpoints`), is not a sample: such files are counted and named once (`skipped`). The
/// format is then told by the file's first bytes, not by its name.
///
/// **Refused layouts**, each with what to do: no `train/`, no class folder, an empty class, a class
/// missing from `val/` (or one `val/` has and `train/` has not), no `val/` without
/// `--val-fraction`, a symbolic link loop, a link to nothing, an unreadable directory.
///
/// Every rank lists the names (directory reads, no `stat` of regular files), which it needs to
/// number the samples alike; only its own shard's paths are then kept, opened and read.
public struct ImageFolder: Sendable {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// One split's samples in their global order.
    public struct Listing: Sendable {
        /// Paths relative to the dataset's root (`train/ants/x.jpg`).
        public var paths: [String]
        public var labels: [Int32]
        public var count: Int { paths.count }
    }

    public let root: String
    public let classes: [String]
    public let train: Listing
    public let validation: Listing
    /// Files that are not samples, relative to the root, sorted.
    public let skipped: [String]
    /// The fraction of each class taken from train/ for validation (nil: val/ is the validation split).
    public let validationFraction: Double?

    /// Lists the dataset at `root`. `validationFraction`: take that fraction of each class of
    /// train/ as the validation split (a fixed, seed-independent choice) instead of reading val/.
    /// `requiringValidation: false` accepts a folder without val/ (its validation split empty).
    public init(root: String, validationFraction: Double? = nil, requiringValidation: Bool = true) throws {
        self.root = root
        self.validationFraction = validationFraction
        guard directoryExists(root) else {
            throw DatasetError(path: root, .layout(fileExists(root)
                ? "not a directory; --data-dir names the folder that holds train/ (and val/)"
                : "no such directory; --data-dir names the folder that holds train/<class>/… (and val/<class>/…)"))
        }
        var skipped: [String] = []
        let trainDirectory = joinPath(root, "train")
        guard directoryExists(trainDirectory) else {
            throw DatasetError(path: trainDirectory, .layout(
                "missing: the training images go in train/<class>/… (one folder per class) under \(root)"))
        }
        let (classNames, loose) = try Self.classFolders(trainDirectory)
        skipped += loose.map { "train/" + $0 }
        guard !classNames.isEmpty else {
            throw DatasetError(path: trainDirectory, .layout("holds no class folder: put each class's images in train/<class>/"))
        }
        classes = classNames
        var all = try Self.list(root: root, split: "train", classes: classNames, skipped: &skipped)
        if let fraction = validationFraction {
            (all, validation) = Self.split(all, classes: classNames.count, fraction: fraction)
        } else {
            let valDirectory = joinPath(root, "val")
            if !requiringValidation && !fileExists(valDirectory) && !directoryExists(valDirectory) {
                train = all
                validation = Listing(paths: [], labels: [])
                self.skipped = skipped.sorted(by: byteOrder)
                return
            }
            guard directoryExists(valDirectory) else {
                throw DatasetError(path: valDirectory, .layout(
                    "missing: put the validation images in val/<class>/… with the same class folders as train/, "
                        + "or take them from train/ with --val-fraction (e.g. 0.1)"))
            }
            let (valNames, valLoose) = try Self.classFolders(valDirectory)
            skipped += valLoose.map { "val/" + $0 }
            if let missing = classNames.first(where: { !valNames.contains($0) }) {
                throw DatasetError(path: joinPath(valDirectory, missing), .layout(
                    "missing: class '\(missing)' has a folder in train/ but none in val/ (every class needs its validation "
                        + "images: add val/\(missing)/, or take the validation images from train/ with --val-fraction)"))
            }
            if let extra = valNames.first(where: { !classNames.contains($0) }) {
                throw DatasetError(path: joinPath(valDirectory, extra), .layout(
                    "class '\(extra)' has a folder in val/ but none in train/ (a model cannot learn it): "
                        + "add train/\(extra)/ or remove val/\(extra)/"))
            }
            validation = try Self.list(root: root, split: "val", classes: classNames, skipped: &skipped)
        }
        train = all
        self.skipped = skipped.sorted(by: byteOrder)
    }

    /// The listing of `split`.
    public func listing(_ split: Split) -> Listing { split == .train ? train : validation }

    /// The sorted names of the class folders in `directory`, and the other entries (files, hidden
    /// folders), which are not classes.
    static func classFolders(_ directory: String) throws -> (classes: [String], others: [String]) {
        var classes: [String] = [], others: [String] = []
        for entry in try directoryEntries(directory) {
            if entry.name.hasPrefix(".") {
                others.append(entry.name)
            } else if try kind(of: entry, in: directory) == .directory {
                classes.append(entry.name)
            } else {
                others.append(entry.name)
            }
        }
        return (classes.sorted(by: byteOrder), others)
    }

    /// Every sample of `split` (its class folders in label order), in torchvision's order.
    static func list(root: String, split: String, classes: [String], skipped: inout [String]) throws -> Listing {
        var listing = Listing(paths: [], labels: [])
        for (label, name) in classes.enumerated() {
            let relative = split + "/" + name
            var directories: [(path: String, files: [String])] = []
            var visiting: [(device: UInt64, inode: UInt64)] = []
            try walk(root: root, relative: relative, visiting: &visiting, into: &directories, skipped: &skipped)
            directories.sort { byteOrder($0.path, $1.path) }
            let before = listing.count
            for directory in directories {
                for file in directory.files.sorted(by: byteOrder) {
                    listing.paths.append(directory.path + "/" + file)
                    listing.labels.append(Int32(label))
                }
            }
            guard listing.count > before else {
                throw DatasetError(path: joinPath(root, relative), .layout(
                    "class '\(name)' has no JPEG or PNG image (.jpg, .jpeg, .png): add its images, or remove the folder "
                        + (split == "train" ? "(and its val/ folder)" : "and train/\(name)/ with it")))
            }
        }
        return listing
    }

    private enum EntryKind { case directory, file, missing }

    /// A directory entry's kind, following symbolic links; a link loop is an error naming it.
    private static func kind(of entry: DirectoryEntry, in directory: String) throws -> EntryKind {
        switch entry.type {
        case UInt8(DT_DIR): return .directory
        case UInt8(DT_REG): return .file
        default:
            let path = joinPath(directory, entry.name)
            var status = stat()
            if stat(path, &status) != 0 {
                let code = errno
                if code == ELOOP {
                    throw DatasetError(path: path, .layout("a symbolic link loop (following it never reaches a file or "
                        + "folder): remove the link or point it at the real folder"))
                }
                if code == ENOENT { return .missing }
                throw DatasetError(path: path, .unreadable(reason: errorText(code)))
            }
            return (status.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
        }
    }

    /// Collects the image files of `relative` and its subfolders (links followed), refusing a
    /// folder that contains itself through a link.
    private static func walk(root: String, relative: String, visiting: inout [(device: UInt64, inode: UInt64)],
                             into directories: inout [(path: String, files: [String])], skipped: inout [String]) throws {
        let path = joinPath(root, relative)
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw DatasetError(path: path, .unreadable(reason: errorText(errno)))
        }
        let identity = (device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        if visiting.contains(where: { $0.device == identity.device && $0.inode == identity.inode }) {
            throw DatasetError(path: joinPath(root, lastLink(in: relative, root: root) ?? relative), .layout(
                "a symbolic link loop (it leads back into a folder that contains it): remove the link"))
        }
        visiting.append(identity)
        defer { visiting.removeLast() }
        var files: [String] = []
        for entry in try directoryEntries(path) {
            let name = relative + "/" + entry.name
            if entry.name.hasPrefix(".") {
                skipped.append(name)
                continue
            }
            switch try kind(of: entry, in: path) {
            case .directory:
                try walk(root: root, relative: name, visiting: &visiting, into: &directories, skipped: &skipped)
            case .file:
                if isImageName(entry.name) { files.append(entry.name) } else { skipped.append(name) }
            case .missing:
                if isImageName(entry.name) {
                    throw DatasetError(path: joinPath(path, entry.name), .layout(
                        "a symbolic link to a file that does not exist: remove the link or restore its target"))
                }
                skipped.append(name)
            }
        }
        directories.append((relative, files))
    }

    /// The longest prefix of `relative` that is a symbolic link (the link a loop went through).
    private static func lastLink(in relative: String, root: String) -> String? {
        let components = relative.split(separator: "/").map(String.init)
        for count in stride(from: components.count, to: 0, by: -1) {
            let prefix = components[..<count].joined(separator: "/")
            var status = stat()
            if lstat(joinPath(root, prefix), &status) == 0 && (status.st_mode & S_IFMT) == S_IFLNK { return prefix }
        }
        return nil
    }

    /// Whether a file name has an image extension.
    public static func isImageName(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), !name.hasPrefix(".") else { return false }
        return imageExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    /// Splits `all` into (train, validation): of each class's n samples, round(fraction·n) (at most
    /// n − 1) go to validation, drawn by a partial Fisher–Yates shuffle keyed by the class alone —
    /// the same split for every run and seed. Both keep the global order.
    static func split(_ all: Listing, classes: Int, fraction: Double) -> (train: Listing, validation: Listing) {
        var byClass = [[Int]](repeating: [], count: classes)
        for (index, label) in all.labels.enumerated() { byClass[Int(label)].append(index) }
        var chosen = [Bool](repeating: false, count: all.count)
        let key = derivedSeed(0, purpose: .validationSplit)
        for (label, var members) in byClass.enumerated() {
            let take = min(Int((fraction * Double(members.count)).rounded()), members.count - 1)
            var random = CounterRNG(seed: key, stream: (UInt32(truncatingIfNeeded: label), 0, 0))
            for i in 0 ..< max(take, 0) {
                members.swapAt(i, i + random.below(members.count - i))
                chosen[members[i]] = true
            }
        }
        var train = Listing(paths: [], labels: []), validation = Listing(paths: [], labels: [])
        for index in 0 ..< all.count {
            if chosen[index] {
                validation.paths.append(all.paths[index]); validation.labels.append(all.labels[index])
            } else {
                train.paths.append(all.paths[index]); train.labels.append(all.labels[index])
            }
        }
        return (train, validation)
    }
}

/// One name read from a directory, and its type as `readdir` reports it.
struct DirectoryEntry {
    let name: String
    let type: UInt8
}

/// The entries of `directory` (without "." and ".."), in the order the file system gives them.
func directoryEntries(_ directory: String) throws -> [DirectoryEntry] {
    guard let handle = opendir(directory) else {
        throw DatasetError(path: directory, .unreadable(reason: errorText(errno)))
    }
    defer { closedir(handle) }
    var entries: [DirectoryEntry] = []
    while true {
        errno = 0
        guard let entry = readdir(handle) else {
            if errno != 0 { throw DatasetError(path: directory, .unreadable(reason: errorText(errno))) }
            break
        }
        let name = withUnsafePointer(to: &entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        entries.append(DirectoryEntry(name: name, type: entry.pointee.d_type))
    }
    return entries
}

/// Byte order of the UTF-8 text: the order Python's `sorted` gives `str` (code points).
func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}
