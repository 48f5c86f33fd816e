#!/usr/bin/env bash
# ctest: build/bin/train's command line, exit codes and error messages.
# Usage: train_cli_test.sh TRAIN_BINARY SOURCE_DIR WORK_DIR
set -uo pipefail
train=$1
src=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
program=$train
source "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"

# The shipped config resolves and prints.
run --config "$src/configs/chart2code.yaml" --print-config
check "print-config exits 0" test "$code" -eq 0
check "print-config shows the paper's lr" grep -q '^  lr: 1e-06$' "$work/out"
check "print-config shows the k3 KL" grep -q '^  kl_estimator: k3$' "$work/out"
cp "$work/out" "$work/resolved.yaml"

# The table and SVG recipes extend it with their released reward settings.
run --config "$src/configs/table2md.yaml" --print-config
check "table2md resolves" test "$code" -eq 0
check "table2md: released table reward" grep -q '^  formula: released_table$' "$work/out"
check "table2md: 768-pixel critic images" grep -q '^  max_image_side: 768$' "$work/out"
check "table2md: table data" grep -q 'data/table2md/train.jsonl' "$work/out"
check "table2md: the paper's G and lr" grep -q '^  group_size: 8$' "$work/out"
run --config "$src/configs/svg2code.yaml" --print-config
check "svg2code resolves" test "$code" -eq 0
check "svg2code: chart/SVG reward" grep -q '^  formula: released_chart_svg$' "$work/out"
check "svg2code: svg data" grep -q 'data/svg2code/train.jsonl' "$work/out"
check "svg2code: 256 prompts per step" grep -q '^  prompts_per_step: 256$' "$work/out"
# The quickstart and the ablation examples resolve, and extend what they say they extend.
run --config "$src/examples/quickstart/chart2code.yaml" --print-config
check "quickstart resolves" test "$code" -eq 0
check "quickstart: tiny policy" grep -q '^  path: examples/quickstart/warm_start$' "$work/out"
check "quickstart: pixel critic" grep -q '^  critic: pixel$' "$work/out"
check "quickstart: held-out charts" grep -q 'runs/quickstart-assets/data/chart/eval.jsonl' "$work/out"
check "quickstart: KL from chart2code.yaml" grep -q '^  kl_coef: 0.01$' "$work/out"
run --config "$src/examples/quickstart/chart2code-lora.yaml" --print-config
check "quickstart LoRA resolves" test "$code" -eq 0
check "quickstart LoRA: rank 16" grep -q '^    rank: 16$' "$work/out"
check "quickstart LoRA: the quickstart's policy" grep -q '^  path: examples/quickstart/warm_start$' "$work/out"
run --config "$src/examples/quickstart/sft.yaml" --print-config
check "quickstart SFT config resolves" test "$code" -eq 0
run --config "$src/examples/ablation/chart2code-paper-formula.yaml" --print-config
check "paper-formula ablation resolves" test "$code" -eq 0
check "paper-formula ablation: the formula" grep -q '^  formula: paper$' "$work/out"
check "paper-formula ablation: the rest is chart2code" grep -q '^  prompts_per_step: 256$' "$work/out"
run --config "$src/examples/ablation/quickstart-data-errors.yaml" --print-config
check "quickstart ablation resolves" test "$code" -eq 0
check "quickstart ablation: its formula" grep -q 'S_data_error + S_structure_error' "$work/out"
run --config "$src/examples/ablation/quickstart-critic-only.yaml" --print-config
check "critic-only ablation resolves" test "$code" -eq 0
check "critic-only ablation: no extra term" grep -q '^  extra_terms: {}$' "$work/out"
check "critic-only ablation: the quickstart's policy" grep -q '^  path: examples/quickstart/warm_start$' "$work/out"

# The printed config is itself a valid config that resolves to the same thing.
run --config "$work/resolved.yaml" --print-config
check "printed config loads back unchanged" cmp -s "$work/out" "$work/resolved.yaml"

# A misspelled key: exit 2, naming file, line and key path.
sed 's/^  kl_coef: 0.01$/  kl_cof: 0.01/' "$src/configs/chart2code.yaml" >"$work/typo.yaml"
line=$(grep -n 'kl_cof' "$work/typo.yaml" | cut -d: -f1)
run --config "$work/typo.yaml" --print-config
check "misspelled key exits 2" test "$code" -eq 2
check "misspelled key names file:line: key path" grep -qF "$work/typo.yaml:$line: algorithm.kl_cof: unknown key; did you mean \"kl_coef\"?" "$work/err"

# A bad --set value: exit 2, naming the key.
run --config "$src/configs/chart2code.yaml" --set algorithm.clip_ratio_high=abc --print-config
check "bad --set exits 2" test "$code" -eq 2
check "bad --set names the key" grep -qF 'algorithm.clip_ratio_high: expected a number > 0, got "abc"' "$work/err"

# --set takes effect and repeats.
run --config "$src/configs/chart2code.yaml" --set optim.lr=2e-6 --set rollout.group_size=16 --print-config
check "--set overrides apply" grep -q '^  lr: 2e-06$' "$work/out"
check "--set repeats" grep -q '^  group_size: 16$' "$work/out"

# Usage errors exit 2.
run --no-such-flag
check "unknown flag exits 2" test "$code" -eq 2
run --config "$work/missing.yaml"
check "missing config exits 2" test "$code" -eq 2
check "missing config is named" grep -qF "$work/missing.yaml: no such config file" "$work/err"
run --help
check "--help exits 0" test "$code" -eq 0

# The describe output is the committed configs/defaults.yaml.
run --describe-config
check "--describe-config matches configs/defaults.yaml" cmp -s "$work/out" "$src/configs/defaults.yaml"

# A run writes its resolved config into its run directory before it loads anything; the 8B
# checkpoint of chart2code.yaml is not on this machine, which is a configuration error.
run --config "$src/configs/chart2code.yaml" --run-dir "$work/run"
check "missing checkpoint: exit 2" test "$code" -eq 2
check "run dir holds the resolved config" cmp -s "$work/run/config.yaml" "$work/resolved.yaml"
check "run dir layout" test -d "$work/run/rollouts" -a -d "$work/run/checkpoints" -a -f "$work/run/train.log"
check "the reason names the key" grep -q "model.path: .*no such checkpoint directory" "$work/err"

echo "$failures failed"
exit $((failures > 0))
