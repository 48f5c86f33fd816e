#!/usr/bin/env bash
# ctest: transformers' from_pretrained loads what visrl writes: build/bin/tiny-model output and
# save_pretrained of the transformers-made fixtures (float32, sharded, bfloat16), with the
# fixture's logits. Needs the peers virtualenv (scripts/setup --peers); skipped (exit 77) without it.
# Usage: transformers_loads_test.sh TINY_MODEL QWEN3VL_RESAVE OUT_DIR
set -euo pipefail
tiny_model=$1
resave=$2
out=$3
py="${VISRL_CACHE:-$HOME/.cache/visrl}/venv-peers/bin/python"
if [ ! -x "$py" ]; then
  echo "SKIP: no peers virtualenv at $py (./scripts/setup --peers makes it)"
  exit 77
fi
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$(cd "$here/../../fixtures/qwen3vl" && pwd)"
rm -rf "$out"
mkdir -p "$out"
"$tiny_model" --out "$out/tiny" --seed 5
"$tiny_model" --out "$out/tiny-bf16" --seed 6 --layers 3 --hidden 96 --dtype bfloat16
"$resave" "$fixtures/tied" "$out/tied"
"$resave" "$fixtures/untied" "$out/untied" 100000
"$resave" "$fixtures/untied" "$out/untied-bf16" 5000000000 bfloat16
ls "$out/untied"/model-*-of-*.safetensors > /dev/null
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$py" "$here/transformers_loads.py" "$fixtures" \
  "resaved:tied:$out/tied" "resaved:untied:$out/untied" "resaved:untied:$out/untied-bf16" \
  "tiny:$out/tiny" "tiny:$out/tiny-bf16"
