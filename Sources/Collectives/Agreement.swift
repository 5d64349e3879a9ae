/// A failure every rank agreed on: the message (and exit status) of the lowest rank that failed.
public struct AgreedFailure: CollectiveFailure, Sendable {
    /// The lowest rank whose work failed.
    public let rank: Int
    public let message: String
    public let exitStatus: ExitStatus
    /// Whether the failure belongs to some ranks only (they failed differently, or not all failed):
    /// the message then names the rank.
    public let isRankSpecific: Bool

    public var description: String { isRankSpecific ? "rank \(rank): \(message)" : message }

    public init(rank: Int, message: String, isRankSpecific: Bool, exitStatus: ExitStatus = .failed) {
        self.rank = rank
        self.message = message
        self.isRankSpecific = isRankSpecific
        self.exitStatus = exitStatus
    }
}

extension Communicator {
    /// Runs `body` on every rank and agrees on how it went. If it threw on any rank, every rank
    /// throws the same `AgreedFailure` (the lowest failing rank's message); otherwise every rank
    /// gets its own result. A problem on one rank (a file missing on one node) thus stops all ranks
    /// together instead of leaving the others waiting in their next collective.
    ///
    /// Collective: every rank must call it at the same point. Costs one small all-reduce when
    /// nothing failed.
    public func collectively<T>(_ body: () throws -> T) throws -> T {
        try agreeing(on: Result { try body() }, namingTheRank: true)
    }

    /// `collectively` for work that rank 0 does for the whole job (reading a file only it needs,
    /// writing the output): `body` runs on rank 0 only, which gets its result (the other ranks get
    /// nil), and a failure is not attributed to rank 0.
    public func collectivelyOnRoot<T>(_ body: () throws -> T) throws -> T? {
        try agreeing(on: isRoot ? Result { try body() } : .success(nil), namingTheRank: false)
    }

    private func agreeing<T>(on outcome: Result<T, any Error>, namingTheRank: Bool) throws -> T {
        var message: String? = nil, status = ExitStatus.failed
        if case .failure(let error) = outcome { (message, status) = ("\(error)", error.exitStatus) }
        if let failure = try agree(onFailure: message, status: status, namingTheRank: namingTheRank) { throw failure }
        return try outcome.get()
    }

    /// The agreement behind `collectively`: every rank passes its own failure message (or nil) and
    /// learns whether any rank failed, and with what message.
    private func agree(onFailure localMessage: String?, status: ExitStatus, namingTheRank: Bool) throws -> AgreedFailure? {
        let failing = try allreduceMax(localMessage == nil ? Int64(-1) : Int64(size - rank))
        guard failing > 0 else { return nil }
        let lowest = size - Int(failing)
        var agreedStatus = [Int64(status.rawValue)]
        try broadcast(&agreedStatus, root: lowest)
        let text = try broadcast(bytes: Array((localMessage ?? "").utf8), root: lowest)
        // Rank-specific unless every rank failed with the same message.
        let same = localMessage.map { Array($0.utf8) == text } ?? false
        let everyRankAlike = try allreduceMax(same ? 0 : 1) == 0
        return AgreedFailure(rank: lowest, message: String(decoding: text, as: UTF8.self),
                             isRankSpecific: namingTheRank && size > 1 && !everyRankAlike,
                             exitStatus: ExitStatus(rawValue: Int32(agreedStatus[0])) ?? .failed)
    }
}
