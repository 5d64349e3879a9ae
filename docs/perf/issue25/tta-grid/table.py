#!/usr/bin/env python3
"""The tables of README.md from the runs in DIR: per run, the evaluation where the validation error
first reached the threshold (step, training seconds), the errors at the epoch ends, the training
seconds of the three epochs and images/s; then per M, the medians, the ratio, the final errors'
means and seed ranges (the rules of PLAN.md), and the ratio of the 3 epochs' training seconds. Usage: table.py DIR [THRESHOLD]"""
import json
import os
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ left in bench/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../bench"))
import time_to_accuracy as tta  # noqa: E402

directory = sys.argv[1]
threshold = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
seeds = sorted({int(name.split("-s")[1].split(".")[0]) for name in os.listdir(directory) if name.startswith("ours-m")})
print("| run | reached ≤ %g %% at step | training seconds then | errors at the epoch ends | errors at every evaluation (steps 78, 156, …) | training seconds of the 3 epochs | images/s |"
      % (threshold * 100))
print("|---|---:|---:|---|---|---:|---:|")
summary = {}
for copies in (1, 4):
    for seed in seeds:
        for side in ("ours", "ddp"):
            path = os.path.join(directory, f"{side}-m{copies}-s{seed}" + ("" if side == "ours" else ".jsonl"))
            if not os.path.exists(path):
                continue
            points = (tta.ours if side == "ours" else tta.ddp)(path)
            evaluated = [p for p in points if p[2] is not None]
            ends = [p for p in evaluated if p[0] % 390 == 0]
            hit = tta.reached(points, threshold)
            total = ends[-1][1] if ends else float("nan")
            images = 390 * 3 * 128 * copies / total if ends else float("nan")
            summary.setdefault((copies, side), []).append((hit[1] if hit else None, ends[-1][2] if ends else None, total))
            print(f"| {'ours' if side == 'ours' else 'DDP '} M={copies} seed {seed} | {hit[0] if hit else '-'} | "
                  f"{hit[1]:.1f} |" if hit else f"| {side} M={copies} seed {seed} | not reached | - |", end="")
            print(f" {', '.join('%.1f' % (100 * p[2]) for p in ends)} % | {', '.join('%.1f' % (100 * p[2]) for p in evaluated)} | "
                  f"{total:.1f} | {images:,.0f} |")
print()
print("| M | time to ≤ %g %%: ours (seeds) | DDP (seeds) | DDP / ours, medians | final error ours (seeds), mean | DDP (seeds), mean | difference of means | larger seed range | training speed DDP / ours (3 epochs, medians) |" % (threshold * 100))
print("|---|---|---|---:|---|---|---:|---:|---:|")
for copies in (1, 4):
    o, d = summary.get((copies, "ours"), []), summary.get((copies, "ddp"), [])
    if not o or not d:
        continue
    ot, dt = [t for t, _, _ in o if t is not None], [t for t, _, _ in d if t is not None]
    of, df = [100 * f for _, f, _ in o if f is not None], [100 * f for _, f, _ in d if f is not None]
    speed = statistics.median([x[2] for x in d]) / statistics.median([x[2] for x in o])
    ratio = statistics.median(dt) / statistics.median(ot) if ot and dt else float("nan")
    spread = max(max(of) - min(of), max(df) - min(df))
    print(f"| {copies} | {', '.join('%.1f' % t for t in ot)} s | {', '.join('%.1f' % t for t in dt)} s | **{ratio:.2f}** | "
          f"{', '.join('%.1f' % f for f in of)} %, {statistics.mean(of):.1f} % | {', '.join('%.1f' % f for f in df)} %, "
          f"{statistics.mean(df):.1f} % | {abs(statistics.mean(of) - statistics.mean(df)):.1f} points | {spread:.1f} points | {speed:.2f} |")
