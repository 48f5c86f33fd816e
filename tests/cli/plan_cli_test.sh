#!/usr/bin/env bash
# ctest: build/bin/plan and train's memory check. The README's plan of the paper's 8B recipe
# runs verbatim (from the source directory, with this build's plan); train refuses a run that
# cannot fit with exit 2 before reading a weight, naming the shortfall; --ignore-memory-plan
# goes past the check.
# Usage: plan_cli_test.sh PLAN_BINARY TRAIN_BINARY SOURCE_DIR WORK_DIR
set -uo pipefail
plan=$1
train=$2
src=$3
work=$4
rm -rf "$work"
mkdir -p "$work"
program=$plan
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# README.md: build/bin/plan --config configs/chart2code.yaml --set model.path=configs/shapes/qwen3-vl-8b \
#   --set reward.visual_erm.model_path=configs/shapes/qwen3-vl-8b --gpus 8x80GB
cd "$src" || exit 1
run --config configs/chart2code.yaml --set model.path=configs/shapes/qwen3-vl-8b \
  --set reward.visual_erm.model_path=configs/shapes/qwen3-vl-8b --gpus 8x80GB
check "plan of the 8B recipe exits 0" test "$code" -eq 0
check "8B policy weights: 16.33 GiB of bf16" grep -q 'policy weights .* 16.33 GiB  8.77B params x 2 B (bf16)' "$work/out"
check "the in-process critic is counted" grep -q 'critic weights (in-process Visual-ERM)' "$work/out"
check "ZeRO-1 shards the AdamW state over 8" grep -q '(1/8, ZeRO-1)' "$work/out"
check "the 8B recipe does not fit 8 x 80 GB" grep -q 'DOES NOT FIT: needs .* but --gpus 8x80GB gives 74.51 GiB: short by' "$work/out"
check "it lists what makes it fit" grep -q 'together: .*reward.critic=openai' "$work/out"
cp "$work/out" "$work/plan-8b.txt"

# The same recipe with the changes the plan proposes fits.
fixes=$(grep -o 'together: .*: peak' "$work/out" | sed 's/^together: //; s/: peak$//; s/ ([^)]*)//g')
sets=()
IFS='+' read -ra parts <<<"$fixes"
for part in "${parts[@]}"; do sets+=(--set "$(echo "$part" | xargs)"); done
sets+=(--set "reward.openai.endpoints=[http://erm-0:8000/v1]")  # a critic over HTTP needs its servers
run --config configs/chart2code.yaml --set model.path=configs/shapes/qwen3-vl-8b "${sets[@]}" --gpus 8x80GB
check "the proposed changes fit (${sets[*]})" grep -q '^  fits: ' "$work/out"

# README.md: the 8B recipe with LoRA and 16 answers decoded at once fits 8 x 80 GB.
run --config configs/chart2code.yaml --set model.path=configs/shapes/qwen3-vl-8b --set reward.visual_erm.model_path=configs/shapes/qwen3-vl-8b --set model.lora.rank=16 --set rollout.batch_size=16 --gpus 8x80GB
check "8B with LoRA exits 0" test "$code" -eq 0
check "8B with LoRA: the frozen base once, no reference copy" grep -q 'policy weights (the frozen base) .* 16.33 GiB' "$work/out"
check "8B with LoRA: no reference model" sh -c "! grep -q 'reference model' '$work/out'"
check "8B with LoRA: the adapters' fp32 state" grep -q 'LoRA adapters .* 43.6M params (r 16 x (in + out) over 252 layers)' "$work/out"
check "8B with LoRA fits 8 x 80 GB" grep -q '^  fits: 55.70 GiB of 74.51 GiB' "$work/out"

# README.md's "More commands": the 2B policy alone on one 80 GB GPU.
run --config configs/chart2code.yaml --set model.path=configs/shapes/qwen3-vl-2b --set reward.critic=pixel --gpus 1x80GB
check "plan of the 2B policy exits 0" test "$code" -eq 0
check "2B policy weights: 2.13B params" grep -q 'policy weights .* 2.13B params x 2 B (bf16)' "$work/out"

# Usage errors: exit 2 naming the flag.
run --config configs/chart2code.yaml --set model.path=configs/shapes/qwen3-vl-2b --gpus 80GB
check "--gpus without a count exits 2" test "$code" -eq 2
check "--gpus error names the flag" grep -q -- "--gpus: '80GB' is not COUNTxSIZE" "$work/err"
run --config configs/chart2code.yaml --set model.path=/nonexistent --gpus 1x80GB
check "a missing model directory exits 2" test "$code" -eq 2
check "and names model.path" grep -q 'model.path: /nonexistent: no such checkpoint directory' "$work/err"

# train: a run that cannot fit (an 8B policy with a million-token answer) is refused before any
# weight is read (configs/shapes holds config.json files only), with the plan on stderr.
printf '{"id": "x", "task": "chart", "image": "%s"}\n' "$src/tests/fixtures/pixel_critic/line_chart.png" >"$work/train.jsonl"
cat >"$work/huge.yaml" <<YAML
model:
  path: $src/configs/shapes/qwen3-vl-8b
  device: cpu
data:
  train: [$work/train.jsonl]
rollout:
  max_new_tokens: 1000000
reward:
  critic: pixel
YAML
program=$train
run --config "$work/huge.yaml" --run-dir "$work/huge-run"
check "train refuses with exit 2" test "$code" -eq 2
check "naming the shortfall" grep -q 'this run does not fit its device: it needs .* per rank but has .*; short by' "$work/err"
check "with the plan" grep -q 'policy KV cache .* 64 answers x 1000000 new tokens' "$work/err"
check "and the way past it" grep -q -- '--ignore-memory-plan' "$work/err"
check "the plan is kept in the run directory" grep -q 'DOES NOT FIT' "$work/huge-run/memory_plan.txt"
run --config "$work/huge.yaml" --run-dir "$work/huge-run2" --ignore-memory-plan
check "--ignore-memory-plan goes past the check" grep -vq 'does not fit its device' "$work/err"
check "to the missing model files" grep -q 'qwen3-vl-8b/tokenizer.json' "$work/err"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all plan checks passed"
