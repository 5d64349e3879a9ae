import Testing
import Training

@Suite("stragglers")
struct StragglersTests {
    @Test("a rank busy 1.2x the other ranks' median and 0.5 s more is named with its host and what the others waited; otherwise nothing")
    func rule() throws {
        let hosts = ["node1", "node2", "node3"]
        let slow = [RankSeconds(compute: 10, wait: 6), RankSeconds(compute: 16.5, wait: 0.2), RankSeconds(compute: 11, wait: 5)]
        let line = try #require(Stragglers.report(epoch: 3, ranks: slow, hosts: hosts))
        #expect(line.hasPrefix("straggler in epoch 3: rank 1 (host node2) was busy 16.5 s, 1.57× the other ranks' median 10.5 s"), "\(line)")
        #expect(line.contains("the other ranks waited 5.5 s"), "\(line)")
        // 15 % slower: noise.
        #expect(Stragglers.report(epoch: 0, ranks: [RankSeconds(compute: 10, wait: 1), RankSeconds(compute: 11.5, wait: 0)],
                                  hosts: hosts) == nil)
        // Twice as slow but a short epoch: 0.4 s more.
        #expect(Stragglers.report(epoch: 0, ranks: [RankSeconds(compute: 0.4, wait: 0.3), RankSeconds(compute: 0.8, wait: 0)],
                                  hosts: hosts) == nil)
        #expect(Stragglers.report(epoch: 0, ranks: [RankSeconds(compute: 5, wait: 0)], hosts: hosts) == nil)
        // Two ranks: the slower against the other.
        let two = Stragglers.report(epoch: 1, ranks: [RankSeconds(compute: 4, wait: 3), RankSeconds(compute: 7, wait: 0)],
                                    hosts: ["a", "b"])
        #expect(two?.contains("rank 1 (host b) was busy 7.0 s, 1.75× the other ranks' median 4.0 s") == true, "\(String(describing: two))")
        // 15 % slower than the other two: noise.
        #expect(Stragglers.report(epoch: 0, ranks: [RankSeconds(compute: 10, wait: 1), RankSeconds(compute: 10, wait: 1),
                                                    RankSeconds(compute: 11.5, wait: 0)], hosts: hosts) == nil)
    }
}
