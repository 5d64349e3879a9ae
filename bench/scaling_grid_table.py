#!/usr/bin/env python3
"""bench/scaling_grid_table.py DIR — the table of a bench/scaling_grid.sh run: per link, model and M, the
2-host images/s of the defaults against one bucket (--bucket-size 0), their ratio, and what the defaults did."""
import json, pathlib, sys

rows = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("grid-*.jsonl")):
    link, rest = path.stem[len("grid-"):].split("-", 1)
    model, copies, setting = rest.rsplit("-", 2)
    phases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows.setdefault((link, model, copies), {})[setting] = {p["ranks"]: p for p in phases}

print("| link | model | M | 1 rank img/s (default, b0) | 2 hosts img/s default | 2 hosts img/s `--bucket-size 0` | default / b0 "
      "| overlap | compute ms (default, b0) | all-reduce ms (default, b0) | exposed ms (default, b0) |")
print("|---|---|---:|---|---:|---:|---:|---|---|---|---|")
order = {"unlimited": 0, "1gbit": 1, "100mbit": 2}
for (link, model, copies), settings in sorted(rows.items(), key=lambda kv: (order.get(kv[0][0], 9), kv[0][1], kv[0][2])):
    if "default" not in settings or "b0" not in settings:
        continue
    d, b = settings["default"], settings["b0"]
    two_d, two_b = d[2], b[2]
    print(f"| {link} | {model} | {copies[1:]} | {d[1]['images_per_second']:.1f}, {b[1]['images_per_second']:.1f} "
          f"| {two_d['images_per_second']:.1f} | {two_b['images_per_second']:.1f} "
          f"| **{two_d['images_per_second'] / two_b['images_per_second']:.2f}** | {'on' if two_d.get('overlap') else 'off'} "
          f"| {1000 * two_d['compute_seconds']:.1f}, {1000 * two_b['compute_seconds']:.1f} "
          f"| {1000 * two_d['allreduce_seconds']:.1f}, {1000 * two_b['allreduce_seconds']:.1f} "
          f"| {1000 * two_d['exposed_comm_seconds']:.1f}, {1000 * two_b['exposed_comm_seconds']:.1f} |")
