#!/bin/bash
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX
NEW=$1; OUT=$2; R=$3
mkdir -p $OUT
cd /work/main
for r in $(seq $R); do
for spec in "resnet20 20 15" "resnet56 8 6" "wrn16-4 4 3"; do
  set -- $spec
  python3 bench/side_by_side.py --model $1 --rounds 1 --json-dir $OUT \
    --ours "$NEW bench step --model $1 --iters $2 --path auto --json" \
    --reference "/work/venv-torch/bin/python bench/pytorch_step.py --model $1 --iters $3"
done
done
echo done
