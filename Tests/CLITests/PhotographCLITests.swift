import Checkpoints
import Foundation
import Testing
import TestSupport

/// Your own images (issue 22) as users run them: `train --dataset folder|shards` under mpirun,
/// `data pack`, `data check`, `eval`, `bench augment --dataset folder`, and hostile folders.
@Suite("photographs: folder and shards under mpirun", .serialized)
struct PhotographCLITests {
    /// Small and quick: 16 training photographs of two classes, 6 validation ones, 16×16 images.
    static let quick = ["train", "--model", "mlp", "--size", "16", "--batch-size", "8", "--log-every", "1"]

    /// A folder of generated photographs (JPEG, varied sizes) in a fresh directory.
    static func makeFolder(_ name: String, perClass: Int = 8, validationPerClass: Int = 3) throws -> URL {
        let root = scratchDirectory(name)
        try ImageFiles.folder(at: root.path, perClass: perClass, validationPerClass: validationPerClass)
        return root
    }

    @Test("train from a folder at -np 2: classes by name in config.json and the checkpoint; a file that is not a sample named once; eval")
    func trainFromFolder() throws {
        let root = try Self.makeFolder("folder")
        try Data("not an image".utf8).write(to: root.appendingPathComponent("train/cats/notes.txt"))
        let output = scratchDirectory("folder-run")
        let outcome = try runBatchAugDist(ranks: 2, Self.quick + ["--dataset", "folder", "--data-dir", root.path, "--epochs", "2",
                                                                  "--output", output.path])
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome)")
        #expect(outcome.stdout.contains("2 classes (cats, dogs), 16 training and 6 validation images, as 16×16 (rrc=0.08-1"),
                "\(outcome.stdout)")
        #expect(outcome.stdout.components(separatedBy: "1 file is not a sample (not a JPEG or PNG image by its name, or hidden): "
            + "train/cats/notes.txt").count == 2, "named once: \(outcome.stdout)")
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json")))
            as? [String: Any])
        #expect((config["job"] as? [String: Any])?["classes"] as? [String] == ["cats", "dogs"])
        #expect(((config["configuration"] as? [String: Any])?["size"] as? Int) == 16)
        let checkpoint = try CheckpointStore.latest(in: output)
        #expect(checkpoint.info.extra["classes"] == .array([.string("cats"), .string("dogs")]))
        #expect(try resultRows(output).count == 2)

        let evaluation = try runBatchAugDist(ranks: 2, ["eval", "--checkpoint", output.path, "--json"])
        #expect(evaluation.status == 0, "\(evaluation)")
        #expect(evaluation.stdout.contains("\"samples\":6"), "\(evaluation.stdout)")
        // predict on the validation folder: the images eval scores, preprocessed alike (same errors),
        // labelled by their class folders; a single file; a file that is not an image.
        let folderEval = try CLITests.evaluation(output)
        let predicted = try predictions(try succeed(["predict", "--checkpoint", output.path, root.appendingPathComponent("val").path,
                                                     "--json"]))
        #expect(predicted.count == 6 && predicted.map(\.label) == [0, 0, 0, 1, 1, 1], "\(predicted)")
        #expect(wrongCount(predicted) == folderEval.wrong, "predict on val/ against eval: \(folderEval)")
        let photo = try #require(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("val/dogs").path)
            .sorted().first)
        let one = try succeed(["predict", "--checkpoint", output.path, root.appendingPathComponent("val/dogs/\(photo)").path,
                               "--top-k", "2"])
        #expect(one.hasPrefix(root.appendingPathComponent("val/dogs/\(photo)").path + ": ")
                && one.contains("cats ") && one.contains("dogs ") && one.contains("%"), "\(one)")
        try expectRefused(ranks: nil, ["predict", "--checkpoint", output.path, root.appendingPathComponent("train/cats/notes.txt").path],
                          naming: ["train/cats/notes.txt"])
        // Exported, the model keeps its classes, input size and normalisation: the same predictions.
        let exported = scratchDirectory("folder-export").appendingPathExtension("safetensors")
        _ = try succeed(["export", "--checkpoint", output.path, "--output", exported.path])
        let fromFile = try predictions(try succeed(["predict", "--model", exported.path, root.appendingPathComponent("val").path,
                                                    "--json"]))
        #expect(fromFile.map(\.label) == predicted.map(\.label) && fromFile.map(\.logits) == predicted.map(\.logits))
        let skipping = try runBatchAugDist(ranks: nil, ["predict", "--checkpoint", output.path, root.appendingPathComponent("train").path])
        #expect(skipping.status == 0 && skipping.stderr.contains("1 file is not JPEG or PNG by name and left out")
                && skipping.stdout.split(separator: "\n").count == 16, "\(skipping)")

        // A folder whose classes are not the checkpoint's is refused, naming both.
        let other = try Self.makeFolder("folder-other")
        try FileManager.default.moveItem(at: other.appendingPathComponent("train/dogs"), to: other.appendingPathComponent("train/wolves"))
        try FileManager.default.moveItem(at: other.appendingPathComponent("val/dogs"), to: other.appendingPathComponent("val/wolves"))
        try expectRefused(ranks: 2, ["eval", "--checkpoint", output.path, "--data-dir", other.path],
                          naming: ["has the classes cats, wolves; the checkpoint was trained on cats, dogs"])
    }

    @Test("a folder and its pack with --shards 2 train to the same bits on 2 ranks; eval reads the same validation images")
    func folderAndShardsAgree() throws {
        let root = try Self.makeFolder("agree")
        let packed = scratchDirectory("agree-packed")
        let pack = try runBatchAugDist(ranks: nil, ["data", "pack", root.path, "--output", packed.path, "--shards", "2"])
        #expect(pack.status == 0, "\(pack)")
        #expect(pack.stdout.contains("packed 16 training and 6 validation samples of 2 classes into 4 shards"), "\(pack.stdout)")
        var runs: [URL] = []
        for (dataset, directory) in [("folder", root), ("shards", packed)] {
            let output = scratchDirectory("agree-\(dataset)")
            let outcome = try runBatchAugDist(ranks: 2, Self.quick + ["--dataset", dataset, "--data-dir", directory.path, "--epochs", "3",
                                                                      "--copies", "2", "--output", output.path])
            #expect(outcome.status == 0, "\(outcome)")
            runs.append(output)
        }
        let a = try checkpointTensors(runs[0]), b = try checkpointTensors(runs[1])
        #expect(a.keys.sorted() == b.keys.sorted() && !a.isEmpty)
        for name in a.keys { #expect(a[name]!.map(\.bitPattern) == b[name]!.map(\.bitPattern), "\(name)") }

        var reports: [String] = []
        for (dataset, directory) in [("folder", root), ("shards", packed)] {
            let evaluation = try runBatchAugDist(ranks: 2, ["eval", "--checkpoint", runs[0].path, "--dataset", dataset,
                                                            "--data-dir", directory.path, "--json"])
            #expect(evaluation.status == 0, "\(evaluation)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
            reports.append("\(object["test_loss"] ?? "") \(object["test_error"] ?? "") \(object["samples"] ?? "")")
        }
        #expect(reports[0] == reports[1] && reports[0].hasSuffix(" 6"), "\(reports)")

        // One shard for two ranks is refused before anything runs, saying how to pack.
        let single = scratchDirectory("agree-single")
        #expect(try runBatchAugDist(ranks: nil, ["data", "pack", root.path, "--output", single.path]).status == 0)
        try expectRefused(ranks: 2, Self.quick + ["--dataset", "shards", "--data-dir", single.path],
                          naming: ["--data-dir", "lists 1 training shard for 2 ranks", "--shards 2"])
    }

    @Test("--cache-decoded gives the same bits; a folder run stopped by --max-steps and resumed ends as the straight run")
    func cacheAndResume() throws {
        let root = try Self.makeFolder("resume")
        let common = Self.quick + ["--dataset", "folder", "--data-dir", root.path, "--epochs", "3", "--copies", "3"]
        let straight = scratchDirectory("resume-straight"), cached = scratchDirectory("resume-cached"), resumed = scratchDirectory("resume-resumed")
        #expect(try runBatchAugDist(ranks: 2, common + ["--output", straight.path]).status == 0)
        let withCache = try runBatchAugDist(ranks: 2, common + ["--output", cached.path, "--cache-decoded", "1M"])
        #expect(withCache.status == 0 && withCache.stdout.contains("decoded images cached up to 1M per rank"), "\(withCache)")
        #expect(try runBatchAugDist(ranks: 2, common + ["--output", resumed.path, "--max-steps", "3"]).status == 0)
        let second = try runBatchAugDist(ranks: 2, ["train", "--resume", resumed.path])
        #expect(second.status == 0, "\(second)")
        let reference = try checkpointTensors(straight)
        for run in [cached, resumed] {
            let tensors = try checkpointTensors(run)
            for (name, values) in reference { #expect(tensors[name]?.map(\.bitPattern) == values.map(\.bitPattern), "\(run.lastPathComponent): \(name)") }
        }
    }

    @Test("data check on 2 ranks: every file decoded once, the bad ones listed by rank 0, exit 1; a good folder passes")
    func check() throws {
        let root = try Self.makeFolder("check")
        let good = try runBatchAugDist(ranks: 2, ["data", "check", root.path])
        #expect(good.status == 0 && good.stdout.contains("16 training and 6 validation samples; 22 decoded on 2 ranks: all good"), "\(good)")
        try Data("GIF89a....".utf8).write(to: root.appendingPathComponent("train/dogs/image-2.jpg"))
        let bytes = try Data(contentsOf: root.appendingPathComponent("val/cats/image-1.jpg"))
        try bytes.prefix(bytes.count - 200).write(to: root.appendingPathComponent("val/cats/image-1.jpg"))
        let (outcome, perRank) = try runBatchAugDistPerRank(ranks: 2, ["data", "check", root.path])
        #expect(outcome.status == 1 && !outcome.timedOut, "\(outcome)")
        let report = perRank[0].stdout
        #expect(report.contains("22 decoded on 2 ranks: 2 bad"), "\(report)")
        #expect(report.contains("bad: \(root.path)/train/dogs/image-2.jpg: not a JPEG or PNG image (it begins with 47 49 46 38"), "\(report)")
        #expect(report.contains("bad: \(root.path)/val/cats/image-1.jpg: corrupt JPEG image (Premature end of JPEG file)"), "\(report)")
        #expect(perRank[1].stdout.isEmpty && perRank[1].stderr.isEmpty, "\(perRank[1])")
        try expectRefused(ranks: 2, ["data", "check", root.appendingPathComponent("train").path], naming: ["holds neither train/<class>/…"])
    }

    @Test("hostile folders are refused before training, on every rank, with one message naming the folder or file and what to do")
    func hostileFolders() throws {
        func folder(_ name: String, _ edit: (URL) throws -> Void) throws -> URL {
            let root = try Self.makeFolder(name)
            try edit(root)
            return root
        }
        let files = FileManager.default
        let cases: [(URL, [String], [String])] = [
            (try folder("no-val-class") { try files.removeItem(at: $0.appendingPathComponent("val/dogs")) }, [],
             ["val/dogs: missing: class 'dogs' has a folder in train/ but none in val/", "--val-fraction"]),
            (try folder("empty-class") { try files.createDirectory(at: $0.appendingPathComponent("train/birds"), withIntermediateDirectories: true)
                try files.createDirectory(at: $0.appendingPathComponent("val/birds"), withIntermediateDirectories: true) }, [],
             ["train/birds: class 'birds' has no JPEG or PNG image", "add its images, or remove the folder"]),
            (try folder("loop") { try files.createSymbolicLink(atPath: $0.appendingPathComponent("train/cats/loop").path,
                                                               withDestinationPath: $0.appendingPathComponent("train").path) }, [],
             ["train/cats/loop: a symbolic link loop", "remove the link"]),
            (try folder("huge") { root in
                let huge = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + ImageFiles.chunk("IHDR", [0, 0, 0x9C, 0x40, 0, 0, 0x9C, 0x40, 8, 2, 0, 0, 0])
                    + ImageFiles.chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + ImageFiles.chunk("IEND", [])
                try ImageFiles.write(huge, to: root.appendingPathComponent("val/dogs/huge.png").path) }, [],
             ["val/dogs/huge.png: 40000×40000 = 1600000000 pixels, more than --max-image-pixels 89478485 allows", "nothing was allocated"]),
            (try folder("not-image") { try Data("<html>404</html>".utf8).write(to: $0.appendingPathComponent("val/cats/page.jpg")) }, [],
             ["val/cats/page.jpg: not a JPEG or PNG image", "which looks like an HTML or XML page"]),
            (try folder("small-limit") { _ in }, ["--max-image-pixels", "100"], ["pixels, more than --max-image-pixels 100 allows"]),
        ]
        for (root, extra, expected) in cases {
            try expectRefused(ranks: 2, Self.quick + ["--dataset", "folder", "--data-dir", root.path] + extra, naming: expected)
        }
        let root = try Self.makeFolder("options")
        try expectRefused(ranks: 2, Self.quick + ["--dataset", "folder", "--data-dir", root.path, "--size", "4"],
                          naming: ["--size must be 8 to 1024 pixels, got 4"])
        try expectRefused(ranks: 2, ["train", "--dataset", "folder"], naming: ["--data-dir is needed with --dataset folder"])
        try expectRefused(ranks: 2, ["train", "--size", "64"], naming: ["--size applies to --dataset folder and shards (photographs), not to synthetic"])
        try expectRefused(ranks: 2, Self.quick + ["--dataset", "folder", "--data-dir", root.path, "--augment", "crop,flip"],
                          naming: ["--augment", "crop pads and crops images of one fixed size"])
        try expectRefused(ranks: 2, Self.quick + ["--dataset", "shards", "--data-dir", root.path], naming: ["shards.json: missing"])
        try expectRefused(ranks: 2, Self.quick + ["--dataset", "folder", "--data-dir", root.path, "--val-fraction", "1.5"],
                          naming: ["--val-fraction must be a fraction between 0 and 1"])
    }

    @Test("a bad training file met during training stops every rank with its message; the last checkpoint is kept")
    func badFileDuringTraining() throws {
        let root = try Self.makeFolder("bad-later")
        let output = scratchDirectory("bad-later-run")
        let first = try runBatchAugDist(ranks: 2, Self.quick + ["--dataset", "folder", "--data-dir", root.path, "--epochs", "3",
                                                                "--max-steps", "2", "--output", output.path])
        #expect(first.status == 0, "\(first)")
        let checkpoint = try treeContents(output.appendingPathComponent("checkpoint"))
        // Every training photograph of the dogs truncated: rank 1 meets one at its first step.
        for name in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("train/dogs").path) {
            let url = root.appendingPathComponent("train/dogs/\(name)")
            let bytes = try Data(contentsOf: url)
            try bytes.prefix(bytes.count / 2).write(to: url)
        }
        let message = try expectRefused(ranks: 2, ["train", "--resume", output.path], naming: [
            "rank 1: \(root.path)/train/dogs/image-", "corrupt JPEG image (",
            "stopped before step 3 (epoch 1, step 1 of 2) without writing a checkpoint",
            "the last checkpoint, \(output.path)/checkpoint, is the last good state (replace the file and continue with --resume \(output.path))",
        ])
        #expect(!message.isEmpty)
        #expect(try treeContents(output.appendingPathComponent("checkpoint")) == checkpoint, "the checkpoint is kept as it was")
    }

    @Test("bench augment --dataset folder: images/s, the decode share, and the same bytes read per step for M = 1 and M = 4")
    func benchAugment() throws {
        let root = try Self.makeFolder("bench", perClass: 10, validationPerClass: 1)
        let outcome = try runBatchAugDist(ranks: nil, ["bench", "augment", "--dataset", "folder", "--data-dir", root.path,
                                                       "--size", "16,24", "--copies", "1,4", "--batch-size", "4", "--steps", "6", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let records = try outcome.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(records.map { "\($0["size"] ?? "") \($0["copies"] ?? "")" } == ["16 1", "16 4", "24 1", "24 4"])
        for record in records {
            let share = record["decode_share"] as? Double ?? -1
            #expect(share > 0 && share <= 1 && (record["images_per_cpu_second"] as? Double ?? 0) > 0, "\(record)")
            #expect(record["images"] as? Int == 6 * 4 * (record["copies"] as? Int ?? 0))
        }
        #expect(records[0]["bytes_read_by_steps"] as? Int == records[1]["bytes_read_by_steps"] as? Int)
        #expect((records[0]["bytes_read_by_steps"] as? Int ?? 0) > 0)
        let table = try runBatchAugDist(ranks: nil, ["bench", "augment", "--dataset", "folder", "--data-dir", root.path,
                                                     "--size", "16", "--copies", "1,2", "--batch-size", "4", "--steps", "2"])
        #expect(table.status == 0 && table.stdout.contains("decode share") && table.stdout.contains("vs M=1"), "\(table)")
    }

    @Test("the hymenoptera photographs: data check on 2 ranks finds 397 good files and the GIF placeholder; two steps train",
          .enabled(if: hymenopteraDirectory != nil, "the hymenoptera photographs are not at ../shared/datasets/hymenoptera beside the repository"))
    func hymenoptera() throws {
        let directory = try #require(hymenopteraDirectory)
        let check = try runBatchAugDist(ranks: 2, ["data", "check", directory])
        #expect(check.status == 0, "\(check)")
        #expect(check.stdout.contains("244 training and 153 validation samples; 397 decoded on 2 ranks: all good"), "\(check.stdout)")
        #expect(check.stdout.contains("not samples (not JPEG or PNG by their names, or hidden): train/ants/imageNotFound.gif"))
        let train = try runBatchAugDist(ranks: 2, ["train", "--dataset", "folder", "--data-dir", directory, "--size", "32",
                                                   "--model", "cnn", "--batch-size", "16", "--copies", "2", "--max-steps", "2",
                                                   "--log-every", "1"])
        #expect(train.status == 0, "\(train)")
        #expect(train.stdout.contains("2 classes (ants, bees), 244 training and 153 validation images"), "\(train.stdout)")
        #expect(train.stdout.contains("train/ants/imageNotFound.gif"))
    }
}
