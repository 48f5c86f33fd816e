#!/usr/bin/env python3
"""The memory planner against reality: real `train` runs on this machine, the plan's peak beside
the measured peak RSS growth of the run (VmHWM at the end minus VmRSS when main() started, both
logged by build/bin/train).

    python3 bench/memory_plan/check.py [--models tiny,100m,0.6b] [--resume-check] [--steps 2]

Models (cached in ~/.cache/visrl/memory_plan/<name>/model; VISRL_CACHE moves the cache):
  tiny   build/bin/tiny-model with the tests' tiny tokenizer (0.4M parameters)
  100m   Qwen3-VL layer shapes: text 512 x 8 layers, vision 256 x 4, the real Qwen vocabulary
  0.6b   text 1024 x 20 layers (16 heads, 8 KV, MLP 3072), vision 768 x 12 (MLP 3072)
The last two are written by bench/real_size/peer.py (transformers' save_pretrained, random
bf16 weights) with the peers virtualenv (scripts/setup --peers).

Every run: one chart prompt (tests/fixtures/pixel_critic/line_chart.png at 448 x 448 pixels),
G = 4, at most 128 new tokens (tiny: 32; a stop string "e" ends them at different lengths, and
the reward is the answer's relative length, so that the update has a gradient), full fine-tuning in float32 with gradient checkpointing, KL
k3 with the reference model, the pixel critic, --steps steps with a checkpoint after each.
--resume-check (0.6b): resumes from the step-1 checkpoint into a second run directory and
checks that step 2's metrics and the final weights equal the uninterrupted run's.

Prints a table and writes bench/results/memory_plan.json.
"""
import argparse
import datetime
import filecmp
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(os.environ.get("VISRL_BIN", ROOT / "build/bin"))  # the programs (VISRL_BIN: a copy elsewhere)
CACHE = Path(os.environ.get("VISRL_CACHE", Path.home() / ".cache/visrl"))
PEERS_PYTHON = CACHE / "venv-peers/bin/python"
IMAGE = ROOT / "tests/fixtures/pixel_critic/line_chart.png"
PIXELS = 448 * 448

SHAPES = {
    "100m": dict(text=dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=4,
                           num_key_value_heads=2),
                 vision=dict(depth=4, hidden_size=256, intermediate_size=1024, num_heads=4,
                             deepstack_visual_indexes=[0, 1, 2]),
                 tie=True, shard="2GB"),
    "0.6b": dict(text=dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=20, num_attention_heads=16,
                           num_key_value_heads=8),
                 vision=dict(depth=12, hidden_size=768, intermediate_size=3072, num_heads=12,
                             deepstack_visual_indexes=[3, 7, 11]),
                 tie=True, shard="2GB"),
}


def say(msg):
    print(f"[memory_plan] {msg}", flush=True)


def qwen_tokenizer() -> Path:
    env = os.environ.get("VISRL_QWEN_TOKENIZER_DIR")
    return Path(env) if env else (ROOT / ".." / "shared" / "fixtures" / "qwen-tokenizer").resolve()


def ensure_model(name: str) -> Path:
    base = CACHE / "memory_plan" / name
    model = base / "model"
    stamp = base / "spec.json"
    want = json.dumps(SHAPES.get(name, "tiny-model seed 3"), sort_keys=True)
    if model.is_dir() and stamp.exists() and stamp.read_text() == want:
        return model
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / "model.tmp"
    subprocess.run(["rm", "-rf", str(tmp), str(model)], check=True)
    say(f"building the {name} model in {model}")
    if name == "tiny":
        subprocess.run([str(BIN / "tiny-model"), "--out", str(tmp), "--seed", "3",
                        "--tokenizer", str(ROOT / "tests/fixtures/tokenizer/tiny")], check=True)
    else:
        if not PEERS_PYTHON.exists():
            subprocess.run([str(ROOT / "scripts/setup"), "--peers"], check=True)
        code = ("import sys, types; sys.path.insert(0, sys.argv[1]); import peer; "
                "peer.SHAPES[sys.argv[2]] = __import__('json').loads(sys.argv[3]); "
                "peer.build(types.SimpleNamespace(size=sys.argv[2], out=sys.argv[4], tokenizer=sys.argv[5]))")
        subprocess.run([str(PEERS_PYTHON), "-c", code, str(ROOT / "bench/real_size"), name, json.dumps(SHAPES[name]),
                        str(tmp), str(qwen_tokenizer())], check=True)
    tmp.rename(model)
    stamp.write_text(want)
    return model


CHART_CODE = ("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 3], color='tab:blue')\n"
              "plt.title('Sales')\nplt.savefig('out.png')\n")


