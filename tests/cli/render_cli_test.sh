#!/usr/bin/env bash
# ctest: build/bin/render in single-answer and batch mode, exit codes and outputs.
# Usage: render_cli_test.sh RENDER_BINARY WORK_DIR
set -uo pipefail
render=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
program=$render
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
png_size() { python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(24); print(*struct.unpack('>II', d[16:24]))" "$1"; }

# Without namespaces or seccomp the pool refuses chart code by design: nothing to test here.
if "$render" --kind svg /dev/null -o "$work/probe.png" 2>&1 | grep -q 'rlimits only'; then
  echo "skipped: this kernel allows no render sandbox"
  exit 77
fi

printf 'Here:\n```python\nimport matplotlib.pyplot as plt\nplt.bar(["a", "b"], [1, 2])\n```\n' >"$work/chart.md"
run --kind chart "$work/chart.md" -o "$work/chart.png"
check "a chart renders, exit 0" test "$code" -eq 0
check "the chart PNG is 640x480" test "$(png_size "$work/chart.png")" = "640 480"
check "the status is printed" grep -q ': ok ' "$work/out"

run --kind chart "$work/chart.md" -o "$work/small.png" --set render.chart.dpi=50
check "--set changes the chart size" test "$(png_size "$work/small.png")" = "320 240"

printf 'I cannot draw this.\n' >"$work/prose.md"
run --kind chart "$work/prose.md" -o "$work/prose.png"
check "no code exits 1" test "$code" -eq 1
check "no code says no_code" grep -q 'no_code' "$work/out"
check "no PNG for a failed render" test ! -e "$work/prose.png"

run --kind circle "$work/chart.md" -o "$work/x.png"
check "an unknown kind exits 2" test "$code" -eq 2
run --kind chart "$work/chart.md" -o "$work/x.png" --set render.workers=0
check "a bad render setting exits 2" test "$code" -eq 2
check "a bad render setting names the key" grep -q 'render.workers' "$work/err"
run --kind chart "$work/missing.md" -o "$work/x.png"
check "a missing file exits 1 and names it" bash -c "test $code -eq 1 && grep -q missing.md '$work/err'"

cat >"$work/items.jsonl" <<'JSONL'
{"id": "bar", "kind": "chart", "text": "```python\nimport matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\n```"}
{"id": "drawing", "kind": "svg", "text": "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 2 1'><rect width='1' height='1' fill='red'/></svg>"}
{"id": "grid", "kind": "table", "text": "| a | b |\n|---|--:|\n| 1 | 2 |"}
{"id": "loop", "kind": "chart", "text": "```python\nwhile True: pass\n```"}
{"id": "prose", "kind": "table", "text": "nothing"}
not json at all
{"id": "../escape", "kind": "svg", "text": "<svg/>"}
{"id": "nokind", "text": "x"}
{"id": "bar", "kind": "svg", "text": "<svg/>"}
JSONL
run --batch "$work/items.jsonl" --out-dir "$work/batch" --set render.timeout_s=2 --set render.cpu_limit_s=1
check "a batch exits 0 whatever the statuses" test "$code" -eq 0
check "results.jsonl has a line per item" test "$(wc -l <"$work/batch/results.jsonl")" -eq 9
# The status of the first line with this id.
status_of() { python3 -c "import json,sys; print(next(r['status'] for r in map(json.loads, open(sys.argv[1])) if r['id'] == sys.argv[2]))" "$work/batch/results.jsonl" "$1"; }
check "chart ok" test "$(status_of bar)" = ok
check "svg ok" test "$(status_of drawing)" = ok
check "table ok" test "$(status_of grid)" = ok
check "infinite loop times out" test "$(status_of loop)" = timeout
check "prose is no_code" test "$(status_of prose)" = no_code
check "a bad JSON line is rejected with its line number" bash -c "grep -q 'items.jsonl:6: not valid JSON' '$work/batch/results.jsonl'"
check "an unsafe id is rejected" bash -c "grep -q 'is not a safe file name' '$work/batch/results.jsonl'"
check "a missing kind is named" bash -c "grep -q 'kind' '$work/batch/results.jsonl'"
check "PNGs for the successes only" test "$(ls "$work/batch"/*.png | wc -l)" -eq 3
check "the SVG is 336x336" test "$(png_size "$work/batch/drawing.png")" = "336 336"
check "nothing escaped the output dir" test ! -e "$work/escape.png"
check "a duplicate id is rejected, not written twice" bash -c "grep -q 'duplicate id' '$work/batch/results.jsonl'"
check "the summary counts statuses" grep -q 'timeout *1' "$work/out"
check "the summary gives renders/s" grep -q 'renders/s' "$work/out"

echo "$failures failure(s)"
test "$failures" -eq 0
