#!/usr/bin/env bash
# ctest: the Python safetensors package reads back, byte for byte, what visrl writes.
# Usage: python_interop_check.sh SAFETENSORS_WRITER OUT_DIR
set -euo pipefail
writer=$1
out=$2
py="${VISRL_CACHE:-$HOME/.cache/visrl}/venv/bin/python"
if [ ! -x "$py" ]; then
  echo "SKIP: no tools virtualenv at $py (./scripts/setup makes it)"
  exit 77
fi
generator="$(cd "$(dirname "$0")/../fixtures/safetensors" && pwd)/generate.py"
rm -rf "$out"
mkdir -p "$out"
"$writer" "$out"
"$py" "$generator" check "$out/all_dtypes.safetensors"
"$py" "$generator" check "$out/sharded"
shards=$(ls "$out/sharded"/model-*-of-*.safetensors | wc -l)
[ "$shards" -eq 3 ] || { echo "expected 3 shards, found $shards"; exit 1; }
