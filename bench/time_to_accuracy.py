#!/usr/bin/env python3
"""Time to accuracy, side by side: our runs against bench/ddp_cifar.py's (issue 25, item 2).

    python3 bench/time_to_accuracy.py --threshold 0.5 --ours runs/m1-s1 runs/m1-s2 --ddp ddp-m1-s1.jsonl ddp-m1-s2.jsonl

For each run: the training seconds at which the validation error first reached <= THRESHOLD, and its
final validation error. Time is cumulative *training* seconds, evaluation excluded, on both sides:
ours is the running sum of metrics.jsonl's step records (step_seconds times the steps each covers:
each step's batch, forward, backward, all-reduce and update), the DDP side's is its train_seconds
(its step loops' time, the evaluations of --eval-every-steps subtracted). Each side is timed from its
first step, start-up and data loading excluded. A run is checked where it evaluated: at epoch ends,
and every N steps with `--eval-every-steps N` on both sides. Then the median of each side and their
ratio (DDP / ours: above 1 means ours got there sooner).
"""

import argparse
import json
import os
import statistics
import sys


def ours(directory):
    """[(global step, cumulative training seconds, val_error or None)] of one of our run directories,
    from metrics.jsonl: the training seconds are the running sum of the step records' step_seconds
    times the steps each covers (a step record follows every --log-every steps, every evaluation of
    --eval-every-steps and every epoch's last step, so the sum covers every step); the errors are
    those of the step records --eval-every-steps evaluated and of the epoch records (at the epoch's
    last step). A resumed run (its steps go back) is refused: its seconds are not one run's."""
    with open(os.path.join(directory, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    points, total, previous = [], 0.0, 0
    for r in records:
        step = int(r["step"])
        if r.get("type") == "step":
            if step <= previous:
                sys.exit(f"{directory}: step {step} follows step {previous} (a resumed run); time it uninterrupted")
            total += r["step_seconds"] * (step - previous)
            previous = step
            points.append((step, total, r.get("val_error")))
        elif r.get("type") == "epoch" and r.get("val_error") is not None:
            if points and points[-1][0] == step:
                points[-1] = (step, points[-1][1], r["val_error"])
            else:
                points.append((step, total, r["val_error"]))
    return points


def ddp(path):
    """[(global step, train_seconds, val_error)] of a bench/ddp_cifar.py JSON-lines file: its epoch
    lines and the step lines of --eval-every-steps (files from before those have epoch lines only,
    without a "type")."""
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    points = []
    for r in records:
        step = r["step"] if r.get("type") == "step" else (r["epoch"] + 1) * r["steps"]
        points.append((step, r["train_seconds"], r.get("val_error")))
    return points


def reached(points, threshold):
    """(step, seconds) of the first evaluation with val_error <= threshold, or None."""
    for step, seconds, error in points:
        if error is not None and error <= threshold:
            return step, seconds
    return None


def final(points):
    evaluated = [p for p in points if p[2] is not None]
    return evaluated[-1] if evaluated else (None, None, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, required=True, help="validation error T (a fraction, e.g. 0.1)")
    parser.add_argument("--ours", nargs="+", default=[], metavar="RUN_DIR", help="our run directories")
    parser.add_argument("--ddp", nargs="+", default=[], metavar="FILE.jsonl", help="bench/ddp_cifar.py outputs")
    parser.add_argument("--json", action="store_true", help="also print one JSON line of the summary")
    args = parser.parse_args()
    if not args.ours and not args.ddp:
        parser.error("give --ours RUN_DIR... and/or --ddp FILE.jsonl...")

    print(f"time to val_error <= {args.threshold:g} (cumulative training seconds, evaluation excluded)")
    print(f"{'side':6} {'evals':>6} {'reached at step':>16} {'seconds':>10} {'final error':>11} {'total s':>9}  run")
    times = {"ours": [], "ddp": []}
    finals = {"ours": [], "ddp": []}
    for side, paths, read in [("ours", args.ours, ours), ("ddp", args.ddp, ddp)]:
        for path in paths:
            points = read(path)
            hit = reached(points, args.threshold)
            last = final(points)
            if hit:
                times[side].append(hit[1])
            if last[2] is not None:
                finals[side].append(last[2])
            evaluations = sum(1 for p in points if p[2] is not None)
            print(f"{side:6} {evaluations:6d} {hit[0] if hit else '-':>16} "
                  f"{f'{hit[1]:.1f}' if hit else 'not reached':>10} "
                  f"{f'{last[2]:.4f}' if last[2] is not None else '-':>11} "
                  f"{points[-1][1] if points else 0:9.1f}  {path}")

    summary = {"threshold": args.threshold}
    for side, paths in [("ours", args.ours), ("ddp", args.ddp)]:
        if paths:
            median = statistics.median(times[side]) if times[side] else None
            summary[side] = {"runs": len(paths), "reached": len(times[side]), "median_seconds": median,
                             "median_final_error": statistics.median(finals[side]) if finals[side] else None}
            print(f"{side}: {len(times[side])} of {len(paths)} runs reached it"
                  + (f", median {median:.1f} s" if median is not None else "")
                  + (f"; median final error {summary[side]['median_final_error']:.4f}" if finals[side] else ""))
    if times["ours"] and times["ddp"]:
        ratio = statistics.median(times["ddp"]) / statistics.median(times["ours"])
        summary["ratio_ddp_over_ours"] = ratio
        print(f"ratio DDP / ours: {ratio:.3f} ({'ours' if ratio > 1 else 'DDP'} reached it sooner)"
              + ("" if len(times["ours"]) == len(args.ours) and len(times["ddp"]) == len(args.ddp)
                 else "  [over the runs that reached it only]"))
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
