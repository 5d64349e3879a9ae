#!/bin/bash
# Kernel A/B benchmarks on one core, cold caches, alternated call by call in one process (the
# figures of docs/PERFORMANCE.md, "Issue 14, second pass"):
#
#   bench/kernel_ab/run.sh REV_A REV_B     blocked products, Winograd and the batch-norm passes across
#                                          images (passes.c) of two revisions
#   bench/kernel_ab/run.sh batchnorm       batch-norm backward variants of the working tree
#   bench/kernel_ab/run.sh blocks          Winograd block sizes, the working tree's kernels
#   bench/kernel_ab/run.sh gemm-blocks     blocked products' block sizes, the working tree's kernels
#
# Needs clang (the Swift toolchain's) and the repository's git history; builds into a temporary
# directory. Each line: medians over 21 rounds of both times (ms) and of the per-round ratio A/B
# (> 1: B faster).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cc=${CC:-$(dirname "$(readlink -f "$(command -v swift)")")/clang}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
core=${CORE:-1}
flags="-O3 -I$repo/Sources/CKernels/include"
# The strided layers of resnet20/56 (3×3/2 16→32, 32→64) and wrn16-4 (3×3/2 and 1×1/2 shortcuts).
gemm_shapes=("16 32 32 2 3" "32 64 16 2 3" "64 128 32 2 3" "64 128 32 2 1" "128 256 16 2 3" "128 256 16 2 1")

if [ "${1:-}" = batchnorm ]; then
    "$cc" $flags "$here/batchnorm.c" "$repo/Sources/CKernels/elementwise.c" -o "$work/batchnorm"
    for shape in "16 32" "32 16" "64 8"; do taskset -c "$core" "$work/batchnorm" groups $shape; done
    for shape in "16 32" "32 16" "64 8"; do taskset -c "$core" "$work/batchnorm" mask $shape; done
    exit 0
fi
if [ "${1:-}" = blocks ]; then
    src="$repo/Sources/CKernels"
    "$cc" $flags "$here/blocks.c" "$src/winograd.c" "$src/conv.c" -o "$work/blocks"
    for shape in "16 16 32" "32 32 16" "64 64 8" "16 64 32" "64 64 32" "128 128 16" "256 256 8"; do
        taskset -c "$core" "$work/blocks" $shape
    done
    exit 0
fi
if [ "${1:-}" = gemm-blocks ]; then
    src="$repo/Sources/CKernels"
    "$cc" $flags "$here/gemm_blocks.c" "$src/gemmconv.c" "$src/conv.c" -o "$work/gemm_blocks"
    for shape in "${gemm_shapes[@]}"; do taskset -c "$core" "$work/gemm_blocks" $shape; done
    exit 0
fi
[ $# -eq 2 ] || { echo "usage: $0 REV_A REV_B | batchnorm | blocks | gemm-blocks" >&2; exit 2; }

# Each revision's kernels with their public names prefixed A_ / B_:
# compile_renamed SIDE SOURCE OBJECT PREFIX NAME… compiles SOURCE with PREFIXNAME renamed SIDE_NAME.
compile_renamed() {
    local side=$1 source=$2 object=$3 prefix=$4 rename="" name
    shift 4
    for name in "$@"; do rename="$rename -D$prefix$name=${side}_$name"; done
    "$cc" $flags -I"$(dirname "$source")" -I"$(dirname "$source")/include" $rename -c "$source" -o "$object"
}
for side in A B; do
    rev=$([ $side = A ] && echo "$1" || echo "$2")
    mkdir -p "$work/$side"
    git -C "$repo" archive "$rev" Sources/CKernels | tar -x -C "$work/$side"
    src="$work/$side/Sources/CKernels"
    compile_renamed $side "$src/gemmconv.c" "$work/$side-gemm.o" ck_gemm_conv_ \
        weights_count pack scratch_count forward backward_input backward_weights
    compile_renamed $side "$src/winograd.c" "$work/$side-winograd.o" ck_winograd_ \
        weights_count scratch_count transform_weights forward backward_weights
    compile_renamed $side "$src/elementwise.c" "$work/$side-elementwise.o" ck_ \
        channel_sums affine_apply bn_backward_sums bn_backward_apply relu_backward copy
done
conv="$work/A/Sources/CKernels/conv.c"   # ck_best_isa and the direct kernels the others call
"$cc" $flags "$here/gemm.c" "$work/A-gemm.o" "$work/B-gemm.o" "$conv" -o "$work/gemm"
"$cc" $flags "$here/winograd.c" "$work/A-winograd.o" "$work/B-winograd.o" "$conv" -o "$work/winograd"
"$cc" $flags "$here/passes.c" "$work/A-elementwise.o" "$work/B-elementwise.o" "$conv" -o "$work/passes"
echo "blocked products (A = $1, B = $2)"
for shape in "${gemm_shapes[@]}"; do taskset -c "$core" "$work/gemm" $shape; done
echo "Winograd F(4x4, 3x3) (A = $1, B = $2)"
for shape in "16 16 32" "32 32 16" "64 64 8" "64 64 32" "128 128 16" "256 256 8"; do
    taskset -c "$core" "$work/winograd" $shape
done
echo "batch-norm passes across images (A = $1, B = $2)"
for shape in "16 32" "32 16" "64 8" "64 32" "128 16" "256 8"; do taskset -c "$core" "$work/passes" $shape; done
