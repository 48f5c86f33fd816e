#!/usr/bin/env bash
# ctest: build/bin/ablate on a hand-written rollout log.
# Usage: ablate_cli_test.sh ABLATE_BINARY WORK_DIR
set -uo pipefail
program=$1
work=$2
rm -rf "$work"
mkdir -p "$work/rollouts"
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

line() {  # step prompt k render critic errors-json
  printf '{"step":%s,"id":"%s/%s","prompt_id":"%s","task":"chart","answer":"","response_len":5,"max_len":50,' "$1" "$2" "$3" "$2"
  printf '"render":{"status":"%s","reason":""},"critic":{"status":"%s","errors":%s}}\n' "$4" "$5" "$6"
}
{
  line 1 p1 0 ok scored '[]'
  line 1 p1 1 ok scored '[{"category":"data_error","severity":3},{"category":"text_error","severity":1}]'
  line 1 p1 2 runtime_error not_scored '[]'
  line 1 p2 0 ok scored '[{"category":"data_error","severity":3},{"category":"data_error","severity":3},{"category":"style_error","severity":2},{"category":"structure_error","severity":2}]'
  line 1 p2 1 ok parse_failure '[]'
} >"$work/rollouts/step_1.jsonl"
{
  line 2 p3 0 ok scored '[]'
  line 2 p3 1 ok scored '[]'
} >"$work/rollouts/step_2.jsonl"
cat >"$work/formulas.yaml" <<'YAML'
formulas:
  - name: released
    formula: released_chart_svg
  - formula: paper_no_rsr
  - name: linear
    formula: 1 - S / 20
    on_failure: {parse_failure: -1}
YAML

run --rollouts "$work/rollouts" --formulas "$work/formulas.yaml"
check "ablate exits 0" test "$code" -eq 0
check "one row per formula" test "$(grep -cE '^(released|paper_no_rsr|linear) ' "$work/out")" -eq 3
# released: rewards 2, 1.92, 0, 1.8, 1.5, 2, 2 -> mean 11.22 / 7 = 1.6029; p3 is flat (1 of 3 groups).
check "released mean and zero-variance share" grep -qE '^released +1\.6029 +[0-9.]+ +33\.3%' "$work/out"
# paper_no_rsr swaps the two answers of p2: 2 of 7 advantages flip sign.
check "paper_no_rsr flips 2 of 7 signs" grep -qE '^paper_no_rsr .* 28\.6%$' "$work/out"
check "summary line" grep -q "7 samples in 3 groups" "$work/out"
run --rollouts "$work/rollouts/step_1.jsonl" --formulas "$work/formulas.yaml" --json
check "--json exits 0" test "$code" -eq 0
check "--json has the rows" grep -q '"name": "linear"' "$work/out"
check "--json sign flips" grep -q '"sign_flips"' "$work/out"

# Bad input names the file and line.
printf 'formulas:\n  - formula: released_chart_svg\n  - formula: 1 + nope\n' >"$work/bad.yaml"
run --rollouts "$work/rollouts" --formulas "$work/bad.yaml"
check "bad formula exits 2" test "$code" -eq 2
check "bad formula names file:line" grep -q "bad.yaml:3" "$work/err"
echo '{"step": 1, "id": "x"}' >>"$work/rollouts/step_2.jsonl"
run --rollouts "$work/rollouts" --formulas "$work/formulas.yaml"
check "bad record exits 1" test "$code" -eq 1
check "bad record names file:line and key" grep -q "step_2.jsonl:3: prompt_id: missing" "$work/err"
run --rollouts "$work/nowhere" --formulas "$work/formulas.yaml"
check "missing rollouts exit 1" test "$code" -eq 1
run --formulas "$work/formulas.yaml"
check "--rollouts is required" test "$code" -eq 2

echo "$failures failed"
exit $((failures > 0))
