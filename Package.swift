// swift-tools-version:6.0
// batchaug-dist: distributed data-parallel training with batch augmentation over MPI.
import PackageDescription

let package = Package(
    name: "batchaug-dist",
    products: [
        .executable(name: "batchaug-dist", targets: ["batchaug-dist"]),
        .library(name: "Collectives", targets: ["Collectives"]),
        .library(name: "SwiftMPI", targets: ["SwiftMPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The one protocol-buffer implementation: TensorBoard's events and ONNX models (proto/README.md).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // System libraries. Swift cannot import Open MPI's handle macros, so CMPI's header
        // re-exports them as inline functions.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // JPEG and PNG decoding of the user's own photographs: libjpeg-turbo (its libjpeg API through
        // CTurboJPEG's C function; its TurboJPEG API encodes the tests' files) and libpng.
        .systemLibrary(
            name: "CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev", "libjpeg62-turbo-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),

        // Text for people: numbers, durations, byte sizes and tables; whitespace; standard error.
        .target(name: "Formatting"),

        // JSON values (exact 64-bit integers) and JSON lines, written through JSONEncoder.
        .target(name: "JSON"),

        // Contiguous, nearly equal pieces of a range: the ring's segments, the ranks' shards.
        .target(name: "Partitions"),

        // Counter-based random numbers (Philox): every random draw of a run is a pure function of
        // (seed, what it is for, indices), so runs are reproducible and resumable bit for bit.
        .target(name: "Randomness"),

        // Loaders for the official dataset formats, validation, sharding and epoch orders; folders of
        // photographs and tar shards of them, and their JPEG/PNG decoding.
        .target(name: "Datasets", dependencies: ["CPNG", "CTurboJPEG", "CZlib", "Formatting", "Partitions", "Randomness"]),

        // Transforms and the batch augmenter: M copies of each sample, each its own transform.
        .target(name: "Augmentation", dependencies: ["Datasets", "Formatting", "Randomness"]),

        // AVX2/FMA micro-kernels of the engine, chosen at run time (function target attributes,
        // no build flags), with portable fallbacks.
        .target(name: "CKernels"),

        // Layers, models, exact gradients and SGD on one flat parameter buffer. No MPI inside.
        .target(name: "Engine", dependencies: ["COpenBLAS", "CKernels", "Formatting", "Randomness"]),

        // The Communicator seam and the ring all-reduce, written once over point-to-point
        // calls; agreement on failures; replica checksums. No MPI here: an in-process
        // communicator runs the same collectives in unit tests.
        .target(name: "Collectives", dependencies: ["Formatting", "Partitions"]),

        // MPI as one implementation of `Communicator`.
        .target(name: "SwiftMPI", dependencies: ["CMPI", "Collectives", "Formatting"]),

        // The regime language ("0:lr=0.1;30:copies=8"), learning-rate scaling rules, warm-up and
        // regime adaptation: pure functions of the epoch and the configuration.
        .target(name: "Schedules", dependencies: ["Formatting"]),

        // Tensors in the safetensors format and checkpoint directories written atomically.
        .target(name: "Checkpoints", dependencies: ["JSON"]),

        // Line charts as SVG text: scales with round ticks (linear, logarithmic), series, legend.
        // Knows nothing of training.
        .target(name: "Plotting"),

        // The HTML report over run directories, read from the files a run writes (any version).
        .target(name: "RunReport", dependencies: ["Plotting"]),

        // TensorBoard event files: TFRecord framing with masked CRC-32C, the protobuf messages of
        // scalar events (generated from proto/tensorboard_event.proto). Knows nothing of training.
        .target(name: "TensorBoard", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),

        // Data-parallel training as every rank does it: a rank's data (shards, epoch order,
        // augmenter), the step (augment, forward/backward in ghost batches, all-reduce, SGD),
        // per-rank batch-norm statistics, sharded test evaluation; K ranks simulated in one process.
        .target(name: "DataParallel", dependencies: ["Augmentation", "Collectives", "Datasets", "Engine", "Formatting"]),

        // The training service: configuration, run plan, the training loop, metrics, checkpoints, eval.
        .target(name: "Training", dependencies: ["Augmentation", "Checkpoints", "Collectives", "DataParallel", "Datasets",
                                                 "Engine", "Formatting", "JSON", "RunReport", "Schedules", "TensorBoard"]),

        // The papers' claims as studies: arms of training runs, gradient norms at fixed parameters,
        // the summary and its verdict.
        .target(name: "Studies", dependencies: ["Checkpoints", "Collectives", "DataParallel", "Engine", "Formatting", "JSON",
                                                "RunReport", "Training"]),

        // Taking a trained model out: the safetensors export with its model card, the ONNX graph
        // (generated from proto/onnx.proto), and predictions on preprocessed images.
        .target(name: "Export", dependencies: ["Augmentation", "Checkpoints", "Datasets", "Engine", "JSON", "Training",
                                               .product(name: "SwiftProtobuf", package: "swift-protobuf")]),

        // Measurements behind `batchaug-dist bench …`, kept out of the libraries' hot paths.
        .target(name: "Benchmarks", dependencies: ["Augmentation", "Collectives", "DataParallel", "Datasets", "Engine",
                                                   "Formatting", "JSON", "Randomness"]),

        // The thin command-line front end: parses and validates, then calls the libraries.
        .executableTarget(
            name: "batchaug-dist",
            dependencies: [
                "Augmentation", "Benchmarks", "Collectives", "Datasets", "Engine", "Export", "Formatting", "JSON",
                "RunReport", "Studies", "SwiftMPI", "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Shared by the test targets: an in-process transport, a subprocess runner with a watchdog, and
        // image files written by real encoders.
        .target(name: "TestSupport", dependencies: ["Collectives", "CTurboJPEG", "CZlib"], path: "Tests/TestSupport"),

        // Package.swift, the imports and docs/ARCHITECTURE.md agree (reads the checkout, builds nothing).
        .testTarget(name: "ArchitectureTests"),
        .testTarget(name: "FormattingTests", dependencies: ["Formatting"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives", "Partitions", "TestSupport"]),
        .testTarget(name: "PartitionsTests", dependencies: ["Partitions"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Collectives"]),
        .testTarget(name: "RandomnessTests", dependencies: ["Randomness"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
        .testTarget(name: "AugmentationTests", dependencies: ["Augmentation", "Datasets", "Randomness", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Randomness"]),
        .testTarget(name: "SchedulesTests", dependencies: ["Schedules", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "JSON", "TestSupport"]),
        .testTarget(name: "StudiesTests", dependencies: ["Checkpoints", "Collectives", "JSON", "RunReport", "Studies",
                                                         "Training"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting", "TestSupport"]),
        .testTarget(name: "RunReportTests", dependencies: ["Plotting", "RunReport", "TestSupport"]),
        .testTarget(name: "TensorBoardTests", dependencies: ["TensorBoard", "TestSupport"]),
        .testTarget(name: "ExportTests", dependencies: ["Checkpoints", "Datasets", "Engine", "Export", "JSON", "Randomness",
                                                        "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Augmentation", "Checkpoints", "Collectives", "DataParallel", "Datasets",
                                                          "Engine", "JSON", "RunReport", "TestSupport", "Training"]),
        // Runs the built executable (under mpirun); the dependency makes `swift test` build it.
        .testTarget(name: "CLITests", dependencies: ["Augmentation", "batchaug-dist", "Checkpoints", "CZlib", "JSON", "TestSupport",
                                                     "Training"]),
    ]
)
