import ArgumentParser
import Collectives
import Datasets
import Formatting
import Foundation
import SwiftMPI

/// `batchaug-dist data …`: tools for the user's own photographs.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Your own photographs: pack a folder into tar shards, check that every file decodes.",
        subcommands: [DataPack.self, DataCheck.self])
}

/// `batchaug-dist data pack DIR --output OUT`: a folder of photographs as WebDataset tar shards.
struct DataPack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack DIR/train/<class>/… and DIR/val/<class>/… into tar shards (KEY.jpg|png + KEY.cls) and shards.json.",
        discussion: """
            Samples keep the folder's order and numbers (the key of sample i is its number, 8 digits); image \
            bytes are copied unchanged. Train with --dataset shards --data-dir OUT: each rank then reads only \
            its own shards (shard r, r+N, …), so there must be at least as many training shards as ranks. \
            With --shards N on N ranks, shard r holds exactly rank r's folder shard and training visits the \
            samples as from the folder.
            """)

    @Argument(help: ArgumentHelp("The folder: it holds train/<class>/… and, optionally, val/<class>/….", valueName: "dir"))
    var directory: String

    @Option(help: ArgumentHelp("Directory for the shards and shards.json (created; must not hold shards yet).", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("At most this much per shard, e.g. 256MB or 1G (default 256MB).", valueName: "size"))
    var shardSize: String?

    @Option(help: "Cut each split into this many shards of near-equal numbers of samples (instead of --shard-size).")
    var shards: Int?

    @Option(help: "Take this fraction of each class of train/ as the validation split (instead of val/).")
    var valFraction: Double?

    func validate() throws {
        if shards != nil && shardSize != nil { throw ValidationError("give --shard-size or --shards, not both") }
        if let shards, shards < 1 { throw ValidationError("--shards must be at least 1, got \(shards)") }
        if let shardSize {
            do {
                guard try ByteSize.parse(shardSize) >= 4096 else {
                    throw ValidationError("--shard-size must be at least 4K, got '\(shardSize)'")
                }
            } catch let error as ByteSize.ParseError {
                throw ValidationError("--shard-size: \(error)")
            }
        }
        if let valFraction, !(valFraction > 0 && valFraction < 1) {
            throw ValidationError("--val-fraction must be a fraction between 0 and 1, got \(valFraction)")
        }
    }

    func run() throws {
        // Under mpirun every rank would write the same files: the first one does.
        guard LaunchEnvironment.rank ?? 0 == 0 else { return }
        let cut: ShardPacking.Cut = try shards.map { .shards($0) } ?? .bytes(try ByteSize.parse(shardSize ?? "256M"))
        do {
            let outcome = try ShardPacking.pack(folder: directory, validationFraction: valFraction, output: output, cut: cut) {
                print($0)
                fflush(nil)
            }
            let index = outcome.index
            print("packed \(index.count(.train)) training and \(index.count(.test)) validation samples of "
                + "\(index.classes.count) classes into \(index.train.count + index.val.count) shards "
                + "(\(ByteSize.describe(Double(outcome.bytes)))) and \(output)/\(ShardIndex.fileName)")
            if !outcome.skipped.isEmpty {
                print("not samples (not JPEG or PNG by their names, or hidden): \(outcome.skipped.joined(separator: ", "))")
            }
        } catch {
            StandardError.report("data pack: \(error)")
            throw ExitCode.failure
        }
    }
}

/// `batchaug-dist data check DIR`: every sample decoded once, the bad files listed.
struct DataCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Decode every image of a folder or of shards once (shared by the ranks) and list the bad files.",
        discussion: """
            DIR is what --data-dir names: a folder (train/<class>/…, val/<class>/…) or a directory of shards. \
            Each bad file is listed with what is wrong; the exit status is 1 if there is any, 0 otherwise.
            """)

    @Argument(help: ArgumentHelp("The folder or shard directory.", valueName: "dir"))
    var directory: String

    @Option(help: "Refuse images of more pixels (default 89478485, as Pillow).")
    var maxImagePixels = ImageDecoder.defaultMaxPixels

    func validate() throws {
        if maxImagePixels < 1 { throw ValidationError("--max-image-pixels must be at least 1, got \(maxImagePixels)") }
    }

    func run() throws {
        var bad = false
        try runJob { world in
            let contents = try world.collectively { try DatasetCheck.contents(of: directory) }
            let own = try world.collectively {
                try DatasetCheck.run(directory: directory, rank: world.rank, ranks: world.size, maxPixels: maxImagePixels)
            }
            // Every rank's report, from every rank in turn.
            let mine = [UInt8](try JSONEncoder().encode(own))
            var report = DatasetCheck.Report()
            for rank in 0 ..< world.size {
                let bytes = try world.broadcast(bytes: rank == world.rank ? mine : [], root: rank)
                report.add(try JSONDecoder().decode(DatasetCheck.Report.self, from: Data(bytes)))
            }
            bad = !report.problems.isEmpty
            guard world.isRoot else { return }
            print("\(directory): \(contents.kind == .shards ? "shards" : "folder"), \(contents.train) training and "
                + "\(contents.validation) validation samples; \(report.checked) decoded on \(world.size) rank"
                + "\(world.size == 1 ? "" : "s"): \(report.problems.isEmpty ? "all good" : "\(report.problems.count) bad")")
            for problem in report.problems.sorted(by: { $0.file < $1.file }) { print("bad: \(problem.message)") }
            if !contents.skipped.isEmpty {
                print("not samples (not JPEG or PNG by their names, or hidden): \(contents.skipped.joined(separator: ", "))")
            }
            fflush(nil)
        }
        if bad { throw ExitCode.failure }
    }
}
