import Foundation
import RunReport
import Testing
import TestSupport

/// A run directory written by hand in the formats `train` writes.
struct RunFixture {
    static let header = "epoch,step,lr,batch_size,copies,train_loss,train_error,val_loss,val_error,grad_norm,epoch_seconds,images_per_second,comm_seconds,data_seconds"

    let directory: URL

    init(name: String = "run", configuration: [String: Any]? = ["model": "cnn", "copies": 1, "seed": 1, "output": "x"],
         ranks: Int = 2, results: String? = nil, metrics: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("batchaug-report-\(UUID().uuidString)").appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let configuration {
            let object: [String: Any] = ["configuration": configuration, "job": ["ranks": ranks, "simulated": false],
                                         "versions": ["batchaug-dist": "0.1.0"]]
            try JSONSerialization.data(withJSONObject: object).write(to: file("config.json"))
        }
        try Data((results ?? Self.results(epochs: 3)).utf8).write(to: file("results.csv"))
        if let metrics { try Data(metrics.utf8).write(to: file("metrics.jsonl")) }
    }

    func file(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// results.csv with `epochs` rows, 10 steps each, the validation error falling from 0.5.
    static func results(epochs: Int, copies: Int = 1, evaluated: (Int) -> Bool = { _ in true }) -> String {
        header + "\n" + (0 ..< epochs).map { e in
            let error = evaluated(e) ? "\(0.5 / Double(e + 1))" : ""
            let loss = evaluated(e) ? "\(1.5 / Double(e + 1))" : ""
            return "\(e),\(10 * (e + 1)),0.1,128,\(copies),\(2.3 / Double(e + 1)),0.4,\(loss),\(error),1.5,12.5,\(500 + 10 * e),0.1,0.2"
        }.joined(separator: "\n") + "\n"
    }

    /// metrics.jsonl: a step record every 5 steps and an epoch record per epoch.
    static func metrics(epochs: Int) -> String {
        (0 ..< epochs).flatMap { e in
            [5, 10].map { s in
                #"{"type":"step","epoch":\#(e),"step":\#(10 * e + s),"loss":\#(2.0 / Double(10 * e + s)),"error":0.5,"lr":0.1,"grad_norm":\#(3.0 / Double(10 * e + s)),"images_per_second":480.5,"step_seconds":0.2,"comm_seconds":0.01,"data_seconds":0.001}"#
            } + [#"{"type":"epoch","epoch":\#(e),"step":\#(10 * e + 10),"lr":0.1,"val_loss":null}"#]
        }.joined(separator: "\n") + "\n"
    }
}

@Suite("reading run directories")
struct RunReadingTests {
    @Test("epochs, logged steps and the configuration come from the run's files")
    func reads() throws {
        let fixture = try RunFixture(configuration: ["model": "resnet20", "seed": UInt64.max, "nesterov": true, "regime": "0:lr=0.1;3:lr=0.01"],
                                     metrics: RunFixture.metrics(epochs: 3))
        let run = try Run(directory: fixture.directory)
        #expect(run.epochs.map(\.epoch) == [0, 1, 2])
        #expect(run.epochs.map(\.step) == [10, 20, 30])
        #expect(run.epochs[1].validationError == 0.25 && run.epochs[2].imagesPerSecond == 520)
        #expect(run.steps.map(\.step) == [5, 10, 15, 20, 25, 30])
        #expect(run.steps[0].gradientNorm == 0.6)
        #expect(run.configuration["seed"] == "18446744073709551615")
        #expect(run.configuration["nesterov"] == "true" && run.configuration["model"] == "resnet20")
        #expect(run.job["ranks"] == "2")
        #expect(run.configurationText?.contains("\"regime\" : \"0:lr=0.1;3:lr=0.01\"") == true)
    }

    @Test("a run still being written: the unterminated last line of each file is left out")
    func partialLines() throws {
        let results = RunFixture.results(epochs: 2) + "2,30,0.1,12"
        let metrics = RunFixture.metrics(epochs: 2) + #"{"type":"step","epoch":2,"st"#
        let run = try Run(directory: try RunFixture(results: results, metrics: metrics).directory)
        #expect(run.epochs.count == 2 && run.steps.count == 4)
        // A run that has only written its header, or not even that.
        #expect(try Run(directory: try RunFixture(results: RunFixture.header + "\n").directory).epochs.isEmpty)
        #expect(try Run(directory: try RunFixture(results: "").directory).epochs.isEmpty)
    }

    @Test("a malformed line is an error naming the file and the line",
          arguments: [("0,10,0.1\n", "line 3: 3 fields where the header has 14"),
                      ("1,20,0.1,128,1,oops,0.4,,,1.5,12,500,0.1,0.2\n", "line 3: train_loss is 'oops', not a number"),
                      (",20,0.1,128,1,2,0.4,,,1.5,12,500,0.1,0.2\n", "line 3: the epoch is empty")])
    func malformedResults(line: String, message: String) throws {
        let fixture = try RunFixture(results: RunFixture.results(epochs: 1) + line)
        let error = try #require(throws: ReportError.self) { try Run(directory: fixture.directory) }
        #expect(error.description == fixture.file("results.csv").path + " " + message)
    }

    @Test("a header without an epoch column, or a metrics line that is not JSON, is an error with file and line")
    func malformedOther() throws {
        let header = try RunFixture(results: "a,b\n1,2\n")
        let headerError = try #require(throws: ReportError.self) { try Run(directory: header.directory) }
        #expect(headerError.description.hasPrefix(header.file("results.csv").path + " line 1: the header has no 'epoch' column"))
        let metrics = try RunFixture(metrics: RunFixture.metrics(epochs: 1) + "{not json}\n")
        let metricsError = try #require(throws: ReportError.self) { try Run(directory: metrics.directory) }
        #expect(metricsError.description.hasPrefix(metrics.file("metrics.jsonl").path + " line 4: not valid JSON"))
        let config = try RunFixture()
        try Data("{".utf8).write(to: config.file("config.json"))
        let configError = try #require(throws: ReportError.self) { try Run(directory: config.directory) }
        #expect(configError.description.hasPrefix(config.file("config.json").path + ": not valid JSON"))
    }

    @Test("a directory that is not a run, or no directory at all, is named in the error")
    func notARun() throws {
        let empty = scratchDirectory("notrun")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let error = try #require(throws: ReportError.self) { try Run(directory: empty) }
        #expect(error.description.hasPrefix(empty.path + ": not a run directory: it has no results.csv"))
        let missing = empty.appendingPathComponent("nothing")
        let missingError = try #require(throws: ReportError.self) { try Run(directory: missing) }
        #expect(missingError.description == missing.path + ": no such directory")
    }

    @Test("rows written again after a resume replace the earlier ones; results of older versions read too")
    func resumedAndOld() throws {
        // An interrupted run wrote epoch 1 (partial) and step 15; the resumed run wrote them again.
        let results = RunFixture.results(epochs: 2) + "1,25,0.1,128,1,9,0.4,9,0.9,1.5,12.5,510,0.1,0.2\n"
        let metrics = RunFixture.metrics(epochs: 2) + #"{"type":"step","epoch":1,"step":15,"loss":7}"# + "\n"
        let run = try Run(directory: try RunFixture(results: results, metrics: metrics).directory)
        #expect(run.epochs.map(\.epoch) == [0, 1] && run.epochs[1].validationError == 0.9)
        #expect(run.steps.map(\.step) == [5, 10, 15, 20] && run.steps[2].loss == 7 && run.steps[2].gradientNorm == nil)
        // Columns in another order, some missing: what is there is read.
        let old = try Run(directory: try RunFixture(results: "step,epoch,val_error\n10,0,0.5\n20,1,0.4\n").directory)
        #expect(old.epochs.map(\.validationError) == [0.5, 0.4] && old.epochs[1].imagesPerSecond == nil)
    }
}
