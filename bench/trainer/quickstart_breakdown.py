#!/usr/bin/env python3
"""Where a quickstart GRPO step spends its time.

    python3 bench/trainer/quickstart_breakdown.py [--steps 8] [--json FILE]

Runs ./scripts/quickstart (its cached data, built on first use, and the shipped warm start) with
`--set optim.total_steps=N`, no validation before and after, and no periodic checkpoints,
then reads the run's metrics.jsonl: the median over steps 2..N (step 1 warms up) of each
`time_*_s` key, per step. The rollout's stages overlap (generation feeds the render pool, which
feeds the critic), so generate / render / critic are each stage's own time and sum to more
than the rollout's wall time; the update is old + reference log-probs + forward/backward +
AdamW. "other" is the rest of the step (advantages, metrics, rollout logs). Standard library
only. --json writes rows {"name", "ours", "peer", "peer_value", "unit", "ratio", "target"}
(no peer: the breakdown has no counterpart).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (label, metrics key or None for a derived value, what)
PARTS = [
    ("step", "time_step_s", "one GRPO step, wall"),
    ("rollout", "time_rollout_s", "generate -> render -> critic pipeline, wall"),
    ("  generate", "time_generate_s", "the policy sampling G answers per prompt"),
    ("  render", "time_render_s", "first render queued -> last render done (sandboxed chart servers)"),
    ("  critic", "time_critic_s", "the pixel critic judging the renders"),
    ("update", "time_update_s", "old + reference log-probs, loss forward/backward, AdamW"),
    ("  old_logprobs", "time_old_logprobs_s", "no-grad policy forward (skipped on-policy)"),
    ("  ref_logprobs", "time_ref_logprobs_s", "no-grad reference forward (KL)"),
    ("  forward_backward", "time_forward_backward_s", "loss forward + backward"),
    ("  optimizer", "time_optimizer_s", "AdamW step"),
    ("other", None, "step - rollout - update: advantages, metrics, rollout logs"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8, help="GRPO steps to run (the first is not counted)")
    ap.add_argument("--json", metavar="FILE", help="write the breakdown rows as JSON")
    ap.add_argument("--keep-run", action="store_true", help="keep the run directory under runs/")
    args = ap.parse_args()
    if args.steps < 2:
        ap.error("--steps must be at least 2 (the first step is a warm-up)")

    cmd = [str(ROOT / "scripts/quickstart"), "--set", f"optim.total_steps={args.steps}",
           "--set", "validation.before_and_after=false", "--set", "checkpoint.every_steps=0"]
    print("$ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - start
    match = re.search(r"--run-dir (\S+)", proc.stdout)
    run_dir = ROOT / match.group(1) if match else None
    if proc.returncode != 0 and not (run_dir and (run_dir / "metrics.jsonl").exists()):
        sys.exit(f"quickstart failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if run_dir is None:
        sys.exit(f"could not find the run directory in the quickstart's output:\n{proc.stdout[-3000:]}")
    steps = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [s for s in steps if "time_step_s" in s]
    if len(steps) < 2:
        sys.exit(f"{run_dir}/metrics.jsonl has {len(steps)} steps; expected {args.steps}")
    timed = steps[1:]
    med = {key: statistics.median(s.get(key, 0.0) for s in timed) for _, key, _ in PARTS if key}
    med_other = statistics.median(
        s["time_step_s"] - s["time_rollout_s"] - s["time_update_s"] for s in timed)
    tokens = statistics.median(s.get("tokens_per_s", 0.0) for s in timed)
    if not args.keep_run:
        shutil.rmtree(run_dir, ignore_errors=True)

    step_s = med["time_step_s"]
    print(f"quickstart GRPO step, median of steps 2..{len(steps)} ({run_dir.name}; quickstart wall {wall:.0f} s, "
          f"{os.cpu_count()} CPUs), {tokens:.0f} generated tokens/s per step")
    print(f"{'part':<20} | {'s/step':>7} | {'share':>6} | what")
    print("-" * 90)
    rows = []
    for label, key, what in PARTS:
        value = med[key] if key else med_other
        share = value / step_s if step_s else 0.0
        print(f"{label:<20} | {value:>7.3f} | {share:>6.1%} | {what}")
        name = "quickstart step: total" if key == "time_step_s" else f"quickstart step: {label.strip()} ({share:.0%})"
        rows.append({"name": name, "ours": value,
                     "peer": None, "peer_value": None, "unit": "s/step", "ratio": None, "target": None})
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
