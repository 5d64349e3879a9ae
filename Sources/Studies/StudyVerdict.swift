import Formatting
import Foundation
import RunReport

/// What a study found about its claim: the verdict and the figures behind it.
public struct StudyVerdict: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case reproduced
        case notReproduced = "not reproduced at this scale"
        case contradicted
    }

    public var outcome: Outcome
    /// The comparisons the verdict rests on, each with the seed spread beside it.
    public var evidence: [String]
    /// The rule that turned the evidence into the outcome, stated before any run.
    public var rule: String
}

extension StudySummary {
    /// The verdict on the study's claim, by the rule stated in `StudyVerdict.rule`.
    public var verdict: StudyVerdict {
        switch definition.name {
        case .copies, .dropoutCopies: copiesVerdict()
        case .gradientNorm: gradientNormVerdict()
        case .baVsRa: baVsRaVerdict()
        case .increaseBatch: increaseBatchVerdict()
        }
    }

    /// The ordering of gradient norms found at each point (`gradient-norm`), one line per point:
    /// what `study gradient-norm` prints.
    public var orderingLines: [String] {
        guard let probe = definition.probe else { return [] }
        return probe.points.map { point in
            let arms = armNames.map { ($0, spread($0, epochs: point) { $0.gradientNorm }.mean) }.sorted { $0.1 > $1.1 }
            return "after \(point) epochs: " + arms.map { "\($0.0) \(number($0.1))" }.joined(separator: " > ")
        }
    }

    // MARK: - Rules

    private func copiesVerdict() -> StudyVerdict {
        let arms = armNames
        let errors = arms.map { spread($0) { $0.finalValidationError } }
        guard let baseline = errors.first, let top = errors.last, arms.count > 1 else {
            return StudyVerdict(outcome: .notReproduced, evidence: ["no arms to compare"], rule: "")
        }
        var evidence = zip(arms, errors).dropFirst().map { arm, e in
            "\(arm): final validation error \(describePercent(e)) vs baseline \(describePercent(baseline)): "
                + "Δ = \(signedPoints(e.mean - baseline.mean))" + (e.entirelyBelow(baseline) ? " (ranges apart)" :
                    baseline.entirelyBelow(e) ? " (ranges apart, worse)" : " (within the seed spread)")
        }
        let means = errors.map(\.mean)
        let monotone = zip(means, means.dropFirst()).allSatisfy { $0 >= $1 }
        evidence.append("mean final error " + (monotone ? "falls (or stays) at every step of M" : "is not monotone in M")
                        + ": " + zip(arms, means).map { "\($0) \(percent($1))" }.joined(separator: ", "))
        let outcome: StudyVerdict.Outcome = top.entirelyBelow(baseline) ? .reproduced
            : baseline.entirelyBelow(top) ? .contradicted : .notReproduced
        return StudyVerdict(outcome: outcome, evidence: evidence, rule:
            "reproduced when every seed of the largest M ends below every seed of the baseline (the ranges do not "
            + "overlap); contradicted when every seed of the largest M ends above every seed of the baseline; otherwise "
            + "not reproduced at this scale. Whether the mean falls at every step of M is reported beside it.")
    }

    private func gradientNormVerdict() -> StudyVerdict {
        guard let probe = definition.probe else { return StudyVerdict(outcome: .notReproduced, evidence: [], rule: "") }
        var evidence: [String] = []
        var orderingEverywhere = true, farFromIndependent = true, reversed = false
        let seeds = Set(rows.map(\.seed)).sorted()
        for point in probe.points {
            let base = spread("baseline", epochs: point, { $0.gradientNorm })
            for m in probe.factors {
                let ba = spread("ba-\(m)", epochs: point, { $0.gradientNorm })
                let large = spread("large-\(m)", epochs: point, { $0.gradientNorm })
                // The ordering must hold for each seed on its own.
                var holds = true, baBelowLargeEverywhere = true, baAboveBaseEverywhere = true
                for seed in seeds {
                    func value(_ arm: String) -> Double? {
                        rows.first { $0.arm == arm && $0.epochs == point && $0.seed == seed }?.gradientNorm
                    }
                    guard let b = value("baseline"), let a = value("ba-\(m)"), let l = value("large-\(m)") else { continue }
                    holds = holds && b > a && a > l
                    baBelowLargeEverywhere = baBelowLargeEverywhere && a < l
                    baAboveBaseEverywhere = baAboveBaseEverywhere && a >= b
                }
                let rBA = ba.mean / base.mean, rLarge = large.mean / base.mean
                let share = (1 - rBA) / (1 - rLarge)
                orderingEverywhere = orderingEverywhere && holds
                farFromIndependent = farFromIndependent && share < 0.5
                reversed = reversed || baBelowLargeEverywhere || baAboveBaseEverywhere
                evidence.append("after \(point) epochs, M = \(m): baseline \(describeNumber(base)), ba-\(m) \(describeNumber(ba)), "
                    + "large-\(m) \(describeNumber(large)); ba/baseline = \(number(rBA)), large/baseline = \(number(rLarge)), "
                    + "1/√M = \(number(1 / Double(m).squareRoot())); BA achieves \(percent(share)) of the large batch's "
                    + "reduction; order baseline > ba > large " + (holds ? "holds for every seed" : "fails for some seed"))
            }
        }
        let outcome: StudyVerdict.Outcome = orderingEverywhere && farFromIndependent ? .reproduced
            : reversed ? .contradicted : .notReproduced
        return StudyVerdict(outcome: outcome, evidence: evidence, rule:
            "reproduced when baseline > ba-M > large-M holds for every seed, every M and both points, and BA achieves "
            + "less than half of the large batch's reduction of ‖g‖ (1 − ba/baseline < ½ (1 − large/baseline)); "
            + "contradicted when, for some M and point, BA's norm is below the large batch's, or not below the "
            + "baseline's, for every seed; otherwise not reproduced at this scale. Norms are means over the batches "
            + "measured, then over seeds (range over seeds in brackets).")
    }

