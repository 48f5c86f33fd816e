#!/usr/bin/env bash
# ctest: build/bin/score with the pixel critic, with given critic output, and bad input.
# Usage: score_cli_test.sh SCORE_BINARY SOURCE_DIR WORK_DIR
set -uo pipefail
program=$1
src=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
a="$src/tests/fixtures/qwen3vl/images/a.png"
b="$src/tests/fixtures/qwen3vl/images/c.png"

# The pixel critic: an identical render has no errors and the full released reward.
run --task chart --ref "$a" --pred "$a" --critic pixel --json
check "identical render exits 0" test "$code" -eq 0
check "identical render is scored" grep -qF '"critic_status": "scored"' "$work/out"
check "identical render gets 2" grep -qE '"reward": 2(\.0)?,?$' "$work/out"
run --task chart --ref "$a" --pred "$b" --critic pixel
check "different render exits 0" test "$code" -eq 0
check "different render lists errors" grep -qE '^  \[[123]\] ' "$work/out"
check "different render gets less than 2" grep -qE '^reward 1(\.[0-9]+)?$' "$work/out"

# Given critic output: prose around fenced JSON, parsed like live output. S = 5.
cat >"$work/critic.txt" <<'JSON'
The render differs in two places.
```json
{"errors": [{"category": "data_error", "severity": 3, "location": "bar 2", "description": "too tall"},
            {"category": "text_error", "severity": 2, "location": "title", "description": "misspelt"}]}
```
JSON
run --task chart --errors "$work/critic.txt"
check "--errors exits 0" test "$code" -eq 0
check "--errors: 1 + (1 - 5/50)" grep -qx 'reward 1.9' "$work/out"
run --task chart --errors "$work/critic.txt" --formula paper_no_rsr --json
# Alone in its batch, the sample is the batch maximum: 1 - 5 / (5 + 1e-6) = 2e-7.
check "paper_no_rsr of one sample: 1 - S / (S + eps)" grep -qE '"reward": 1\.9999[0-9]*e-07' "$work/out"
run --task chart --errors "$work/critic.txt" --render-ok 0 --json
check "--render-ok 0 is a render failure" grep -qF '"outcome": "render_failure"' "$work/out"
check "--render-ok 0 gets 0" grep -qE '"reward": 0(\.0)?,?$' "$work/out"
cat >"$work/table.txt" <<'JSON'
{"errors": [{"type": "numeric_error", "severity": 2, "description": "14.5 instead of 145"}]}
JSON
run --task table --errors "$work/table.txt" --formula released_table
check "released_table: -S" grep -qx 'reward -2' "$work/out"
echo "no json here" >"$work/garbage.txt"
run --task chart --errors "$work/garbage.txt" --json
check "unparseable output is a parse failure" grep -qF '"outcome": "parse_failure"' "$work/out"
check "released: a parse failure gets 1.5" grep -qE '"reward": 1.5,?$' "$work/out"
run --task chart --errors "$work/critic.txt" --formula '1 - S / 10 + code_similarity' --answer "$work/critic.txt"
check "a term without its input exits 1" test "$code" -eq 1
check "the missing ground truth is named" grep -q "ground-truth" "$work/err"

# Bad input: exit 2 for usage and configuration, 1 for runtime failures.
run --task chart --errors "$work/critic.txt" --formula '1 + severity'
check "unknown variable exits 2" test "$code" -eq 2
check "unknown variable is named" grep -q "severity" "$work/err"
run --task graph --errors "$work/critic.txt"
check "bad task exits 2" test "$code" -eq 2
run --task chart --pred "$a" --critic pixel
check "no --ref exits 2" test "$code" -eq 2
run --task chart --ref "$work/missing.png" --pred "$a" --critic pixel
check "missing image exits 1" test "$code" -eq 1
check "missing image is named" grep -q "missing.png" "$work/err"
run --task chart --ref "$a" --pred "$b" --critic openai
check "openai without endpoints exits 2" test "$code" -eq 2
check "the endpoints key is named" grep -q "endpoint" "$work/err"

echo "$failures failed"
exit $((failures > 0))
