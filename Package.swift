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

        // Counter-based random numbers (Philox): every random draw of a run is a pure function of
        // (seed, what it is for, indices), so runs are reproducible and resumable bit for bit.
        .target(name: "Randomness"),

        // Loaders for the official dataset formats, validation, sharding and epoch orders.
        .target(name: "Datasets", dependencies: ["CZlib", "Randomness"]),

        // Transforms and the batch augmenter: M copies of each sample, each its own transform.
        .target(name: "Augmentation", dependencies: ["Datasets", "Randomness"]),

        // AVX2/FMA micro-kernels of the engine, chosen at run time (function target attributes,
        // no build flags), with portable fallbacks.
        .target(name: "CKernels"),

        // Layers, models, exact gradients and SGD on one flat parameter buffer. No MPI inside.
        .target(name: "Engine", dependencies: ["COpenBLAS", "CKernels", "Randomness"]),

        // The Communicator seam and the ring all-reduce, written once over point-to-point
        // calls. No MPI here: an in-process communicator runs the same ring in unit tests.
        .target(name: "Collectives"),

        // MPI as one implementation of `Communicator`.
        .target(name: "SwiftMPI", dependencies: ["CMPI", "Collectives"]),

        // The regime language ("0:lr=0.1;30:copies=8"), learning-rate scaling rules, warm-up and
        // regime adaptation: pure functions of the epoch and the configuration.
        .target(name: "Schedules"),

        // Tensors in the safetensors format and checkpoint directories written atomically.
        .target(name: "Checkpoints"),

        // Line charts as SVG text: scales with round ticks (linear, logarithmic), series, legend.
        // Knows nothing of training.
        .target(name: "Plotting"),

        // The HTML report over run directories, read from the files a run writes (any version).
        .target(name: "RunReport", dependencies: ["Plotting"]),

        // TensorBoard event files: TFRecord framing with masked CRC-32C, the few protobuf fields of
        // scalar events. Knows nothing of training.
        .target(name: "TensorBoard"),

        // The training service: configuration, the distributed loop, metrics, checkpoints, evaluation.
        .target(name: "Training", dependencies: ["Collectives", "Engine", "Datasets", "Augmentation", "Schedules",
                                                 "Checkpoints", "Randomness", "RunReport", "TensorBoard"]),

        // The papers' claims as studies: arms of training runs, gradient norms at fixed parameters,
        // the summary and its verdict.
        .target(name: "Studies", dependencies: ["Training", "Engine", "Collectives", "Checkpoints", "RunReport"]),

        // Measurements behind `batchaug-dist bench …`, kept out of the libraries' hot paths.
        .target(name: "Benchmarks", dependencies: ["Collectives", "Engine", "Datasets", "Augmentation", "COpenBLAS", "Training"]),

        // The thin command-line front end.
        .executableTarget(
            name: "batchaug-dist",
            dependencies: [
                "SwiftMPI", "Collectives", "Benchmarks", "COpenBLAS", "Engine", "Datasets", "Augmentation", "Training",
                "Studies", "RunReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Shared by the test targets: an in-process transport and a subprocess runner with a watchdog.
        .target(name: "TestSupport", dependencies: ["Collectives"], path: "Tests/TestSupport"),

        .testTarget(name: "CollectivesTests", dependencies: ["Collectives", "TestSupport"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks"]),
        .testTarget(name: "RandomnessTests", dependencies: ["Randomness"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
        .testTarget(name: "AugmentationTests", dependencies: ["Augmentation", "Datasets", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
        .testTarget(name: "SchedulesTests", dependencies: ["Schedules"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "StudiesTests", dependencies: ["Studies", "Training", "Collectives", "Checkpoints", "RunReport", "TestSupport"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting", "TestSupport"]),
        .testTarget(name: "RunReportTests", dependencies: ["RunReport", "Plotting", "TestSupport"]),
        .testTarget(name: "TensorBoardTests", dependencies: ["TensorBoard", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Engine", "Datasets", "Collectives", "TestSupport"]),
        // Runs the built executable (under mpirun); the dependency makes `swift test` build it.
        .testTarget(name: "CLITests", dependencies: ["batchaug-dist", "TestSupport", "Checkpoints", "TensorBoard", "CZlib"]),
    ]
)
