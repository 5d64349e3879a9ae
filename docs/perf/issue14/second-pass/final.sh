#!/bin/bash
# Final measurement block: new build and a1e077f against PyTorch, side by side on one core, rounds
# interleaved (new, old) per model; then our direct/auto speed-up and profiles; then kernel A/B.
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX
NEW=$1; OLD=$2; OUT=$3; R=${4:-5}
mkdir -p $OUT/new $OUT/old
cd /work/main
for spec in "resnet20 20 15" "resnet56 8 6" "wrn16-4 4 3"; do
  set -- $spec
  for r in $(seq $R); do
    for side in new old; do
      BIN=$([ $side = new ] && echo $NEW || echo $OLD)
      python3 bench/side_by_side.py --model $1 --rounds 1 --json-dir $OUT/$side \
        --ours "$BIN bench step --model $1 --iters $2 --path auto --json" \
        --reference "/work/venv-torch/bin/python bench/pytorch_step.py --model $1 --iters $3" | sed "s/^/$side /"
    done
  done
done
for spec in "resnet20 10" "resnet56 4" "wrn16-4 3"; do
  set -- $spec
  taskset -c 1 $NEW bench step --model $1 --iters $2 --path direct,auto --profile > $OUT/profile-$1.txt 2>&1
done
bash bench/kernel_ab/run.sh a1e077f HEAD > $OUT/kernel-ab.txt 2>&1
bash bench/kernel_ab/run.sh batchnorm >> $OUT/kernel-ab.txt 2>&1
echo done
