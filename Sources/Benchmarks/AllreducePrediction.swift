import Collectives
import Formatting
import Foundation
import JSON

/// `bench predict`: α–β models fitted to `bench allreduce --json` measurements between hosts (one
/// per kind of link), checked against every measurement, and the weak scaling they predict.
public struct AllreducePrediction {
    /// One kind of link (e.g. "100mbit"): its measurements and the model fitted to them.
    public struct Link: Sendable {
        public var name: String
        public var records: [AllreduceRecord]
        public var model: AllreduceModel

        /// Fits the model to the 2-host measurements among `records`.
        public init(name: String, records: [AllreduceRecord]) throws {
            self.name = name
            self.records = records
            do {
                model = try AllreduceModel.fit(ring: records.filter { $0.algorithm == .ring }.map(\.point),
                                               mpi: records.filter { $0.algorithm == .mpi }.map(\.point))
            } catch let error as AllreduceModel.FitError {
                throw AllreduceModel.FitError(description: "link \(name): \(error.description) "
                    + "(record bench allreduce --json on 2 hosts, one rank each)")
            }
        }
    }

    public var links: [Link]
    public var workloads: [ScalingPrediction]
    public var ranks: [Int]

    public init(links: [Link], workloads: [ScalingPrediction], ranks: [Int]) {
        self.links = links
        self.workloads = workloads
        self.ranks = ranks
    }

    public func report() -> String {
        var out = ["α–β fit per link (2 hosts, one rank each; α = seconds per message step, 1/β = bytes per second of a link):"]
        var fit = TextTable(header: ["link", "ring α", "ring 1/β", "mpi α", "mpi 1/β", "points"])
        for link in links {
            fit.append([link.name, formatSeconds(link.model.ring.latency), bandwidth(link.model.ring),
                        formatSeconds(link.model.mpi.latency), bandwidth(link.model.mpi),
                        "\(link.records.filter { $0.ranks == 2 }.count)"])
        }
        out.append(fit.render())

        out.append("")
        out.append("Check: predicted / measured seconds per all-reduce (fit at 2 hosts; 3 and 4 hosts are predictions):")
        var check = TextTable(header: ["link", "hosts", "size", "ring measured", "ring predicted", "ratio",
                                       "mpi measured", "mpi predicted", "ratio"])
        for link in links {
            let keys = Set(link.records.map { Key(ranks: $0.ranks, bytes: $0.bytes) }).sorted()
            for key in keys {
                var row = [link.name, "\(key.ranks)", ByteSize.format(key.bytes)]
                for algorithm in AllreduceAlgorithm.allCases {
                    if let measured = link.records.first(where: { $0.algorithm == algorithm && Key(ranks: $0.ranks, bytes: $0.bytes) == key }) {
                        let predicted = link.model.seconds(algorithm, ranks: key.ranks, bytes: key.bytes)
                        row += [formatSeconds(measured.seconds), formatSeconds(predicted), fixed(predicted / measured.seconds, 2)]
                    } else {
                        row += ["", "", ""]
                    }
                }
                check.append(row)
            }
        }
        out.append(check.render())
        out.append("")
        out.append("median |log ratio| as a factor, by link and hosts: " + links.map { link in
            Set(link.records.map(\.ranks)).sorted().map { hosts in
                "\(link.name) \(hosts) hosts ×\(fixed(medianErrorFactor(link, hosts: hosts), 2))"
            }.joined(separator: ", ")
        }.joined(separator: "; "))

        out.append("")
        out.append("Predicted weak scaling (all-reduce not overlapped with the step; auto = the faster of ring and mpi):")
        var table = TextTable(header: ["model", "link", "ranks", "gradient", "compute", "ring", "mpi", "step",
                                       "efficiency", "images/s"])
        for workload in workloads {
            for link in links {
                for n in ranks {
                    let row = workload.row(ranks: n, model: link.model)
                    table.append([workload.model, link.name, "\(n)", ByteSize.format(workload.gradientBytes),
                                  formatSeconds(workload.computeSeconds), formatSeconds(row.ringSeconds),
                                  formatSeconds(row.mpiSeconds), formatSeconds(row.stepSeconds),
                                  fixed(100 * row.efficiency, 1) + "%", fixed(row.imagesPerSecond, 0)])
                }
            }
        }
        out.append(table.render())
        return out.joined(separator: "\n")
    }

