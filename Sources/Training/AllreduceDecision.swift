import Checkpoints
import Collectives
import Foundation
import JSON

/// How a training run all-reduces its gradients: `--allreduce ring|mpi`, or for `auto` the
/// faster one as measured at start-up — or, when resuming, as the interrupted run measured, which
/// every checkpoint records: at 3 ranks and more the ring and MPI_Allreduce add in different
/// orders and their results differ in the last bits, so a resumed run must keep the choice to
/// continue bit-identically (at 2 ranks both give the same bits).
struct AllreduceDecision {
    let policy: AllreducePolicy
    /// "measured", "as measured when the run started", or "chosen".
    let origin: String

    /// The key of the recorded measurements in `checkpoint.json`'s extra fields.
    static let recordKey = "allreduce_measurements"

    /// Collective: for `auto`, rank 0 sends the resumed checkpoint's record (if any) to all ranks,
    /// or all ranks measure at the sizes of the gradient's buckets (`counts` floats; the smallest,
    /// the median and the largest).
    init(_ choice: AllreduceChoice, counts: [Int], resumingFrom checkpoint: Checkpoint?, on world: any Communicator) throws {
        let sorted = counts.sorted()
        let measured = sorted.isEmpty ? [] : Array(Set([sorted[0], sorted[sorted.count / 2], sorted[sorted.count - 1]]))
        guard choice == .auto, world.size > 1 else {
            policy = try AllreducePolicy.resolve(choice, counts: measured, on: world)
            origin = "chosen"
            return
        }
        var recorded: [UInt8] = []
        if world.isRoot, let value = checkpoint?.info.extra[Self.recordKey] {
            recorded = Array(((try? value.jsonText()) ?? "").utf8)
        }
        let text = try world.broadcast(bytes: recorded, root: 0)
        if !text.isEmpty, let value = try? JSONValue(parsing: Data(text)),
           let measurements = try? value.decode([AllreducePolicy.Measurement].self), !measurements.isEmpty {
            policy = AllreducePolicy(measurements: measurements)
            origin = "as measured when the run started"
        } else {
            policy = try AllreducePolicy.measure(on: world, counts: measured)
            origin = "measured"
        }
    }

    /// What `checkpoint.json` records (nothing for a fixed algorithm).
    func record() throws -> [String: JSONValue] {
        policy.fixed != nil ? [:] : [Self.recordKey: try JSONValue(encoding: policy.measurements)]
    }

    /// "ring for 1.03 MiB (ring 0.52 ms, mpi 0.61 ms, median of 15 calls), measured".
    var summary: String { "\(policy.summary), \(origin)" }
}
