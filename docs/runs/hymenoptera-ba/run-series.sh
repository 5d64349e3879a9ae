#!/bin/bash
# The four runs of PLAN.md, one after the other, each resumed from its last checkpoint if it was
# interrupted (run it again after any stop). Usage: run-series.sh BINARY DATA_DIR OUT_DIR
set -u
binary=$1 data=$2 out=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
for run in m1-s1 m4-s1 m1-s2 m4-s2; do
    copies=${run:1:1} seed=${run:4:1}
    if [ -f "$out/$run/results.csv" ] && [ "$(tail -1 "$out/$run/results.csv" | cut -d, -f1)" = 99 ]; then
        echo "$run: finished"; continue
    fi
    if [ -f "$out/$run/checkpoint/checkpoint.json" ]; then where=(--resume "$out/$run"); else where=(--output "$out/$run"); fi
    echo "$run: ${where[*]} ($(date -u +%H:%M:%S))"
    mpirun -np 2 --bind-to core "$binary" train --dataset folder --data-dir "$data" --size 64 \
        --model resnet20 --batch-size 32 --copies "$copies" --ghost-batch-size 16 --epochs 100 \
        --regime "0:lr=0.1;50:lr=0.01;75:lr=0.001" --weight-decay 5e-4 --momentum 0.9 --seed "$seed" \
        --cache-decoded 256M --checkpoint-every 10 --log-every 7 "${where[@]}" >> "$out/$run.log" 2>&1 < /dev/null \
        || { echo "$run: status $?"; exit 1; }
done
echo "series finished ($(date -u +%H:%M:%S))"
