#!/usr/bin/env bash
# ctest cluster.TwoNode: two nodes on one machine, as a cluster has them. Each node is a network
# namespace with its own hostname (node0, node1) and /etc/hosts, the two joined by a veth pair
# on a subnet the test picks; configs/README.md's multi-node torchrun command runs on each, as
# printed but for sizes (1 process per node): c10d rendezvous and Gloo over TCP between them.
#   1. A straight 2-node run.
#   2. The same, and every process of node1 killed mid-run (SIGKILL to its whole process tree):
#      node0's rank exits within the collective timeout naming the rank it lost; the time from
#      the kill to the survivor's exit is printed.
#   3. Relaunched on node0 alone with --resume auto (world size 2 -> 1): ends within 1e-5 of 1.
# Needs root (namespaces, veth); exits 77 (skipped) without.
# Usage: two_node_test.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$1
src=$2
work=$3
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: two nodes need network namespaces and a veth pair, which need root (CI runs as root)"
  exit 77
fi
if ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
  echo "FAILED: ip (iproute2) and unshare (util-linux) are needed; scripts/setup installs them"
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
source "$src/tests/cluster/cluster_lib.sh"

# The two nodes: namespaces vn<pid>-0/1, a veth pair, a random 10.x.y.0/24 (inside the
# namespaces only, so it cannot collide with the host's networks).
tag="vn$$"
net="10.$((RANDOM % 200 + 20)).$((RANDOM % 250))"
nodes=("$tag-0" "$tag-1")
cleanup() {
  for ns in "${nodes[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_tree "$pid"; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
}
trap cleanup EXIT
for i in 0 1; do
  ns=${nodes[$i]}
  ip netns add "$ns" || { echo "FAILED: ip netns add $ns (is CAP_SYS_ADMIN missing?)"; exit 1; }
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1 localhost\n%s.1 node0\n%s.2 node1\n' "$net" "$net" >"/etc/netns/$ns/hosts"
done
ip link add "${tag}a" type veth peer name "${tag}b" || { echo "FAILED: cannot create a veth pair"; exit 1; }
ip link set "${tag}a" netns "${nodes[0]}"
ip link set "${tag}b" netns "${nodes[1]}"
ip -n "${nodes[0]}" addr add "$net.1/24" dev "${tag}a"
ip -n "${nodes[1]}" addr add "$net.2/24" dev "${tag}b"
for i in 0 1; do
  ip -n "${nodes[$i]}" link set lo up
done
ip -n "${nodes[0]}" link set "${tag}a" up
ip -n "${nodes[1]}" link set "${tag}b" up

make_project "$work/p" 6
cd "$work/p" || exit 1
export PATH="$work/p/.bin:$PATH"

printed=$(documented_command "$src/configs/README.md" "torchrun --nnodes 2")
check "configs/README.md has the multi-node torchrun command" test -n "$printed"
command=${printed/--nproc-per-node 8/--nproc-per-node 1}

# on_node I RUN_DIR LOG: the command on node I (its namespace, hostname node<I>), in the
# background; its exit status goes to LOG.rc.
on_node() {
  local i=$1 run=$2 log=$3 cmd=${4:-$command}
  cmd=${cmd/--run-dir \/shared\/runs\/chart2code/--run-dir $run}
  rm -f "$log.rc"
  (
    ip netns exec "${nodes[$i]}" unshare --uts bash -c "hostname node$i && cd '$work/p' && $cmd" \
      >"$log" 2>&1 </dev/null
    echo $? >"$log.rc"
  ) &
}
# The exit status of a node's command, once it has ended.
ended() { [ -f "$1.rc" ]; }

# 1. The straight run.
echo "running on node0 and node1: $command"
on_node 0 runs/straight "$work/straight0.log"
on_node 1 runs/straight "$work/straight1.log"
wait_until 400 ended "$work/straight0.log"
wait_until 60 ended "$work/straight1.log"
check "node0's torchrun exits 0" test "$(cat "$work/straight0.log.rc" 2>/dev/null)" = 0
check "node1's torchrun exits 0" test "$(cat "$work/straight1.log.rc" 2>/dev/null)" = 0
check "a world of 2 ranks" grep -q "rank ./2" "$work/straight0.log"
check "6 steps" test "$(line_count runs/straight/metrics.jsonl)" -eq 6
if [ "$(cat "$work/straight0.log.rc" 2>/dev/null)" != 0 ]; then
  tail -n 30 "$work/straight0.log" "$work/straight1.log"
  exit 1 # the rest compares with this run
fi

# 2. Node1 is lost mid-run: once step 2's checkpoint is complete, at a random moment after it.
on_node 0 runs/lost "$work/lost0.log"
on_node 1 runs/lost "$work/lost1.log"
wait_until 400 grep -sqx step_2 runs/lost/checkpoints/latest
check "the run reaches step 2" grep -sqx step_2 runs/lost/checkpoints/latest
sleep "0.$((RANDOM % 10))"
killed_at=$(date +%s.%N)
for pid in $(ip netns pids "${nodes[1]}"); do kill_tree "$pid"; done
wait_until 120 ended "$work/lost0.log"
survivor_s=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
# The survivor's rank is in its error ("rank 0/2: all_reduce failed ..."); node1 ran the other.
survivor_rank=$(grep -o "rank ./2: [a-z_]* failed" "$work/lost0.log" | head -n 1 | cut -c6)
lost_rank=$((1 - ${survivor_rank:-1}))
echo "node1 (rank $lost_rank) killed after $(line_count runs/lost/metrics.jsonl) steps; node0's torchrun exited ${survivor_s} s later"
check "node0 exits once node1 is gone" ended "$work/lost0.log"
check "with a failure status" test "$(cat "$work/lost0.log.rc" 2>/dev/null)" != 0
check "within the collective timeout (30 s)" awk -v s="$survivor_s" 'BEGIN { exit !(s < 30) }'
check "naming the rank it lost" grep -q "lost rank(s) $lost_rank (at $net.2)" "$work/lost0.log"
grep -m 1 "lost rank" "$work/lost0.log"

# 3. Relaunched on node0 alone: one node of one process, the run continues from its newest checkpoint.
alone=${command/--nnodes 2/--nnodes 1}
on_node 0 runs/lost "$work/alone.log" "$alone"
wait_until 400 ended "$work/alone.log"
check "the relaunch on one node exits 0" test "$(cat "$work/alone.log.rc" 2>/dev/null)" = 0
check "it resumed" grep -q "saved by 2 rank(s)) on 1 rank(s)" "$work/alone.log"
check "and ends within 1e-5 of the straight run" compare_runs runs/straight runs/lost --atol 1e-5
[ "$(cat "$work/alone.log.rc" 2>/dev/null)" = 0 ] || tail -n 30 "$work/alone.log"

echo "$failures failure(s)"
exit $((failures > 0))
