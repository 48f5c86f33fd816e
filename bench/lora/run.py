#!/usr/bin/env python3
"""LoRA at real size on this machine: the 2B policy (random weights with Qwen3-VL-2B's shapes,
a bf16 base; --dtype fp32 loads it in float32, for CPUs without bf16 units, where bf16 takes
hours), LoRA rank 16 on every Linear of the text decoder, gradient checkpointing, trains 3 GRPO
steps with KL k3 against its own base (the adapters off) on one chart prompt (G = 4, 448 x 448
image, at most 128 new tokens), then resumes from the step-2 checkpoint into a second run
directory and must give the same step 3 bit for bit. Reports peak RSS, its growth against the
memory plan's peak, and time per step.

    python3 bench/lora/run.py [--size 2b] [--dtype bf16|fp32] [--steps 3] [--resume-from 2]

The model is bench/real_size's, built on first use (random bf16 weights written by transformers,
cached in ~/.cache/visrl/real_size/<size>/model; the peers virtualenv is made when missing).
Writes bench/results/lora_<size>_<dtype>.json; exit 1 unless the peak RSS is under 16 GB, the
plan within 20 % of the measured growth and the resumed step 3 equal to the straight one.
"""
import argparse
import datetime
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(os.environ.get("VISRL_BIN", ROOT / "build/bin"))
CACHE = Path(os.environ.get("VISRL_CACHE", Path.home() / ".cache/visrl"))
sys.path.insert(0, str(ROOT / "bench/memory_plan"))
from check import metrics, train, write_run_files  # noqa: E402  (train: build/bin/train, its peak RSS and the plan's)


def say(msg):
    print(f"[lora] {msg}", flush=True)


def write_config(work: Path, model: Path, steps: int, dtype: str) -> Path:
    """The memory-plan check's run (bench/memory_plan/check.py: 128 new tokens, KL k3, the pixel
    critic, a checkpoint every step) with LoRA adapters on the text decoder."""
    base = write_run_files(work, "lora", model, steps)
    config = work / "lora.yaml"
    config.write_text(f"""extends: {base.name}
model:
  dtype: {dtype}
  lora:
    rank: 16
    alpha: 32
    target_modules: [all-linear]
    vision: false
    init: gaussian           # PEFT's "gaussian": A ~ N(0, 1/r), B = 0
optim:
  lr: 1.0e-4                 # adapters move further per step than full weights need to
""")
    return config


def ensure_model(size: str) -> Path:
    """bench/real_size's cached model of that size, built when missing (in the peers virtualenv)."""
    peers = CACHE / "venv-peers/bin/python"
    if not peers.exists():
        subprocess.run([str(ROOT / "scripts/setup"), "--peers"], check=True)
    code = "import sys, run; print(run.ensure_model(sys.argv[1], False))"
    out = subprocess.run([str(peers), "-c", code, size], cwd=ROOT / "bench/real_size", check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def without_times(m):
    return {k: v for k, v in m.items() if not k.startswith("time_") and k != "tokens_per_s"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2b")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--resume-from", type=int, default=2)
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"],
                    help="the base's dtype (fp32 where the CPU has no bf16 units (no avx512_bf16 or amx_bf16 in "
                         "/proc/cpuinfo): bf16 matmuls run 7x slower than fp32 there)")
    ap.add_argument("--work", default=str(CACHE / "lora" / "runs"))
    args = ap.parse_args()
    model = ensure_model(args.size)
    work = Path(args.work) / f"{args.size}-{args.dtype}"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    config = write_config(work, model, args.steps, args.dtype)
    plan = subprocess.run([str(BIN / "plan"), "--config", str(config)], capture_output=True, text=True, check=True)
    (work / "plan.txt").write_text(plan.stdout)
    say(f"{args.size}: training {args.steps} steps (plan in {work / 'plan.txt'})")
    straight = train([config], work / "run")
    say(json.dumps(straight))
    say(f"{args.size}: resuming from step {args.resume_from}")
    resumed = train([config], work / "resumed", ["--resume", str(work / f"run/checkpoints/step_{args.resume_from}")])
    say(json.dumps(resumed))
    a, b = metrics(work / "run"), metrics(work / "resumed")
    last = f"checkpoints/step_{args.steps}"
    files = ["final/adapter_model.safetensors", f"{last}/model/adapter_model.safetensors",
             f"{last}/optimizer/optimizer-00001-of-00001.safetensors"]
    row = {
        "size": args.size,
        "dtype": args.dtype,
        "straight": straight,
        "resumed": resumed,
        "plan_over_growth": round(straight["planned"] / straight["growth"], 3),
        "step_seconds": [m["time_step_s"] for m in a],
        "generate_seconds": [m.get("time_generate_s") for m in a],
        "lora_merge_seconds": [m.get("time_lora_merge_s") for m in a],
        "kl": [m.get("kl") for m in a],
        "resume_same_metrics": without_times(a[-1]) == without_times(b[-1]),
        "resume_same_files": {f: filecmp.cmp(work / "run" / f, work / "resumed" / f, shallow=False) for f in files},
    }
    gib = 2 ** 30
    print(f"peak RSS {straight['peak_rss'] / gib:.2f} GiB ({straight['growth'] / gib:.2f} GiB above the start); "
          f"the plan's peak {straight['planned'] / gib:.2f} GiB: plan / measured growth {row['plan_over_growth']:.2f}")
    print("seconds per step:", ", ".join(f"{s:.0f}" for s in row["step_seconds"]),
          "| generate:", ", ".join(f"{s:.0f}" for s in row["generate_seconds"]),
          "| LoRA merge + base read back:", ", ".join(f"{s:.2f}" for s in row["lora_merge_seconds"]))
    print(f"resume from step {args.resume_from}: step-{args.steps} metrics equal: {row['resume_same_metrics']}; "
          f"files byte-equal: {row['resume_same_files']}")
    out = ROOT / f"bench/results/lora_{args.size}_{args.dtype}.json"
    out.write_text(json.dumps({"generated": datetime.datetime.now().isoformat(timespec="seconds"), **row},
                              indent=2) + "\n")
    ok = (row["resume_same_metrics"] and all(row["resume_same_files"].values())
          and 0.8 <= row["plan_over_growth"] <= 1.2 and straight["peak_rss"] < 16 * 10**9)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
