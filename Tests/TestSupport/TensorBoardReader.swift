import Foundation

/// One scalar as TensorBoard's reader returns it.
public struct ReadScalar: Equatable, Sendable {
    public let step: Int
    public let value: Double
    public init(step: Int, value: Double) {
        self.step = step
        self.value = value
    }
}

public struct TensorBoardUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// Every scalar in a TensorBoard log directory, by tag, as Python's `tensorboard` package reads it
/// (its `EventAccumulator`, with no sampling and its default purging of orphaned data). Throws when
/// python3 cannot import the package: `launch/test` installs it, so the tests that use this never skip.
public func tensorboardScalars(in directory: URL) throws -> [String: [ReadScalar]] {
    let script = """
        import json, sys
        from tensorboard.backend.event_processing import event_accumulator
        accumulator = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
        accumulator.Reload()
        print(json.dumps({tag: [[e.step, e.value] for e in accumulator.Scalars(tag)]
                          for tag in accumulator.Tags()["scalars"]}))
        """
    let outcome = try runProcess("/usr/bin/env", ["python3", "-c", script, directory.path], timeout: 120)
    guard outcome.status == 0, !outcome.timedOut else {
        throw TensorBoardUnavailable(description: "python3 could not read \(directory.path) with the tensorboard package "
            + "(launch/test installs it: pip install tensorboard): \(outcome)")
    }
    guard let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: [[Double]]] else {
        throw TensorBoardUnavailable(description: "unexpected output of the tensorboard reader: \(outcome.stdout)")
    }
    return object.mapValues { pairs in pairs.map { ReadScalar(step: Int($0[0]), value: $0[1]) } }
}