    private func baVsRaVerdict() -> StudyVerdict {
        let names = armNames
        guard names.count == 3 else { return StudyVerdict(outcome: .notReproduced, evidence: ["arms missing"], rule: "") }
        let (baseline, ba, ra) = (names[0], names[1], names[2])
        let e = [baseline, ba, ra].map { arm in spread(arm) { $0.finalValidationError } }
        let g = [baseline, ba, ra].map { arm in spread(arm) { $0.gradientNorm } }
        let errorHolds = e[1].mean <= e[2].mean
        let errorContradicted = e[2].entirelyBelow(e[1])
        let normHolds = g[0].mean > g[1].mean && g[1].mean > g[2].mean
        let normContradicted = g[1].entirelyBelow(g[2]) || g[0].entirelyBelow(g[1])
        let evidence = [
            "final validation error: \(baseline) \(describePercent(e[0])), \(ba) \(describePercent(e[1])), "
                + "\(ra) \(describePercent(e[2])); \(ba) − \(ra) = \(signedPoints(e[1].mean - e[2].mean))"
                + (e[1].entirelyBelow(e[2]) || e[2].entirelyBelow(e[1]) ? " (ranges apart)" : " (within the seed spread)"),
            "mean gradient norm over training: \(baseline) \(describeNumber(g[0])), \(ba) \(describeNumber(g[1])), "
                + "\(ra) \(describeNumber(g[2])); BA " + (normHolds ? "lies between the baseline and RA" : "does not lie between them"),
            "steps: " + [baseline, ba, ra].map { arm in "\(arm) \(Int(spread(arm) { Double($0.steps) }.mean))" }.joined(separator: ", ")
                + "; images: " + [baseline, ba, ra].map { arm in "\(arm) \(Int(spread(arm) { Double($0.images) }.mean))" }.joined(separator: ", "),
        ]
        let outcome: StudyVerdict.Outcome = errorHolds && normHolds ? .reproduced
            : errorContradicted || normContradicted ? .contradicted : .notReproduced
        return StudyVerdict(outcome: outcome, evidence: evidence, rule:
            "reproduced when BA's mean final error is not above RA's and the mean gradient norms order baseline > BA > RA; "
            + "contradicted when every seed of RA ends below every seed of BA, or BA's norm lies outside the two for every "
            + "seed (ranges apart); otherwise not reproduced at this scale.")
    }

    private func increaseBatchVerdict() -> StudyVerdict {
        let names = armNames
        guard names.count == 3 else { return StudyVerdict(outcome: .notReproduced, evidence: ["arms missing"], rule: "") }
        let (decay, batch, copies) = (names[0], names[1], names[2])
        let e = [decay, batch, copies].map { arm in spread(arm) { $0.finalValidationError } }
        let steps = [decay, batch, copies].map { arm in spread(arm) { Double($0.steps) }.mean }
        // Gradient noise after the first change: the steps-weighted mean ‖g‖ over the epochs from the
        // first epoch whose batch or copies differ from the first epoch's.
        var noiseHolds = true, noiseReversed = true
        var noiseLines: [String] = []
        for seed in Set(rows.map(\.seed)).sorted() {
            guard let b = epochs["\(batch)-seed\(seed)"], let c = epochs["\(copies)-seed\(seed)"],
                  let change = b.firstIndex(where: { $0.batchSize != b[0].batchSize || $0.copies != b[0].copies }) else { continue }
            let nb = Self.meanNorm(b, from: change), nc = Self.meanNorm(c, from: change)
            noiseHolds = noiseHolds && nc > nb
            noiseReversed = noiseReversed && nc < nb
            noiseLines.append("seed \(seed): \(number(nc)) (\(copies)) vs \(number(nb)) (\(batch))")
        }
        let sameError = !e[1].entirelyBelow(e[0]) && !e[0].entirelyBelow(e[1])
        let batchWorse = e[0].entirelyBelow(e[1])
        let evidence = [
            "final validation error: \(decay) \(describePercent(e[0])), \(batch) \(describePercent(e[1])), "
                + "\(copies) \(describePercent(e[2])); \(batch) − \(decay) = \(signedPoints(e[1].mean - e[0].mean))"
                + (sameError ? " (within the seed spread)" : " (ranges apart)"),
            "steps: \(decay) \(Int(steps[0])), \(batch) \(Int(steps[1])) (\(percent(steps[1] / steps[0])) of \(decay)'s), "
                + "\(copies) \(Int(steps[2]))",
            "mean gradient norm from the first change on (larger = noisier): " + noiseLines.joined(separator: "; ")
                + (noiseHolds ? " — more copies reduce it less than a larger batch, for every seed" : ""),
        ]
        let outcome: StudyVerdict.Outcome = (sameError || e[1].entirelyBelow(e[0])) && steps[1] < steps[0] && noiseHolds
            ? .reproduced : batchWorse || noiseReversed ? .contradicted : .notReproduced
        return StudyVerdict(outcome: outcome, evidence: evidence, rule:
            "reproduced when increase-batch ends no worse than decay-lr beyond the seed spread (ranges overlap, or it is "
            + "better) in fewer steps, and for every seed increase-copies' gradient norm after the first change is "
            + "above increase-batch's; contradicted when every seed of increase-batch ends above every seed of decay-lr, "
            + "or the copies' norm is below the batch's for every seed; otherwise not reproduced at this scale.")
    }

