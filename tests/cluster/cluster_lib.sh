# Shared by the cluster tests (tests/cluster/*_test.sh): a tiny project directory in which the
# commands of README.md and configs/README.md run as printed, and process helpers. Source it
# after setting $bin (build/bin), $src (the source tree) and $work (a scratch directory).
source "$src/tests/cli/cli_lib.sh" # check NAME CONDITION...

# make_project DIR [TOTAL_STEPS]: DIR/build -> this build, DIR/model (a tiny random policy),
# DIR/train.jsonl (4 SVG prompts) and DIR/configs/chart2code.yaml: the shipped recipe with the
# sizes of a test (tiny policy on the CPU, 4 prompts x 4 answers, a checkpoint every step).
make_project() {
  local dir=$1 steps=${2:-4}
  mkdir -p "$dir/configs" "$dir/.bin"
  ln -sfn "$(dirname "$bin")" "$dir/build"
  ln -sfn "$src/scripts/torchrun" "$dir/.bin/torchrun"
  "$bin/tiny-model" --out "$dir/model" --seed 3 --tokenizer "$src/tests/fixtures/tokenizer/tiny" >/dev/null
  local i image
  for i in 0 1 2 3; do
    image=$(echo a b c a | cut -d' ' -f$((i + 1)))
    printf '{"id": "p%d", "task": "svg", "image": "%s", "ground_truth": "<svg/>"}\n' "$i" \
      "$src/tests/fixtures/qwen3vl/images/$image.png"
  done >"$dir/train.jsonl"
  cat >"$dir/configs/chart2code.yaml" <<YAML
# configs/chart2code.yaml at the size of a test.
extends: $src/configs/chart2code.yaml
model: {path: $dir/model, dtype: fp32, device: cpu, gradient_checkpointing: false}
data: {train: [$dir/train.jsonl], val: []}
rollout: {group_size: 4, prompts_per_step: 4, batch_size: 4, batch_invariant: true, max_new_tokens: 12, stop: ["e"]}
render: {workers: 1}
reward: {critic: pixel, formula: "render_ok + response_len / max_len", on_failure: {no_code: formula}}
algorithm: {mini_batch_prompts: 4, micro_batch_size: 4}
optim: {lr: 1.0e-3, total_steps: $steps}
checkpoint: {every_steps: 1}
distributed: {timeout_s: 30}
logging: {progress_bar: "off"}
YAML
}

# documented_command FILE START: the command of FILE's code blocks that starts with START, with
# its backslash-continued lines joined.
documented_command() {
  awk -v start="$2" '
    /^```/ { in_code = !in_code; next }
    in_code && (taking || index($0, start) == 1) {
      line = $0; taking = sub(/ *\\$/, " ", line); gsub(/^ +/, "", line); cmd = cmd line
      if (!taking) { print cmd; exit }
    }' "$1"
}

# wait_until SECONDS CONDITION...: polls CONDITION every 50 ms; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# descendants PID: PID and every process below it.
descendants() {
  local pid=$1 child
  echo "$pid"
  for child in $(pgrep -P "$pid"); do descendants "$child"; done
}

# kill_tree PID: SIGKILL to PID and all its descendants at once (a node losing power).
kill_tree() {
  local all
  all=$(descendants "$1")
  kill -9 $all 2>/dev/null
  return 0
}

# compare_runs A B [--atol X]: tests/cluster/compare_runs.py (bitwise by default).
compare_runs() { /usr/bin/python3 "$src/tests/cluster/compare_runs.py" "$@"; }

# The number of lines of a file (0 when it does not exist).
line_count() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# inline_commands FILE: every `...` span of FILE (line breaks inside joined) that starts with
# build/bin/, torchrun or srun, one per line.
inline_commands() {
  /usr/bin/python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"```.*?```", "", text, flags=re.S)
for span in re.findall(r"`([^`]+)`", text):
    span = " ".join(span.split())
    if span.startswith(("build/bin/", "torchrun ", "srun ")):
        print(span)
PY
}

# run_pids PATTERN VAR=VALUE...: the processes whose command line matches PATTERN and whose
# environment holds every VAR=VALUE.
run_pids() {
  local pattern=$1 pid ok kv
  shift
  for pid in $(pgrep -f -- "$pattern"); do
    ok=1
    for kv in "$@"; do
      tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF -- "$kv" || ok=0
    done
    ((ok)) && echo "$pid"
  done
  return 0
}
