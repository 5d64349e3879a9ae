import ArgumentParser

/// `batchaug-dist bench step` (issue 3).
struct StepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step", abstract: "Training-step throughput and model FLOP utilisation on one core.")

    func run() throws { throw ValidationError("bench step is not built yet") }
}
