#!/usr/bin/env bash
# bench/scaling_grid.sh OUT [LINK…] — the scaling table of docs/SCALING.md again: `bench scaling` on 2
# namespace hosts (launch/netns-cluster, one rank each on its own core), resnet20 and wrn16-4,
# M = 1 and 4, the defaults (--bucket-size 256K, --overlap auto) against one bucket (--bucket-size 0),
# for each LINK (default: unlimited 1gbit 100mbit). One JSON file per run in OUT; a run whose file
# exists is skipped, so an interrupted grid continues where it stopped. BATCHAUG_BIN names the binary
# (default: the release build). Two untimed steps: overlap auto decides after the second.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: bench/scaling_grid.sh OUT [LINK…]}"; shift
links=("$@"); [ ${#links[@]} -gt 0 ] || links=(unlimited 1gbit 100mbit)
binary="${BATCHAUG_BIN:-$repo/.build/release/batchaug-dist}"
cluster=/tmp/bd-measure
mkdir -p "$out"
for link in "${links[@]}"; do
    rate=(); [ "$link" = unlimited ] || rate=(--rate "$link")
    "$repo/launch/netns-cluster" up --hosts 2 "${rate[@]}" --dir "$cluster" >&2
    for model in resnet20 wrn16-4; do
        steps=10; [ "$model" = wrn16-4 ] && steps=4
        for copies in 1 4; do
            for setting in default b0; do
                file="$out/grid-$link-$model-m$copies-$setting.jsonl"
                [ -s "$file" ] && continue
                extra=(); [ "$setting" = b0 ] && extra=(--bucket-size 0)
                "$repo/launch/run" --binary "$binary" --hostfile "$cluster/hostfile" -- bench scaling --model "$model" \
                    --batch-size 64 --copies "$copies" --steps "$steps" --warmup 2 "${extra[@]}" --json > "$file.part"
                mv "$file.part" "$file"
            done
        done
    done
done
"$repo/launch/netns-cluster" down --dir "$cluster" >&2
