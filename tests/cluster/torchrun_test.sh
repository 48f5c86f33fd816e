#!/usr/bin/env bash
# ctest cluster.Torchrun: the real torchrun (PyTorch's torch.distributed.run, scripts/torchrun)
# starting build/bin/train, and the launch, resume and export commands of README.md and
# configs/README.md run as printed, but for sizes (a tiny project: tests/cluster/cluster_lib.sh).
#   1. configs/README.md's one-node torchrun command on 2 processes: the straight run.
#   2. Elastic restart: the same command; SIGKILL of one worker mid-step makes torchrun restart
#      the group (--max-restarts 2), which resumes (--resume auto) and ends bitwise equal to 1.
#   3. README.md's train / --resume auto / --resume PATH / export commands on one process.
# Usage: torchrun_test.sh BIN_DIR SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$1
src=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
source "$src/tests/cluster/cluster_lib.sh"
if ! "$src/scripts/torchrun" --help >/dev/null 2>&1; then
  echo "FAILED: scripts/torchrun does not run (scripts/setup unpacks the torch wheel it needs)"
  exit 1
fi
make_project "$work/p" 6
cd "$work/p" || exit 1
export PATH="$work/p/.bin:$PATH" # `torchrun` is scripts/torchrun

# 1. The one-node command as printed, on 2 processes.
printed=$(documented_command "$src/configs/README.md" "torchrun --standalone")
check "configs/README.md has the one-node torchrun command" test -n "$printed"
check "it starts the ELF program itself (--no-python)" grep -q -- "--no-python build/bin/train" <<<"$printed"
straight=${printed/--nproc-per-node 8/--nproc-per-node 2}
echo "running: $straight"
eval "$straight" >"$work/straight.log" 2>&1
code=$?
check "torchrun exits 0" test "$code" -eq 0
check "two ranks trained" grep -q "rank 0/2" "$work/straight.log"
check "rank 0 joins torchrun's store instead of binding a second one" \
  sh -c "! grep -q 'failed to bind' '$work/straight.log'"
check "6 steps of metrics" test "$(line_count runs/chart2code/metrics.jsonl)" -eq 6
check "the final policy" test -f runs/chart2code/final/model.safetensors
if ((code != 0)); then
  tail -30 "$work/straight.log"
  exit 1 # the rest compares with this run
fi

# 2. Elastic restart: rank 1 is killed once step 2's checkpoint is complete, at a random moment
#    of the steps after it; torchrun restarts both ranks, which resume.
elastic=${straight/--run-dir runs\/chart2code/--run-dir runs/elastic}
(eval "$elastic" >"$work/elastic.log" 2>&1; echo $? >"$work/elastic.rc") &
wait_until 300 grep -sqx step_2 runs/elastic/checkpoints/latest
check "the elastic run reaches step 2" grep -sqx step_2 runs/elastic/checkpoints/latest
sleep "0.0$((RANDOM % 10))"
victim=$(run_pids "runs/elastic" RANK=1 TORCHELASTIC_RESTART_COUNT=0)
check "rank 1 of the first worker group found" test -n "$victim"
steps_before=$(line_count runs/elastic/metrics.jsonl)
kill -9 $victim
echo "killed rank 1 (pid $victim) after $steps_before steps"
wait_until 300 test -f "$work/elastic.rc"
check "torchrun exits 0 after the restart" test "$(cat "$work/elastic.rc" 2>/dev/null)" = 0
check "torchrun saw rank 1 killed" grep -q "failed (exitcode: -9) local_rank: 1" "$work/elastic.log"
check "and started the worker group again" test "$(grep -c "run directory runs/elastic" "$work/elastic.log")" -eq 2
check "the restarted group resumed from a checkpoint" grep -q "resumed from .*checkpoints/step_" "$work/elastic.log"
check "and ran as rank 0/2 again" test "$(grep -c 'rank 0/2' "$work/elastic.log")" -ge 2
check "the restarted run ends bitwise equal to the straight run" compare_runs runs/chart2code runs/elastic
[ "$(cat "$work/elastic.rc" 2>/dev/null)" = 0 ] || tail -40 "$work/elastic.log"

# 3. README.md's commands on one process: train with --resume auto (the first launch starts
#    from step 0; SIGTERM stops it after a step with a checkpoint; the same command continues),
#    a branch from a given checkpoint, and export.
mapfile -t commands < <(inline_commands "$src/README.md")
train_cmd=""
export_cmd=""
for c in "${commands[@]}"; do
  [[ $c == "build/bin/train --config F --run-dir D --resume auto" ]] && train_cmd=$c
  [[ $c == build/bin/export\ --checkpoint* ]] && export_cmd=$c
done
check "README.md prints the resume command" test -n "$train_cmd"
check "README.md prints the export command" test -n "$export_cmd"
resume_cmd=${train_cmd/--config F/--config configs/chart2code.yaml}
resume_cmd=${resume_cmd/--run-dir D/--run-dir runs/x}
echo "running: $resume_cmd"
(eval "$resume_cmd" >"$work/x1.log" 2>&1; echo $? >"$work/x1.rc") &
wait_until 300 grep -sqx step_2 runs/x/checkpoints/latest
pid=$(run_pids "runs/x")
kill -TERM $pid
wait_until 120 test -f "$work/x1.rc"
check "SIGTERM stops the run with exit 0" test "$(cat "$work/x1.rc" 2>/dev/null)" = 0
check "after a step, with a checkpoint" grep -q "stopped after step .* of 6; continue with --resume auto" "$work/x1.log"
eval "$resume_cmd" >"$work/x2.log" 2>&1
check "the same command continues (exit 0)" test $? -eq 0
check "from the newest checkpoint" grep -q "resumed from .*runs/x/checkpoints/step_" "$work/x2.log"
check "1 rank ends within 1e-5 of the 2-rank straight run" compare_runs runs/chart2code runs/x --atol 1e-5

# README.md: `--resume runs/x/checkpoints/step_40` branches from a given checkpoint (step 4 here).
branch_flag=$(grep -o -- '--resume runs/x/checkpoints/step_40' "$src/README.md" | head -n 1)
check "README.md prints the branch flag" test -n "$branch_flag"
build/bin/train --config configs/chart2code.yaml --run-dir runs/branch ${branch_flag/step_40/step_4} \
  >"$work/branch.log" 2>&1
check "a branch from step_4 exits 0" test $? -eq 0
check "the branch ends with the weights of the run it branched from, bitwise" compare_runs runs/x runs/branch --weights-only

echo "running: $export_cmd"
eval "$export_cmd" >"$work/export.log" 2>&1
check "README.md's export exits 0" test $? -eq 0
check "it writes a Hugging Face directory" test -f models/x/config.json -a -f models/x/model.safetensors
# configs/README.md's export (of the torchrun run).
configs_export=$(inline_commands "$src/configs/README.md" | grep '^build/bin/export' | head -n 1)
check "configs/README.md prints an export command" test -n "$configs_export"
eval "$configs_export" >"$work/export2.log" 2>&1
check "configs/README.md's export exits 0" test $? -eq 0
check "it writes models/c2c" test -f models/c2c/model.safetensors

echo "$failures failure(s)"
exit $((failures > 0))
