#!/bin/bash
# Where issue 25 starts: this build against PyTorch 2.15 (one thread) on one core, B = 64, the
# side-by-side protocol of bench/side_by_side.py, ROUNDS rounds per model; then our --path direct
# against auto in the same session. Usage: side-by-side.sh BINARY OUT [ROUNDS]
# wrn16-4 rounds are 12 of our steps against 9 of PyTorch's (4 against 3 until 2026-12-07: too short
# to decide a few per cent, decided before the runs that use it).
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX
BIN=$1; OUT=$2; R=${3:-5}
mkdir -p "$OUT"
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
for spec in "resnet20 20 15" "resnet56 8 6" "wrn16-4 12 9"; do
    set -- $spec
    python3 bench/side_by_side.py --model $1 --rounds $R --json-dir "$OUT" \
        --ours "$BIN bench step --model $1 --iters $2 --path auto --json" \
        --reference "/work/venv-torch/bin/python bench/pytorch_step.py --model $1 --iters $3"
done
for spec in "resnet20 10" "resnet56 4" "wrn16-4 3"; do
    set -- $spec
    taskset -c 1 "$BIN" bench step --model $1 --iters $2 --path direct,auto > "$OUT/direct-auto-$1.txt" 2>&1
    tail -3 "$OUT/direct-auto-$1.txt"
done
