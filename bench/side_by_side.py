#!/usr/bin/env python3
"""Ours against the PyTorch reference on one core, robust to a machine whose speed drifts.

Run one after the other (farm-bench), two processes see the machine at different moments; on a
virtual machine whose speed drifts by ±20 % over minutes their ratio scatters as much. Here both
run at the same time on the same core and take turns: every --slice seconds one is stopped
(SIGSTOP) and the other continued (SIGCONT), until both have finished. Each reports the median
CPU seconds of its step's thread, which a stopped process does not accumulate, so both are timed
over the same stretch of the machine's life, in alternating slices. The price: each slice starts
with caches the other process filled (a few microseconds against slices of a quarter second).

    python3 bench/side_by_side.py --model resnet20 --rounds 5 \\
        --ours ".build/release/batchaug-dist bench step --model resnet20 --iters 20 --path auto --json" \\
        --reference "/work/venv-torch/bin/python bench/pytorch_step.py --model resnet20 --iters 15"

Prints, per round, both images per CPU second and their ratio, then the median ratio; with
--json-dir, appends each side's JSON line to ours-MODEL.jsonl and torch-MODEL.jsonl there. A round
in which a process is killed from outside (SIGHUP, SIGINT, SIGTERM, SIGKILL) is run again once, saying
so; any other failure ends the run naming the side and its exit status or signal.
"""

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in output:\n" + text[-2000:])


def one_round(ours, reference, core, slice_seconds, timeout):
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    environment.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
    processes = [
        subprocess.Popen(["taskset", "-c", str(core)] + shlex.split(command), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=environment, text=True)
        for command in (ours, reference)
    ]
    outputs = ["", ""]
    # Drain both pipes from threads so that a stopped reader never blocks a writer.
    import threading

    def drain(index):
        outputs[index] = processes[index].stdout.read()

    readers = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for reader in readers:
        reader.start()
    running = 0
    processes[1].send_signal(signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in processes):
            if time.monotonic() > deadline:
                raise TimeoutError("a side did not finish within %d s" % timeout)
            time.sleep(slice_seconds)
            other = 1 - running
            if processes[other].poll() is None:
                if processes[running].poll() is None:
                    processes[running].send_signal(signal.SIGSTOP)
                processes[other].send_signal(signal.SIGCONT)
                running = other
            elif processes[running].poll() is None:
                processes[running].send_signal(signal.SIGCONT)
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.kill()
        for reader in readers:
            reader.join()
    for p, name in zip(processes, ("ours", "reference")):
        if p.returncode < 0:
            killed = signal.Signals(-p.returncode)
            raise (Interrupted if killed in OUTSIDE_SIGNALS else RuntimeError)("%s was killed by %s" % (name, killed.name))
        if p.returncode != 0:
            raise RuntimeError("%s exited with status %d" % (name, p.returncode))
    return last_json(outputs[0]), last_json(outputs[1])


# Signals that come from outside the benchmark (a closed terminal, a kill), not from a fault of the
# measured program: a round that loses a process to one is run again, once.
OUTSIDE_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL}


class Interrupted(RuntimeError):
    pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--ours", required=True, help="our command (prints bench step --json)")
    parser.add_argument("--reference", required=True, help="the reference command (prints one JSON line)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument("--slice", type=float, default=0.25, help="seconds each side runs before the other")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--json-dir")
    arguments = parser.parse_args()
    ratios = []
    for round_index in range(arguments.rounds):
        def run():
            return one_round(arguments.ours, arguments.reference, arguments.core, arguments.slice, arguments.timeout)
        try:
            ours, reference = run()
        except Interrupted as interruption:
            print("%s round %d: %s; running the round again" % (arguments.model, round_index + 1, interruption),
                  flush=True)
            ours, reference = run()
        ratio = ours["images_per_cpu_second"] / reference["images_per_cpu_second"]
        if round_index == 0 and "kernels" in ours:   # OPENBLAS_CORETYPE from the environment wins over the default
            print("%s: ours on kernels %s" % (arguments.model, ours["kernels"]), flush=True)
        ratios.append(ratio)
        print("%s round %d: ours %.1f, reference %.1f images per CPU second, ratio %.3f"
              % (arguments.model, round_index + 1, ours["images_per_cpu_second"],
                 reference["images_per_cpu_second"], ratio), flush=True)
        if arguments.json_dir:
            os.makedirs(arguments.json_dir, exist_ok=True)
            for name, record in (("ours", ours), ("torch", reference)):
                with open(os.path.join(arguments.json_dir, "%s-%s.jsonl" % (name, arguments.model)), "a") as f:
                    f.write(json.dumps(record) + "\n")
    print("%s median ratio %.3f (rounds %s)" % (arguments.model, statistics.median(ratios),
                                                 ", ".join("%.3f" % r for r in ratios)))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, TimeoutError, ValueError) as failure:
        sys.exit("side_by_side.py: %s" % failure)