def write_run_files(work: Path, name: str, model: Path, steps: int) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "train.jsonl"
    manifest.write_text("".join(
        json.dumps({"id": f"chart{i}", "task": "chart", "image": str(IMAGE), "ground_truth": CHART_CODE}) + "\n"
        for i in range(4)))
    config = work / "config.yaml"
    new_tokens = 32 if name == "tiny" else 128
    config.write_text(f"""seed: 5
model:
  path: {model}
  dtype: fp32
  device: cpu
  gradient_checkpointing: true
  min_pixels: {PIXELS}
  max_pixels: {PIXELS}
data:
  train: [{manifest}]
rollout:
  group_size: 4
  prompts_per_step: 1
  batch_size: 4
  max_new_tokens: {new_tokens}
  stop: ["e"]                # random weights never emit an end token: a stop string varies the lengths
reward:
  critic: pixel
  # A random policy writes no code, so every reward would be equal and every advantage 0: a
  # length term gives the group different rewards and the update a gradient.
  formula: "render_ok + response_len / max_len"
  on_failure: {{no_code: formula}}
algorithm:
  kl_coef: 0.01
  kl_estimator: k3
  mini_batch_prompts: 1
  micro_batch_size: 1
optim:
  lr: 1.0e-5
  total_steps: {steps}
render:
  workers: 1
checkpoint:
  every_steps: 1
validation:
  before_and_after: false
logging:
  progress_bar: "off"
""")
    return config


MEMORY_LINE = re.compile(r"memory: peak RSS (\S+ \S+) \((\S+ \S+) above the (\S+ \S+) at start\); "
                         r"the plan's peak was (\S+ \S+)")


def to_bytes(text: str) -> int:
    number, unit = text.split()
    return int(float(number) * {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[unit])


def train(args, run_dir: Path, extra=()):
    cmd = [str(BIN / "train"), "--config", str(args[0]), "--run-dir", str(run_dir), *extra]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    t0 = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    log = result.stdout + result.stderr
    if result.returncode != 0:
        sys.exit(f"train failed ({result.returncode}): {' '.join(cmd)}\n{log[-4000:]}")
    m = MEMORY_LINE.search(log)
    if not m:
        sys.exit(f"no memory line in the train log of {run_dir}\n{log[-2000:]}")
    return {"peak_rss": to_bytes(m[1]), "growth": to_bytes(m[2]), "start_rss": to_bytes(m[3]),
            "planned": to_bytes(m[4]), "seconds": round(time.time() - t0, 1)}


def metrics(run_dir: Path):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def same_directory_files(a: Path, b: Path):
    names = sorted(p.name for p in a.iterdir() if p.suffix == ".safetensors")
    return bool(names) and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="tiny,100m,0.6b")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--resume-check", action="store_true", help="0.6b: resume from step 1 and compare")
    ap.add_argument("--work", default=str(CACHE / "memory_plan" / "runs"))
    ap.add_argument("--out", default=str(ROOT / "bench/results/memory_plan.json"))
    args = ap.parse_args()
    rows = []
    for name in args.models.split(","):
        model = ensure_model(name)
        work = Path(args.work) / name
        subprocess.run(["rm", "-rf", str(work)], check=True)
        config = write_run_files(work, name, model, args.steps)
        plan = subprocess.run([str(BIN / "plan"), "--config", str(config)], capture_output=True, text=True, check=True)
        (work / "plan.txt").write_text(plan.stdout)
        say(f"{name}: training {args.steps} steps")
        measured = train([config], work / "run")
        row = {"model": name, "params": None, **measured,
               "ratio": round(measured["planned"] / measured["growth"], 3)}
        params = re.search(r"policy weights\s+held\s+\S+ \S+\s+(\S+) params", plan.stdout)
        row["params"] = params[1] if params else "?"
        if args.resume_check and name == "0.6b":
            say(f"{name}: resuming from step 1")
            again = train([config], work / "resumed", ["--resume", str(work / "run/checkpoints/step_1")])
            a, b = metrics(work / "run"), metrics(work / "resumed")
            keys = ("loss", "reward_mean", "grad_norm", "kl", "entropy")
            last_a, last_b = a[-1], b[-1]
            row["resume_same_metrics"] = all(last_a.get(k) == last_b.get(k) for k in keys)
            row["resume_same_weights"] = same_directory_files(work / "run/final", work / "resumed/final")
            row["resume_growth"] = again["growth"]
            row["resume_step2"] = {k: [last_a.get(k), last_b.get(k)] for k in keys}
        rows.append(row)
        say(json.dumps(row))
    print()
    print(f"| model | params | measured peak RSS growth | plan's peak | plan / measured | train wall |")
    print(f"| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['model']} | {r['params']} | {r['growth'] / 2**30:.2f} GiB | {r['planned'] / 2**30:.2f} GiB | "
              f"{r['ratio']:.2f} | {r['seconds']:.0f} s |")
    for r in rows:
        if "resume_same_metrics" in r:
            print(f"resume from step 1 ({r['model']}): step-2 metrics equal: {r['resume_same_metrics']}; "
                  f"final weights byte-equal: {r['resume_same_weights']}")
    Path(args.out).write_text(json.dumps({"generated": datetime.datetime.now().isoformat(timespec="seconds"),
                                          "rows": rows}, indent=2) + "\n")
    bad = [r for r in rows if not 0.8 <= r["ratio"] <= 1.2]
    bad += [r for r in rows if r.get("resume_same_metrics") is False or r.get("resume_same_weights") is False]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
