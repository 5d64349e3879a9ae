#!/bin/bash
# The runs of PLAN.md, one after the other; finished runs are skipped. Usage: run.sh OUT [SEEDS]
# With GRID=N both sides also evaluate every N steps (../tta-grid/PLAN.md: GRID=78); COPIES="4"
# runs only M = 4 (default "1 4").
set -u
out=$1; seeds=${2:-"1 2"}
grid=(); [ "${GRID:-0}" -gt 0 ] && grid=(--eval-every-steps "$GRID")   # the same option on both sides
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
bin=${BATCHAUG_BIN:-$repo/.build/release/batchaug-dist}
data=${DATA:-$repo/../shared/datasets/cifar10-jpeg}
python=${TORCH_PYTHON:-/work/venv-torch/bin/python}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
mkdir -p "$out"
for seed in $seeds; do
    for copies in ${COPIES:-1 4}; do
        run="$out/ours-m$copies-s$seed"
        if [ "$(grep -c '' "$run/results.csv" 2>/dev/null)" != 4 ]; then
            rm -rf "$run"; echo "ours M=$copies seed $seed ($(date -u +%T))"
            mpirun -np 2 --bind-to core "$bin" train --dataset cifar10 --data-dir "$data" --model resnet20 \
                --batch-size 128 --copies $copies --ghost-batch-size 64 --epochs 3 --lr 0.1 --momentum 0.9 \
                --weight-decay 5e-4 --seed $seed --log-every 100 "${grid[@]}" --output "$run" \
                > "$run.log" 2>&1 < /dev/null
        fi
        ddp="$out/ddp-m$copies-s$seed.jsonl"
        if [ "$(grep -c '"train_loss"' "$ddp" 2>/dev/null)" != 3 ]; then   # its three epoch lines
            rm -f "$ddp"; echo "DDP M=$copies seed $seed ($(date -u +%T))"
            "$python" "$repo/bench/ddp_cifar.py" --copies $copies --epochs 3 --seed $seed --data-dir "$data" \
                "${grid[@]}" --out "$ddp" > "$out/ddp-m$copies-s$seed.log" 2>&1 < /dev/null
        fi
    done
done
echo "done ($(date -u +%T))"
