#!/bin/bash
# Engine speed before and after the convolution planner (issue 21, items 2, 6, 7): `bench step`
# of BEFORE and AFTER binaries alternated, ROUNDS rounds per model, each printing its median step
# time; the same kernels for both (OpenBLAS core and one thread set explicitly).
# Usage: engine-before-after.sh BEFORE AFTER [ROUNDS]   (run on a quiet machine, pinned to core 1)
set -u
before=$1 after=$2 rounds=${3:-5}
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX
for model in resnet20 wrn16-4; do
    iters=20; [ $model = wrn16-4 ] && iters=6
    for round in $(seq 1 "$rounds"); do
        for which in before after; do
            binary=$before; [ $which = after ] && binary=$after
            ms=$(taskset -c 1 "$binary" bench step --model $model --iters $iters --json \
                | python3 -c 'import json,sys; d=[json.loads(l) for l in sys.stdin if l.startswith("{")][-1]; print("%.2f" % (1000*d["step_seconds"]))')
            echo "$model round $round $which $ms"
        done
    done
done
