#!/usr/bin/env bash
# ctest: build/bin/generate on the transformers-made tiny checkpoint of tests/fixtures/qwen3vl.
# Usage: generate_cli_test.sh GENERATE_BINARY SOURCE_DIR WORK_DIR
set -uo pipefail
program=$1
src=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
model="$src/tests/fixtures/qwen3vl/untied"
image="$src/tests/fixtures/qwen3vl/images/a.png"

# Greedy: the tokens transformers' generate produced for this prompt (untied.safetensors,
# "one_image.greedy", written by tests/fixtures/qwen3vl/generate.py).
expected='[1419,700,1882,1494,1629,97,1629,97,1217,542,1494,1629,97,953,1366,576,283,553,97,1293,533,576,643,1434]'
run --model "$model" --image "$image" --prompt "Reproduce this chart as code." --greedy --max-new-tokens 24 --json
check "greedy exits 0" test "$code" -eq 0
check "one JSON line" test "$(wc -l <"$work/out")" -eq 1
check "greedy tokens equal transformers'" grep -qF "\"token_ids\":$expected" "$work/out"
check "finish reason length" grep -qF '"finish_reason":"length"' "$work/out"
check "text field" grep -qF '"text":"' "$work/out"

# Sampling: --n lines, reproducible with a seed.
run --model "$model" --image "$image" --prompt "Reproduce this chart as code." --n 3 --max-new-tokens 8 --seed 5 --json
check "sampling exits 0" test "$code" -eq 0
check "--n 3 gives 3 lines" test "$(wc -l <"$work/out")" -eq 3
first=$out
run --model "$model" --image "$image" --prompt "Reproduce this chart as code." --n 3 --max-new-tokens 8 --seed 5 --json
check "same seed, same samples" test "$out" = "$first"

# Bad input: clear errors, exit codes 2 (usage) and 1 (runtime).
run --model "$work/missing" --prompt hi
check "missing model dir exits 1" test "$code" -eq 1
check "missing model dir is named" grep -q "missing" "$work/err"
run --model "$model" --prompt hi --temperature 0
check "temperature 0 exits 2" test "$code" -eq 2
check "temperature is named" grep -q "temperature" "$work/err"
run --model "$model" --prompt hi --image "$work/nope.png"
check "missing image exits 1" test "$code" -eq 1
check "missing image is named" grep -q "nope.png" "$work/err"
run --model "$model" --prompt hi --max-new-tokens 100000
check "context overflow exits 1" test "$code" -eq 1
check "context overflow explained" grep -q "context" "$work/err"
run --prompt hi
check "--model is required" test "$code" -eq 2

echo "$failures failed"
exit $((failures > 0))