    public func jsonLines() -> [String] {
        var lines: [String] = []
        for link in links {
            lines.append(JSONLine().add("type", "fit").add("link", link.name)
                .add("ring_alpha_seconds", link.model.ring.latency).add("ring_beta_seconds_per_byte", link.model.ring.secondsPerByte)
                .add("mpi_alpha_seconds", link.model.mpi.latency).add("mpi_beta_seconds_per_byte", link.model.mpi.secondsPerByte)
                .render())
            for record in link.records {
                lines.append(JSONLine().add("type", "check").add("link", link.name).add("algo", record.algorithm.rawValue)
                    .add("ranks", record.ranks).add("bytes", record.bytes).add("measured_seconds", record.seconds)
                    .add("predicted_seconds", link.model.seconds(record.algorithm, ranks: record.ranks, bytes: record.bytes))
                    .render())
            }
        }
        for workload in workloads {
            for link in links {
                for n in ranks {
                    let row = workload.row(ranks: n, model: link.model)
                    lines.append(JSONLine().add("type", "prediction").add("model", workload.model).add("link", link.name)
                        .add("ranks", n).add("gradient_bytes", workload.gradientBytes)
                        .add("compute_seconds", workload.computeSeconds).add("ring_seconds", row.ringSeconds)
                        .add("mpi_seconds", row.mpiSeconds).add("step_seconds", row.stepSeconds)
                        .add("efficiency", row.efficiency).add("images_per_second", row.imagesPerSecond).render())
                }
            }
        }
        return lines
    }

    /// exp(median |log(predicted / measured)|) over both algorithms' measurements at `hosts`.
    func medianErrorFactor(_ link: Link, hosts: Int) -> Double {
        let errors = link.records.filter { $0.ranks == hosts && $0.seconds > 0 }.map { record in
            abs(log(link.model.seconds(record.algorithm, ranks: record.ranks, bytes: record.bytes) / record.seconds))
        }
        return errors.isEmpty ? .nan : exp(median(errors))
    }

    private func bandwidth(_ cost: LinkCost) -> String {
        cost.secondsPerByte > 0 ? fixed(cost.bytesPerSecond / 1e6, 1) + " MB/s" : "unbounded"
    }

    private struct Key: Hashable, Comparable {
        var ranks: Int
        var bytes: Int
        static func < (a: Key, b: Key) -> Bool { (a.ranks, a.bytes) < (b.ranks, b.bytes) }
    }
}

/// One line of `bench allreduce --json`, as the model reads it.
public struct AllreduceRecord: Sendable, Equatable {
    public var algorithm: AllreduceAlgorithm
    public var ranks: Int
    public var hosts: Int
    public var bytes: Int
    public var seconds: Double
    /// The ring's settings, for ring rows.
    public var ringSettings: RingSettings?

