#!/usr/bin/env bash
# ctest: peft.PeftModel.from_pretrained on transformers' Qwen3-VL loads the adapters visrl writes
# and gives visrl's logits, and transformers loads visrl's merged export with the same logits,
# for the text-only and the all-linear (vision too, rsLoRA) adapters of tests/fixtures/lora.
# Needs the peers virtualenv (scripts/setup --peers); skipped (exit 77) without it.
# Usage: peft_loads_test.sh LORA_WRITE OUT_DIR
set -euo pipefail
lora_write=$1
out=$2
py="${VISRL_CACHE:-$HOME/.cache/visrl}/venv-peers/bin/python"
if [ ! -x "$py" ] || ! "$py" -c "import peft" 2> /dev/null; then
  echo "SKIP: no peers virtualenv with peft at $py (./scripts/setup --peers makes it)"
  exit 77
fi
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$(cd "$here/../../fixtures" && pwd)"
rm -rf "$out"
for case in text all_linear; do
  "$lora_write" "$fixtures/lora/$case" "$fixtures/qwen3vl/tied.safetensors" one_image "$out/$case"
  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$py" "$here/peft_loads.py" "$fixtures/qwen3vl/tied" "$out/$case/adapter" \
    "$fixtures/qwen3vl/tied.safetensors" one_image "$out/$case/logits.safetensors" visrl.logits \
    --merged "$out/$case/merged"
done
