import Formatting

/// Stragglers seen: at each epoch's end every rank's own busy and waiting seconds are gathered
/// (metrics.jsonl's `rank_compute_seconds`, `rank_wait_seconds`), and a rank markedly slower than
/// the others is named with its host — the rank the others wait for in every all-reduce.
public enum Stragglers {
    /// Markedly slower: busy at least this factor of the other ranks' median seconds…
    static let factor = 1.2
    /// …and at least this many seconds more in the epoch (short epochs are noise).
    static let margin = 0.5

    /// The line naming the slowest rank, or nil when no rank is markedly slower than the others.
    public static func report(epoch: Int, ranks: [RankSeconds], hosts: [String]) -> String? {
        guard ranks.count > 1,
              let slowest = ranks.indices.max(by: { ranks[$0].compute < ranks[$1].compute }) else { return nil }
        // Compared with the others, not with a median it is part of (at 2 ranks that would halve the gap).
        let sorted = ranks.indices.filter { $0 != slowest }.map { ranks[$0].compute }.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let seconds = ranks[slowest].compute
        guard seconds >= factor * median && seconds - median >= margin else { return nil }
        let others = ranks.indices.filter { $0 != slowest }
        let waited = others.map { ranks[$0].wait }.reduce(0, +) / Double(max(others.count, 1))
        let host = hosts.indices.contains(slowest) ? " (host \(hosts[slowest]))" : ""
        return "straggler in epoch \(epoch): rank \(slowest)\(host) was busy \(fixed(seconds, 1)) s, "
            + "\(fixed(seconds / max(median, 1e-9), 2))× the other ranks' median \(fixed(median, 1)) s; "
            + "the other ranks waited \(fixed(waited, 1)) s for the all-reduce on average"
    }
}
