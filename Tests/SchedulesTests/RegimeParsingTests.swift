import Foundation
import Schedules
import Testing

@Suite("regime language")
struct RegimeParsingTests {
    @Test("step decay: one learning rate per entry")
    func stepDecay() throws {
        let regime = try Regime(parsing: "0:lr=0.1;81:lr=0.01;122:lr=0.001")
        #expect(regime.entries == [
            RegimeEntry(epoch: 0, learningRate: 0.1),
            RegimeEntry(epoch: 81, learningRate: 0.01),
            RegimeEntry(epoch: 122, learningRate: 0.001),
        ])
        #expect(regime.boundaries == [0, 81, 122])
    }

    @Test("Smith et al.: the batch size grows instead of the rate decaying")
    func increasingBatchSize() throws {
        let regime = try Regime(parsing: "0:lr=0.1;30:batch-size=640;60:batch-size=3200")
        #expect(regime.entries == [
            RegimeEntry(epoch: 0, learningRate: 0.1),
            RegimeEntry(epoch: 30, batchSize: 640),
            RegimeEntry(epoch: 60, batchSize: 3200),
        ])
    }

    @Test("batch-augmentation form: the copies grow")
    func increasingCopies() throws {
        let regime = try Regime(parsing: "0:copies=1;30:copies=8")
        #expect(regime.entries == [RegimeEntry(epoch: 0, copies: 1), RegimeEntry(epoch: 30, copies: 8)])
    }

    @Test("mixed entries, every key, any key order and case")
    func mixed() throws {
        let regime = try Regime(parsing: "0:lr=0.1,copies=4;50:lr=0.01")
        #expect(regime.entries == [
            RegimeEntry(epoch: 0, learningRate: 0.1, copies: 4),
            RegimeEntry(epoch: 50, learningRate: 0.01),
        ])
        let everything = try Regime(parsing: "5:batch-size=256,Copies=2,WEIGHT-DECAY=5e-4,momentum=0.9,LR=0.05")
        #expect(everything.entries == [
            RegimeEntry(epoch: 5, learningRate: 0.05, momentum: 0.9, weightDecay: 0.0005, copies: 2, batchSize: 256),
        ])
    }

    @Test("whitespace around any part is ignored; an empty or blank text is the empty regime")
    func whitespaceAndEmpty() throws {
        let spaced = try Regime(parsing: "  0 : lr = 0.1 , copies = 4 ;\n 50:lr=0.01\t")
        #expect(spaced == (try Regime(parsing: "0:lr=0.1,copies=4;50:lr=0.01")))
        #expect(try Regime(parsing: "") == Regime())
        #expect(try Regime(parsing: "  \n ").entries.isEmpty)
        #expect(Regime().description == "")
    }

    @Test("the description reads back as the same regime, keys in a fixed order")
    func roundTrip() throws {
        for text in [
            "0:lr=0.1;81:lr=0.01;122:lr=0.001",
            "0:lr=0.1;30:batch-size=640;60:batch-size=3200",
            "0:copies=1;30:copies=8",
            "0:lr=0.1,copies=4;50:lr=0.01",
            "3:lr=1e-05,momentum=0.95,weight-decay=5e-4,copies=16,batch-size=100000",
            "0:lr=0;7:lr=0.30000000000000004,momentum=0",
            "",
        ] {
            let regime = try Regime(parsing: text)
            #expect(try Regime(parsing: regime.description) == regime, "\(text) → \(regime.description)")
        }
        #expect(try Regime(parsing: " 0:copies=4, lr=0.1 ;50:lr=0.01").description == "0:lr=0.1,copies=4;50:lr=0.01")
        #expect(try Regime(parsing: "3:weight-decay=0.0005,lr=1e-05").description == "3:lr=1e-05,weight-decay=0.0005")
    }

    @Test("as Codable, a regime is its text")
    func codable() throws {
        struct Configuration: Codable, Equatable { var regime: Regime }
        let configuration = Configuration(regime: try Regime(parsing: "0:lr=0.1;30:copies=8"))
        let json = String(decoding: try JSONEncoder().encode(configuration), as: UTF8.self)
        #expect(json == #"{"regime":"0:lr=0.1;30:copies=8"}"#)
        #expect(try JSONDecoder().decode(Configuration.self, from: Data(json.utf8)) == configuration)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Configuration.self, from: Data(#"{"regime":"0:lr=0.1;0:lr=0.2"}"#.utf8))
        }
    }

    @Test("a wrong entry is an error naming its position, its text and what is wrong",
          arguments: [
              ("0:lr=0.1;30:learning-rate=0.01", 2, "30:learning-rate=0.01",
               "unknown setting 'learning-rate'; the settings are lr, momentum, weight-decay, copies, batch-size"),
              ("0:lr=abc", 1, "0:lr=abc", "'abc' is not a number (lr takes a number ≥ 0"),
              ("0:momentum=high", 1, "0:momentum=high", "momentum takes a number in [0, 1)"),
              ("0:batch-size=12x", 1, "0:batch-size=12x", "'12x' is not a number (batch-size takes a whole number ≥ 1"),
              ("0:lr=-0.1", 1, "0:lr=-0.1", "lr must be a finite number ≥ 0, got -0.1"),
              ("0:lr=nan", 1, "0:lr=nan", "lr must be a finite number ≥ 0"),
              ("0:lr=1e999", 1, "0:lr=1e999", "lr must be a finite number ≥ 0, got inf"),
              ("0:weight-decay=-1e-4", 1, "0:weight-decay=-1e-4", "weight-decay must be a finite number ≥ 0, got -0.0001"),
              ("0:momentum=1", 1, "0:momentum=1", "momentum must lie in [0, 1), got 1.0"),
              ("0:momentum=-0.5", 1, "0:momentum=-0.5", "momentum must lie in [0, 1), got -0.5"),
              ("0:copies=1;10:copies=0", 2, "10:copies=0", "copies must be a whole number ≥ 1, got 0"),
              ("0:batch-size=-128", 1, "0:batch-size=-128", "batch-size must be a whole number ≥ 1, got -128"),
              ("0:copies=2.5", 1, "0:copies=2.5", "copies must be a whole number ≥ 1, got '2.5'"),
              ("0:batch-size=128.0", 1, "0:batch-size=128.0", "batch-size must be a whole number ≥ 1, got '128.0'"),
              ("0:lr=0.1;30:lr=0.01;20:lr=0.001", 3, "20:lr=0.001",
               "epoch 20 comes after epoch 30; entries must be in strictly increasing epoch order"),
              ("0:lr=0.1;30:lr=0.01;30:copies=4", 3, "30:copies=4", "epoch 30 already has an entry"),
              ("0:lr=0.1,copies=2,lr=0.2", 1, "0:lr=0.1,copies=2,lr=0.2", "lr is set twice in one entry"),
              ("0:lr=0.1;lr=0.01", 2, "lr=0.01", "missing ':' between the epoch and the settings"),
              ("0:lr0.1", 1, "0:lr0.1", "setting 'lr0.1' has no '='"),
              ("0:lr=", 1, "0:lr=", "missing value after 'lr='"),
              ("0:=0.1", 1, "0:=0.1", "missing setting name before '='"),
              ("30:", 1, "30:", "no settings after ':'"),
              (":lr=0.1", 1, ":lr=0.1", "missing epoch before ':'"),
              ("1.5:lr=0.1", 1, "1.5:lr=0.1", "the epoch '1.5' is not a whole number ≥ 0"),
              ("-1:lr=0.1", 1, "-1:lr=0.1", "the epoch '-1' is not a whole number ≥ 0"),
              ("0:lr=0.1;;30:lr=0.01", 2, "", "empty entry"),
              ("0:lr=0.1;", 2, "", "empty entry"),
              ("0:lr=0.1,,copies=2", 1, "0:lr=0.1,,copies=2", "empty setting"),
          ])
    func errors(text: String, position: Int, entry: String, reason: String) {
        do {
            let regime = try Regime(parsing: text)
            Issue.record("'\(text)' parsed as '\(regime)'")
        } catch {
            #expect(error.position == position)
            #expect(error.entry == entry)
            #expect(error.description.hasPrefix("regime entry \(position) '\(entry)': "), "\(error)")
            #expect(error.description.contains(reason), "\(error)")
        }
    }
}
