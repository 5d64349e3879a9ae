import Foundation
import Testing
import TestSupport

/// Runs `batchaug-dist arguments` and expects it refused as bad input is: one message, rank 0's,
/// naming each of `expected`, an exit status of 1–127 (no signal, no abort), no backtrace, within
/// seconds. Under mpirun each rank's output goes to its own files: no other rank may print a
/// message. Returns the message.
@discardableResult
func expectRefused(ranks: Int?, _ arguments: [String], naming expected: [String], within seconds: Double = 30,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let outcome: ProcessOutcome
    var message: String
    var everything: String
    if let ranks {
        let perRank: [RankOutput]
        (outcome, perRank) = try runBatchAugDistPerRank(ranks: ranks, arguments, timeout: 60)
        message = perRank[0].stderr
        everything = perRank.map { $0.stdout + $0.stderr }.joined() + outcome.stdout + outcome.stderr
        for (rank, output) in perRank.enumerated().dropFirst() {
            #expect(!output.stderr.contains("batchaug-dist: ") && !output.stderr.contains("Error: "), "\(arguments): rank \(rank) printed \(output.stderr)",
                    sourceLocation: sourceLocation)
        }
    } else {
        outcome = try runBatchAugDist(ranks: nil, arguments, timeout: 60)
        message = outcome.stderr
        everything = outcome.stdout + outcome.stderr
    }
    #expect((1 ... 127).contains(outcome.status) && !outcome.timedOut, "\(arguments): \(outcome)", sourceLocation: sourceLocation)
    for text in expected {
        #expect(message.contains(text), "\(arguments) should say '\(text)': \(message)\n\(outcome)",
                sourceLocation: sourceLocation)
    }
    #expect(outcome.seconds < seconds, "\(arguments) took \(outcome.seconds) s", sourceLocation: sourceLocation)
    // Ours ("batchaug-dist: …") or swift-argument-parser's ("Error: …"), once.
    let messages = message.components(separatedBy: "batchaug-dist: ").count + message.components(separatedBy: "Error: ").count - 2
    #expect(messages == 1, "one message: \(message)", sourceLocation: sourceLocation)
    for crash in ["Fatal error", "Stack dump", "backtrace", "Backtrace", "Illegal instruction", "Aborted", "signal"] {
        #expect(!everything.contains(crash), "\(arguments): '\(crash)' in \(everything)", sourceLocation: sourceLocation)
    }
    return message
}
