#!/usr/bin/env bash
# ctest cluster.Slurm: configs/README.md's batch script, as printed but for sizes (1 node, 2
# tasks, no GPUs; the tiny project of cluster_lib.sh), submitted to a one-host Slurm cluster
# started in a scratch directory (slurm_cluster.sh: Debian's slurm-wlm and munge from
# scripts/setup). Two tasks under one srun form the process group from Slurm's variables.
#   1. A straight job.
#   2. The same job preempted mid-run (scontrol requeue): every rank finishes its step and saves a
#      checkpoint; the requeued job resumes and ends bitwise equal to 1; sacct lists both attempts.
# Needs root (the daemons); exits 77 (skipped) without.
# Usage: slurm_test.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$1
src=$2
work=$3
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: the one-host Slurm cluster runs slurmctld, slurmd and munged as root (CI runs as root)"
  exit 77
fi
for tool in slurmctld slurmd munged sbatch srun scontrol squeue sacct; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool is missing; scripts/setup installs slurm-wlm and munge"; exit 1; }
done
rm -rf "$work"
mkdir -p "$work"
source "$src/tests/cluster/cluster_lib.sh"
cluster="$work/slurm"
trap '"$src/tests/cluster/slurm_cluster.sh" stop "$cluster"' EXIT
SLURM_CRED_EXPIRE=5 "$src/tests/cluster/slurm_cluster.sh" start "$cluster" || { echo "FAILED: the cluster did not start"; exit 1; }
export SLURM_CONF="$cluster/slurm.conf"

make_project "$work/p" 8
cd "$work/p" || exit 1

# The batch script of configs/README.md: its #SBATCH line and commands, sized for one node.
printed=$(awk '/^```/ { if (in_code && found) exit; in_code = !in_code; next }
  in_code && /^#SBATCH/ { found = 1 } in_code && found { print }' "$src/configs/README.md")
check "configs/README.md has the batch script" grep -q '^srun build/bin/train' <<<"$printed"
check "with --requeue and the USR1 signal" grep -q -- '--signal=USR1@120 --requeue' <<<"$printed"
# job_script RUN_DIR: the script for a run directory of this project.
job_script() {
  printf '#!/bin/bash\n'
  sed -e 's/--nodes 4 --ntasks-per-node 8 --gpus-per-node 8/--nodes 1 --ntasks-per-node 2/' \
    -e "s|/shared/runs/chart2code|$1|" <<<"$printed"
}
job_script runs/straight >"$work/straight.sh"
job_script runs/requeued >"$work/requeued.sh"
echo "--- the job script"
cat "$work/requeued.sh"
echo "---"
state() { squeue -h -j "$1" -o %T 2>/dev/null; }
gone() { [ -z "$(state "$1")" ]; }
pending() { [ "$(state "$1")" = PENDING ]; }

# 1. Straight.
job=$(sbatch --parsable -o "$work/straight.out" "$work/straight.sh")
check "sbatch accepts the script" test -n "$job"
wait_until 400 gone "$job"
check "the straight job trained 8 steps" test "$(line_count runs/straight/metrics.jsonl)" -eq 8
check "two tasks formed a world of 2 from Slurm's variables" grep -q "rank 0/2" "$work/straight.out"

# 2. Preempted after step 2's checkpoint, at a random moment of the steps after it.
job=$(sbatch --parsable -o "$work/requeued.out" "$work/requeued.sh")
wait_until 400 grep -sqx step_2 runs/requeued/checkpoints/latest
check "the job reaches step 2" grep -sqx step_2 runs/requeued/checkpoints/latest
sleep "0.$((RANDOM % 10))"
scontrol requeue "$job"
check "scontrol requeue" test $? -eq 0
requeued_at=$SECONDS
# A requeued job waits out its credential's lifetime; let it start once it is pending again.
wait_until 120 pending "$job"
check "the job is pending again" pending "$job"
scontrol update JobId="$job" StartTime=now
wait_until 400 gone "$job"
echo "the requeued job ended $((SECONDS - requeued_at)) s after the requeue"
check "every rank finished its step with a checkpoint" grep -q "stopped after step .* of 8; continue with --resume auto" \
  "$work/requeued.out"
check "the requeued attempt resumed" grep -q "resumed from .*runs/requeued/checkpoints/step_" "$work/requeued.out"
check "the requeued job trained 8 steps" test "$(line_count runs/requeued/metrics.jsonl)" -eq 8
check "and ends bitwise equal to the straight job" compare_runs runs/straight runs/requeued
sacct -c -j "$job" --duplicates -o JobID,State,Start,End | tee "$work/sacct.txt"
check "sacct lists both attempts" test "$(grep -c "^$job " "$work/sacct.txt")" -eq 2
check "scontrol counts one restart" sh -c "scontrol show job $job | grep -q 'Restarts=1'"

echo "$failures failure(s)"
exit $((failures > 0))
