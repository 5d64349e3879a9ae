import ArgumentParser
import Formatting
import Foundation
import RunReport

/// `batchaug-dist report RUN…`: one HTML page over runs, with an SVG file per chart beside it.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an HTML report over runs: charts with one curve per run, a results table, configurations.",
        discussion: """
            Charts: validation error, training loss, gradient L2 norm (from metrics.jsonl), learning rate and \
            images/s; each also written as an SVG file beside the page. Runs are named by the settings in \
            which they differ. Runs still in progress and resumed runs can be given. `train` also keeps \
            report.html in its output directory up to date after every epoch.
            """)

    @Argument(help: ArgumentHelp("Run directories (each the --output of a train run).", valueName: "run"))
    var runs: [String] = []
    @Option(help: ArgumentHelp("The HTML file to write (default: report.html in the run directory for one run, "
                               + "in the current directory for several).", valueName: "file"))
    var output: String?
    @Option(help: "The page's title (default: the run's name, or the number of runs).") var title: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
    }

    func run() throws {
        // Under mpirun every rank would write the same files: the first one does.
        guard LaunchEnvironment.rank ?? 0 == 0 else { return }
        let directories = runs.map { URL(fileURLWithPath: $0) }
        let target = output.map { URL(fileURLWithPath: $0) }
            ?? (directories.count == 1 ? directories[0] : URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
                .appendingPathComponent(RunFiles.report)
        do {
            let written = try RunReport.write(runs: directories, to: target, title: title)
            print("wrote \(written[0].path) (\(directories.count) run\(directories.count == 1 ? "" : "s")) and "
                + "\(written.count - 1) SVG charts beside it")
        } catch {
            StandardError.report("report: \(error)")
            throw ExitCode.failure
        }
    }
}
