#!/usr/bin/env python3
"""Final and best validation error of each run of PLAN.md, the arms' means and the verdict by the
rule decided in advance (a difference of the arms' mean final errors under 8 points, or not in the
same direction for both seeds, is "no difference shown"). Usage: summarize.py RUNS_DIR"""
import csv, os, statistics, sys

root = sys.argv[1]
rows = {}
for run in ["m1-s1", "m4-s1", "m1-s2", "m4-s2"]:
    with open(os.path.join(root, run, "results.csv")) as f:
        records = [r for r in csv.DictReader(f) if r["val_error"]]
    errors = [100 * float(r["val_error"]) for r in records]
    best = min(range(len(errors)), key=lambda i: errors[i])
    rows[run] = (errors[-1], errors[best], int(records[best]["epoch"]), len(records),
                 100 * float(records[-1]["train_error"]))
print("| run | final validation error | best (epoch) | final training error |")
print("|---|---:|---:|---:|")
for run, (final, best, epoch, n, train) in rows.items():
    print(f"| {run} | {final:.1f} % | {best:.1f} % ({epoch}) | {train:.1f} % |")
m1 = [rows["m1-s1"][0], rows["m1-s2"][0]]
m4 = [rows["m4-s1"][0], rows["m4-s2"][0]]
print()
print(f"M = 1: mean final {statistics.mean(m1):.1f} % (seeds {m1[0]:.1f}, {m1[1]:.1f}); "
      f"M = 4: mean final {statistics.mean(m4):.1f} % (seeds {m4[0]:.1f}, {m4[1]:.1f})")
difference = statistics.mean(m1) - statistics.mean(m4)
same_direction = (m1[0] - m4[0]) * (m1[1] - m4[1]) > 0
verdict = ("a difference" if abs(difference) >= 8 and same_direction else "no difference shown")
print(f"M = 1 minus M = 4: {difference:+.1f} points; per seed {m1[0]-m4[0]:+.1f}, {m1[1]-m4[1]:+.1f}; verdict: {verdict}")
