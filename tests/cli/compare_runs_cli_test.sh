#!/usr/bin/env bash
# ctest: scripts/compare-runs, README.md's command run as printed in a directory holding runs/a
# and runs/b (metrics.jsonl lines like train's, one with a skipped step); its errors.
# Usage: compare_runs_cli_test.sh SOURCE_DIR WORK_DIR
set -uo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work/runs/a" "$work/runs/b"
program="$src/scripts/compare-runs"
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
for step in 1 2 3 4; do
  printf '{"step": %d, "reward_mean": %s, "render_ok_rate": 0.5, "kl": 0.01}\n' "$step" "0.$step" >>"$work/runs/a/metrics.jsonl"
done
printf '{"step": 1, "reward_mean": 0.3, "render_ok_rate": 0.25}\n{"step": 2, "skipped": "critic_unavailable"}\n' \
  >"$work/runs/b/metrics.jsonl"
ln -s "$src/scripts" "$work/scripts"

printed=$(grep -o '^scripts/compare-runs .*' "$src/README.md" | head -n 1)
check "README.md prints the command" test -n "$printed"
cd "$work" || exit 1
eval "$printed" >"$work/out" 2>"$work/err"
check "it exits 0" test $? -eq 0
check "it says what it drew" grep -q "compare-runs: 2 runs, 2 metrics -> compare.png" "$work/out"
check "a PNG" sh -c "head -c 8 compare.png | od -An -c | grep -q 'P   N   G'"

run runs/a runs/missing
check "a directory without metrics.jsonl: exit 1" test "$code" -eq 1
check "naming it" grep -q "runs/missing: no metrics.jsonl" "$work/err"
run runs/a --metrics nope
check "an unknown metric: exit 1" test "$code" -eq 1
check "naming it" grep -q "no run has the metric 'nope'" "$work/err"
echo '{"step": 5, "reward_mean": ' >>runs/a/metrics.jsonl
run runs/a
check "a broken line names file and line" grep -q "runs/a/metrics.jsonl:5: not JSON" "$work/err"

echo "$failures failure(s)"
exit $((failures > 0))