    public var point: AllreduceModel.Point { AllreduceModel.Point(ranks: ranks, bytes: bytes, seconds: seconds) }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The records of a `bench allreduce --json` output that describe links between hosts: one
    /// rank per host, the ring with the network's settings (other settings were a sweep) and
    /// MPI; `auto` rows repeat one of those and are left out. Lines that are not JSON objects of
    /// the benchmark are errors naming the file and line.
    public static func parse(_ text: String, source: String) throws -> [AllreduceRecord] {
        var records: [AllreduceRecord] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["op"] as? String == "allreduce", let algo = object["algo"] as? String,
                  let ranks = object["ranks"] as? Int, let bytes = object["bytes"] as? Int,
                  let seconds = object["seconds"] as? Double else {
                throw ParseError(description: "\(source):\(index + 1): not a line of bench allreduce --json")
            }
            guard let algorithm = AllreduceAlgorithm(rawValue: algo) else { continue }   // auto
            let hosts = object["hosts"] as? Int ?? 1
            var settings: RingSettings? = nil
            if let chunk = object["ring_chunk_bytes"] as? Int, let depth = object["ring_depth"] as? Int,
               chunk >= 4, depth >= 1 {
                settings = RingSettings(chunkBytes: chunk, depth: depth)
            }
            guard hosts == ranks, ranks > 1, algorithm == .mpi || settings == nil || settings == .network else { continue }
            records.append(AllreduceRecord(algorithm: algorithm, ranks: ranks, hosts: hosts, bytes: bytes, seconds: seconds,
                                           ringSettings: settings))
        }
        return records
    }
}

extension AllreducePrediction {
    /// The predicted efficiency against the number of ranks (logarithmic), one line per model
    /// (colour) and link (dash pattern), as a self-contained SVG image.
    public func svg() -> String {
        let width = 760.0, height = 440.0, left = 60.0, right = 200.0, top = 30.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let xs = ranks.filter { $0 >= 1 }.map { log2(Double($0)) }
        let low = xs.min() ?? 0, high = max(xs.max() ?? 1, low + 1)
        func x(_ n: Int) -> Double { left + (log2(Double(n)) - low) / (high - low) * plotWidth }
        func y(_ efficiency: Double) -> Double { top + (1 - efficiency) * plotHeight }
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        let dashes = ["", "8 4", "2 3", "12 4 2 4"]

        var svg = [#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" font-family="sans-serif" font-size="12">"#,
                   #"<rect width="100%" height="100%" fill="white"/>"#]
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg.append(#"<line x1="\#(left)" y1="\#(y(tick))" x2="\#(left + plotWidth)" y2="\#(y(tick))" stroke="gainsboro"/>"#)
            svg.append(#"<text x="\#(left - 8)" y="\#(y(tick) + 4)" text-anchor="end">\#(Int(tick * 100))%</text>"#)
        }
        for n in ranks {
            svg.append(#"<line x1="\#(x(n))" y1="\#(top)" x2="\#(x(n))" y2="\#(top + plotHeight)" stroke="whitesmoke"/>"#)
            svg.append(#"<text x="\#(x(n))" y="\#(top + plotHeight + 16)" text-anchor="middle">\#(n)</text>"#)
        }
        svg.append(#"<text x="\#(left + plotWidth / 2)" y="\#(height - 12)" text-anchor="middle">ranks (one per host)</text>"#)
        svg.append(#"<text x="16" y="\#(top + plotHeight / 2)" transform="rotate(-90 16 \#(top + plotHeight / 2))" text-anchor="middle">predicted step efficiency</text>"#)
        var legend = top
        for (w, workload) in workloads.enumerated() {
            for (l, link) in links.enumerated() {
                let colour = colours[w % colours.count], dash = dashes[l % dashes.count]
                let points = ranks.map { n in "\(fixed(x(n), 1)),\(fixed(y(workload.row(ranks: n, model: link.model).efficiency), 1))" }
                svg.append(#"<polyline fill="none" stroke="\#(colour)" stroke-width="2" stroke-dasharray="\#(dash)" points="\#(points.joined(separator: " "))"/>"#)
                let lx = left + plotWidth + 16
                svg.append(#"<line x1="\#(lx)" y1="\#(legend)" x2="\#(lx + 28)" y2="\#(legend)" stroke="\#(colour)" stroke-width="2" stroke-dasharray="\#(dash)"/>"#)
                svg.append(#"<text x="\#(lx + 34)" y="\#(legend + 4)">\#(workload.model), \#(link.name)</text>"#)
                legend += 18
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }
}
