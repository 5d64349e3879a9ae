import Checkpoints
import Collectives
import Foundation

/// `--allreduce auto` in a training run: the measurement at start-up, and its record in every
/// checkpoint so that a resumed run sums its gradients as the interrupted one did (at 3 ranks and
/// more the ring and MPI_Allreduce add in different orders, so their results differ in the last
/// bits; at 2 ranks they are identical).
extension Trainer {
    /// The key of the recorded measurements in `checkpoint.json`'s extra fields.
    static let allreduceRecordKey = "allreduce_measurements"

    /// The policy for a gradient of `count` floats: the configured algorithm, or for `auto` the one
    /// the checkpoint being resumed recorded, or else a fresh measurement. Collective.
    static func chooseAllreduce(_ choice: AllreduceChoice, count: Int, resumingFrom checkpoint: Checkpoint?,
                                on world: any Communicator) throws -> AllreducePolicy {
        guard choice == .auto, world.size > 1 else {
            return try AllreducePolicy.resolve(choice, counts: [count], on: world)
        }
        var recorded: [UInt8] = []
        if world.isRoot, let value = checkpoint?.info.extra[allreduceRecordKey] {
            recorded = Array(((try? value.jsonText()) ?? "").utf8)
        }
        let text = try world.broadcast(bytes: recorded, root: 0)
        if !text.isEmpty, let value = try? JSONValue(parsing: Data(text)),
           let measurements = try? value.decode([AllreducePolicy.Measurement].self), !measurements.isEmpty {
            return AllreducePolicy(measurements: measurements)
        }
        return try AllreducePolicy.measure(on: world, counts: [count])
    }

    /// What `checkpoint.json` records of the policy (nothing for a fixed algorithm).
    static func allreduceRecord(_ policy: AllreducePolicy) throws -> [String: JSONValue] {
        policy.fixed != nil ? [:] : [allreduceRecordKey: try JSONValue(encoding: policy.measurements)]
    }
}
