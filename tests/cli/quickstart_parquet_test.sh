#!/usr/bin/env bash
# ctest: the quickstart from Parquet files written by Hugging Face datasets
# (examples/quickstart/chart2code-parquet.yaml) and README.md's `datagen --format parquet`
# command, each run as printed, in a directory that holds this build and the examples, on
# quickstart-shaped data of 8 + 4 charts; train gets --set overrides for 2 short steps.
# Usage: quickstart_parquet_test.sh SOURCE_DIR BUILD_DIR WORK_DIR (the tools virtualenv's Python,
# scripts/setup, or $VISRL_TOOLS_PYTHON)
set -uo pipefail
src=$1
build=$2
work=$3
tools_python=${VISRL_TOOLS_PYTHON:-${VISRL_CACHE:-$HOME/.cache/visrl}/venv/bin/python}
rm -rf "$work"
mkdir -p "$work"
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
cd "$work" || exit 1
ln -s "$build" build
ln -s "$src/examples" examples
ln -s "$src/configs" configs

if "$build/bin/render" --kind svg /dev/null -o "$work/probe.png" 2>&1 | grep -q 'rlimits only'; then
  echo "skipped: this kernel allows no render sandbox, so no chart renders"
  exit 0
fi

# README.md's command, as printed: Parquet files in verl's layout.
printed=$(grep -o '^build/bin/datagen .*--format parquet' "$src/README.md" | head -n 1)
check "README.md prints the datagen --format parquet command" test -n "$printed"
program=bash
run -c "$printed"
check "it runs" test "$code" -eq 0
check "train.parquet in verl's layout" "$tools_python" -c "
import pyarrow.parquet as pq
t = pq.read_table('data/verl/chart/train.parquet')
assert set(t.column_names) == {'data_source', 'prompt', 'images', 'ability', 'reward_model', 'extra_info'}, t.column_names
assert t.num_rows == 256, t.num_rows"

# The config's commands: convert quickstart-shaped data with datasets, then train from it.
mkdir -p runs/quickstart-assets/data
"$build/bin/datagen" --out runs/quickstart-assets/data --tasks chart --train 8 --eval 4 --seed 5 >/dev/null
convert=$(grep -o 'examples/quickstart/to_hf_parquet.py .*' "$src/examples/quickstart/chart2code-parquet.yaml")
check "the config prints the conversion" test -n "$convert"
program=$tools_python
run $convert
check "the conversion runs" test "$code" -eq 0
check "... through datasets" grep -q "train.parquet: 8 rows" "$work/out"
program=build/bin/train
small=(--set rollout.group_size=2 --set rollout.prompts_per_step=2 --set algorithm.mini_batch_prompts=2
  --set rollout.max_new_tokens=64)
run --config examples/quickstart/chart2code-parquet.yaml --set optim.total_steps=2 "${small[@]}" --run-dir "$work/run"
check "train runs from the Parquet files" test "$code" -eq 0
check "... on 8 items" grep -q "8 training items" "$work/out"
check "... with the images extracted" test "$(ls "$work/run/references/chart" | wc -l)" -eq 12
check "... and validated on 4" python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
assert s['before']['items'] == 4, s['before']" "$work/run/summary.json"

# Exact resume from Parquet data: 3 steps straight, and 3 steps stopped (SIGUSR1) once the first
# checkpoint exists, then --resume auto: the same final weights, bit for bit.
three=(--config examples/quickstart/chart2code-parquet.yaml --set optim.total_steps=3 --set checkpoint.every_steps=1
  "${small[@]}")
build/bin/train "${three[@]}" --run-dir "$work/straight" >"$work/straight.log" 2>&1
check "3 steps straight" test $? -eq 0
build/bin/train "${three[@]}" --run-dir "$work/stopped" >"$work/stopped.log" 2>&1 &
pid=$!
while [ ! -f "$work/stopped/checkpoints/latest" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
kill -USR1 "$pid" 2>/dev/null
wait "$pid"
build/bin/train "${three[@]}" --run-dir "$work/stopped" --resume auto >"$work/resumed.log" 2>&1
check "the resume runs" test $? -eq 0
check "... from a checkpoint" grep -q "resumed from" "$work/resumed.log"
check "the same weights as the straight run" cmp -s "$work/straight/final/model.safetensors" \
  "$work/stopped/final/model.safetensors"

[ "$failures" -eq 0 ] || exit 1