    static func meanNorm(_ records: [EpochResult], from index: Int) -> Double {
        var steps = 0, sum = 0.0
        var previous = index > 0 ? records[index - 1].step ?? 0 : 0
        for record in records[index...] {
            guard let step = record.step, let norm = record.gradientNorm else { continue }
            sum += norm * Double(step - previous)
            steps += step - previous
            previous = step
        }
        return sum / Double(max(steps, 1))
    }

    // MARK: - summary.md

    public func markdown() -> String {
        var lines = ["# Study `\(study)` (\(definition.scale.rawValue))", "", "**Claim.** \(definition.name.claim)", "",
                     "**What runs.** \(definition.design)", ""]
        let seedCount = Set(rows.map(\.seed)).count
        if let probe = definition.probe {
            for point in probe.points {
                lines += ["## ‖g‖ at fixed parameters after \(point) epochs (mean over \(probe.batches) batches; mean over "
                          + "\(seedCount) seeds, range in brackets)", "",
                          "| arm | M | images per batch | ‖g‖ | / baseline | 1/√M |", "|---|---:|---:|---:|---:|---:|"]
                let base = spread("baseline", epochs: point, { $0.gradientNorm }).mean
                for arm in armNames {
                    let s = spread(arm, epochs: point, { $0.gradientNorm })
                    guard let row = rows.first(where: { $0.arm == arm && $0.epochs == point }) else { continue }
                    let m = max(row.copies, row.batchSize / probe.base.batchSize)
                    lines.append("| \(arm) | \(m) | \(row.copies * row.batchSize) | \(describeNumber(s)) | \(number(s.mean / base)) | "
                                 + "\(number(1 / Double(m).squareRoot())) |")
                }
                lines.append("")
            }
        } else {
            lines += ["## Per arm (mean over \(seedCount) seeds, range in brackets)", "",
                      "| arm | final val error | best val error | mean ‖g‖ | steps | images | training time |",
                      "|---|---:|---:|---:|---:|---:|---:|"]
            for arm in armNames {
                let final = spread(arm) { $0.finalValidationError }, best = spread(arm) { $0.bestValidationError }
                lines.append("| \(arm) | \(describePercent(final)) | \(describePercent(best)) | "
                             + "\(describeNumber(spread(arm) { $0.gradientNorm })) | \(Int(spread(arm) { Double($0.steps) }.mean)) | "
                             + "\(Int(spread(arm) { Double($0.images) }.mean)) | "
                             + "\(Int(spread(arm) { $0.wallSeconds }.mean.rounded())) s |")
            }
            lines.append("")
        }
        let verdict = self.verdict
        lines += ["## Verdict: \(verdict.outcome.rawValue)", ""] + verdict.evidence.map { "- \($0)" }
        lines += ["", "Rule: \(verdict.rule)", "", "Every run's files are under `runs/`; one row per run in `summary.csv`."]
        return lines.joined(separator: "\n") + "\n"
    }

    private func percent(_ value: Double) -> String { fixed(value * 100, 2) + " %" }
    private func number(_ value: Double) -> String { significant(value, digits: 4) }
    private func signedPoints(_ value: Double) -> String {
        let text = fixed(value * 100, 2)
        return (text.hasPrefix("-") ? text : "+" + text) + " points"
    }
    private func describePercent(_ s: Spread) -> String {
        s.values.isEmpty ? "–" : "\(percent(s.mean)) [\(fixed(s.min * 100, 2))–\(fixed(s.max * 100, 2))]"
    }
    private func describeNumber(_ s: Spread) -> String {
        s.values.isEmpty ? "–" : "\(number(s.mean)) [\(number(s.min))–\(number(s.max))]"
    }
}
