/// What carries messages between the ranks of a job, as far as the choice of an all-reduce and
/// its settings go: shared memory when every rank runs on one host, a network otherwise (the
/// ring is then as fast as its slowest link, one between hosts).
public enum Transport: String, Sendable, CaseIterable {
    case sharedMemory = "shared-memory"
    case network
}

/// Which host each rank runs on.
public struct HostLayout: Sendable, Equatable {
    /// For each rank, its host's number: hosts are numbered 0, 1, … in the order of their lowest rank.
    public let hostOfRank: [Int]

    /// `keys[r]` identifies rank r's host (a host name, or the lowest rank on that host): equal
    /// keys mean one host.
    public init<Key: Hashable>(keys: [Key]) {
        var numbers: [Key: Int] = [:]
        hostOfRank = keys.map { key in
            if let number = numbers[key] { return number }
            numbers[key] = numbers.count
            return numbers.count - 1
        }
    }

    /// Every rank on one host (a one-rank job included).
    public static func singleHost(ranks: Int) -> HostLayout { HostLayout(keys: [Int](repeating: 0, count: ranks)) }

    public var hostCount: Int { (hostOfRank.max() ?? -1) + 1 }

    /// Ranks on each host, by host number.
    public var ranksPerHost: [Int] {
        var counts = [Int](repeating: 0, count: hostCount)
        for host in hostOfRank { counts[host] += 1 }
        return counts
    }

    public var transport: Transport { hostCount > 1 ? .network : .sharedMemory }

    /// "2 ranks on 1 host (shared memory)", "4 ranks on 2 hosts (network)".
    public var summary: String {
        let ranks = hostOfRank.count, hosts = hostCount
        return "\(ranks) rank\(ranks == 1 ? "" : "s") on \(hosts) host\(hosts == 1 ? "" : "s") "
            + "(\(transport == .network ? "network" : "shared memory"))"
    }
}
