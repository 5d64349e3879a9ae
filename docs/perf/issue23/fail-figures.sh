#!/bin/bash
# Figures of README "When things fail" (issue 23): run from the repository root as root, after a
# release build. SIGSTOP of rank 1 and node2's link taken down on two namespace hosts
# (--collective-timeout 10): seconds from the fault to the job's end; SIGUSR1 to both ranks on
# this host: seconds to exit 75. Output as in fail-figures.txt.
set -u
B=.build/release/batchaug-dist
OPTS="train --model mlp --batch-size 96 --log-every 4 --epochs 30 --train-samples 4800 --checkpoint-every 1 --eval-every 0"
RUN=/tmp/fail-figures-run
rank1() { for p in $(pgrep -f "batchaug-dist train.*$RUN"); do grep -qz "OMPI_COMM_WORLD_RANK=$1" /proc/$p/environ 2>/dev/null && echo $p; done | head -1; }
wait_for_checkpoint() { while [ ! -f $RUN/checkpoint/checkpoint.json ]; do sleep 0.1; done; }

launch/netns-cluster up --hosts 2 --dir /tmp/fail-figures >/dev/null
namespace=$(ip netns list | awk '/-node2/ { print $1; exit }')
for fault in SIGSTOP link-down; do
    rm -rf $RUN
    launch/run --binary $B --hostfile /tmp/fail-figures/hostfile -- $OPTS --collective-timeout 10 --allreduce ring \
        --output $RUN > /tmp/fail-figures-$fault.out 2> /tmp/fail-figures-$fault.err &
    launcher=$!
    wait_for_checkpoint
    pid=$(rank1 1)
    t0=$(date +%s.%N)
    if [ $fault = SIGSTOP ]; then kill -STOP $pid; else ip netns exec $namespace ip link set eth0 down; fi
    wait $launcher; status=$?
    echo "$fault: status $status after $(echo "$(date +%s.%N) - $t0" | bc) s"
    kill -9 $pid 2>/dev/null
    grep -E "made no progress|lost communication|on node node2" /tmp/fail-figures-$fault.err | head -2
    ip netns exec $namespace ip link set eth0 up
done
launch/netns-cluster down --dir /tmp/fail-figures >/dev/null

rm -rf $RUN
launch/run --binary $B -np 2 -- $OPTS --output $RUN > /tmp/fail-figures-usr1.out 2> /tmp/fail-figures-usr1.err &
launcher=$!
wait_for_checkpoint
t0=$(date +%s.%N)
kill -USR1 $(rank1 0) $(rank1 1)
wait $launcher; status=$?
echo "SIGUSR1: status $status after $(echo "$(date +%s.%N) - $t0" | bc) s"
grep -E "stopped by" /tmp/fail-figures-usr1.err | head -1
rm -rf $RUN
