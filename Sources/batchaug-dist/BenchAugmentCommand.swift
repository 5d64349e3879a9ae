import ArgumentParser

/// `batchaug-dist bench augment` (issue 4).
struct AugmentBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment", abstract: "Augmented images per second on one core, and bytes read per epoch.")

    func run() throws { throw ValidationError("bench augment is not built yet") }
}
