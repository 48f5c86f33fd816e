#!/usr/bin/env python3
"""One GRPO update step on the CPU: visrl vs TRL's GRPOTrainer, per phase.

    ~/.cache/visrl/venv-peers/bin/python bench/trainer/grpo_update_bench.py [--build build] [--peer-only]
        [--model DIR] [--image PNG] [--image-size 448] [--prompts 4] [--group 8] [--response-len 64]
        [--kl-coef 0.04] [--steps 3] [--threads 2] [--optim adamw_torch_fused] [--json FILE]

Both sides load the same checkpoint directory in float32 (a temp copy whose image cap is raised when --image-size
upscales the image, as bench/policy/policy_bench.py does) and update on the same batch: P = --prompts prompts (the
one image + the policy_bench prompt through the chat template) x G = --group completions of exactly L =
--response-len tokens, all P*G sequences in one micro-batch, one optimizer step. Per step, both sides run:

  old_logprobs   one no-grad policy forward over the P*G sequences
  ref_logprobs   one no-grad reference-model forward (k3 KL, coefficient --kl-coef)
  loss_backward  one forward + backward of the clipped-ratio loss with the KL term
  optimizer      one AdamW step (lr 1e-6, weight decay 0.01, betas 0.9/0.999, eps 1e-8)

update = the whole step (for TRL everything in its two optimizer steps per generation batch except generation,
rewards and image preprocessing, halved: see trl_peer.py); tokens/s = P*G*(prompt + L) / update. Generation is
excluded on both sides. One warm-up step (TRL: one generation cycle of 2 steps), then medians over --steps, with
torch/at::set_num_threads(--threads) on both sides.

visrl: build/bin/grpo_update_bench --json (skipped with a message when missing, or with --peer-only).
TRL: bench/trainer/trl_peer.py in a subprocess (needs trl, accelerate, datasets in the peers venv).
Prints both JSON lines, a table phase | visrl s | TRL s | ratio (TRL / visrl: how many times faster visrl is) and
TRL's step breakdown; --json FILE writes the rows {"name", "ours", "peer", "peer_value", "unit", "ratio", "target"}.
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import trl_peer  # noqa: E402  (stdlib-only at import time)

PHASES = [("old_logprobs", "old_logprobs_s", "no-grad policy forward"),
          ("ref_logprobs", "ref_logprobs_s", "no-grad reference forward"),
          ("loss_backward", "loss_backward_s", "loss forward + backward"),
          ("optimizer", "optimizer_s", "AdamW step"),
          ("update", "update_s", "whole update step")]
UPDATE_TARGET = 2.0  # visrl's update step at least 2x faster than TRL's


def side_args(args):
    return ["--prompts", str(args.prompts), "--group", str(args.group), "--response-len", str(args.response_len),
            "--kl-coef", str(args.kl_coef), "--steps", str(args.steps), "--threads", str(args.threads)]


def last_json(stdout: str, what: str):
    lines = [ln for ln in stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        sys.exit(f"{what} printed no JSON object; its output:\n{stdout}")
    return json.loads(lines[-1])


def run_json(cmd, what: str):
    """Runs cmd; exits with its stderr when it fails, else returns the last JSON object it printed."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{what} failed (exit code {p.returncode}): {' '.join(str(c) for c in cmd)}\n{p.stderr[-4000:]}")
    return last_json(p.stdout, what)


def run_ours(exe: Path, model_dir: Path, image: Path, args):
    return run_json([exe, "--model", model_dir, "--image", image, *side_args(args), "--json"], str(exe))


def run_trl(model_dir: Path, image: Path, args):
    return run_json([sys.executable, HERE / "trl_peer.py", "--model", model_dir, "--image", image, "--image-size", "0",
                     *side_args(args), "--optim", args.optim, "--json"], "the TRL side (trl_peer.py)")


def run_gemm_peak(exe: Path, threads: int):
    """The machine's float32 at::mm peak with the same thread count, or None without the binary."""
    if not exe.exists():
        print(f"NOTE: {exe} not found (build the gemm_peak_bench target): no GFLOP/s comparison")
        return None
    peak = run_json([exe, "--threads", threads], str(exe))
    print(json.dumps(peak))
    return peak


def fmt(x, unit):
    if x is None:
        return "-"
    return f"{x:.0f}" if unit == "tok/s" else f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(trl_peer.ROOT / "build"), help="build directory holding bin/grpo_update_bench")
    ap.add_argument("--peer-only", action="store_true", help="run only the TRL side")
    trl_peer.add_args(ap)
    ap.add_argument("--json", metavar="FILE", help="write the comparison rows as JSON")
    args = ap.parse_args()

    missing = [m for m in ("trl", "accelerate", "datasets", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"{sys.executable} lacks {', '.join(missing)}: run `./scripts/setup --peers` and use "
                 "~/.cache/visrl/venv-peers/bin/python (scripts/requirements-peers.txt pins trl, accelerate, datasets)")
    exe = Path(args.build) / "bin/grpo_update_bench"
    run_cpp = not args.peer_only and exe.exists()
    if args.peer_only:
        print("--peer-only: running the TRL side only")
    elif not exe.exists():
        print(f"NOTE: {exe} not found (build the grpo_update_bench target): running the TRL side only")
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"WARNING: 1-minute load average {load:.1f}: other processes compete for the cores; with 2 threads "
              "per side OpenMP slows down many times over (e.g. an AdamW step 1000x) and the ratios mean nothing")

    tmp = Path(tempfile.mkdtemp(prefix="grpo_update_bench_"))
    try:
        model_dir, image = trl_peer.prepare(args.model, args.image, args.image_size, tmp)
        ours = run_ours(exe, model_dir, image, args) if run_cpp else None
        peak = None
        if ours is not None:
            print(json.dumps(ours))
            peak = run_gemm_peak(Path(args.build) / "bin/gemm_peak_bench", args.threads)
        peer = run_trl(model_dir, image, args)
        print(json.dumps({k: v for k, v in peer.items() if k != "per_cycle"}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if not peer.get("prompt_ids_match_chat_template", True):
        print("WARNING: TRL's prompt ids differ from the processor's chat template output")
    mismatch = []
    if ours is not None:
        mismatch = [f"{key} visrl {ours.get(key)} vs TRL {peer.get(key)}" for key in ("tokens", "prompt_tokens")
                    if ours.get(key) != peer.get(key)]
    if mismatch:
        print("!" * 100)
        print(f"WARNING: the two sides do not see the same batch: {'; '.join(mismatch)}; not like for like")
        print("!" * 100)

    v = peer["versions"]
    print()
    print(f"model {args.model}, image {args.image} at {args.image_size or 'native'}: prompt {peer['prompt_tokens']} "
          f"tokens ({peer['image_tokens']} image), P={args.prompts} x G={args.group} = {peer['rows']} sequences of "
          f"{peer['prompt_tokens']}+{args.response_len} tokens in one micro-batch, kl_coef {args.kl_coef}, "
          f"{args.threads} thread{'s' if args.threads != 1 else ''}, float32 CPU")
    print(f"TRL {v['trl']} (transformers {v['transformers']}, accelerate {v['accelerate']}, torch {v['torch']}), "
          f"optim {peer['optim']}; median of {peer['cycles_measured']} generation cycles x "
          f"{peer['steps_per_generation']} optimizer steps after one warm-up cycle")
    rows = []
    print(f"{'phase':<14} | {'visrl s':>8} | {'TRL s':>8} | {'ratio':>7} | what")
    print("-" * 72)
    for name, key, what in PHASES:
        o = ours.get(key) if ours else None
        t = peer[key]
        ratio = t / o if o else None
        target = f">= {UPDATE_TARGET:g}x" if name == "update" else None
        ok = "" if ratio is None or target is None else (" ok" if ratio >= UPDATE_TARGET else " MISSED")
        print(f"{name:<14} | {fmt(o, 's'):>8} | {fmt(t, 's'):>8} | "
              f"{(f'{ratio:.2f}x' if ratio else '-'):>7} | {what}{'; target ' + target + ok if target else ''}")
        rows.append({"name": name, "ours": o, "peer": f"trl {v['trl']}", "peer_value": t, "unit": "s",
                     "ratio": ratio, "target": UPDATE_TARGET if target else None})
    o = ours.get("tokens_per_s") if ours else None
    t = peer["tokens_per_s"]
    ratio = o / t if o else None
    print(f"{'tokens/s':<14} | {fmt(o, 'tok/s'):>8} | {fmt(t, 'tok/s'):>8} | {(f'{ratio:.2f}x' if ratio else '-'):>7} "
          f"| (prompt + completion tokens) / update")
    rows.append({"name": "tokens_per_s", "ours": o, "peer": f"trl {v['trl']}", "peer_value": t, "unit": "tok/s",
                 "ratio": ratio, "target": None})

    if ours is not None and peak is not None:
        achieved = ours["update_gflops_per_s"]
        share = achieved / peak["peak_gflops"]
        print(f"{'GFLOP/s':<14} | {achieved:>8.1f} | {'':>8} | {share:>6.1%} | matmul FLOPs of the update "
              f"({ours['update_flops'] / 1e9:.1f} GFLOP: its forwards + backward, policy/model/flops.h) "
              f"/ update, "
              f"vs the at::mm float32 peak {peak['peak_gflops']:.0f} GFLOP/s ({args.threads} threads, "
              f"gemm_peak_bench)")
        rows.append({"name": "update GFLOP/s vs matmul peak", "ours": achieved,
                     "peer": f"at::mm fp32 peak, {peak['threads']} threads (gemm_peak_bench)",
                     "peer_value": peak["peak_gflops"], "unit": "GFLOP/s", "ratio": share, "target": None})

    b = peer["median_cycle"]
    ms = lambda k: b[k] * 1e3  # noqa: E731
    print()
    print(f"TRL step breakdown (ms per optimizer step, the median cycle): old {ms('old_logprobs_s'):.0f} + ref "
          f"{ms('ref_logprobs_s'):.0f} + loss forward {ms('loss_forward_s'):.0f} / backward "
          f"{ms('loss_backward_s') - ms('loss_forward_s'):.0f} + AdamW {ms('optimizer_s'):.1f} + grad clip "
          f"{ms('clip_s'):.1f} + scoring {ms('scoring_other_s'):.0f} + batch split {ms('batch_split_s'):.0f} + rest "
          f"{ms('rest_s'):.0f} = {ms('update_s'):.0f}")
    print("  scoring: padding, chat template text, advantages, metrics; batch split: shuffling the generation batch "
          "and cutting it into optimizer steps (each row's copy of the image patches included); rest: zero_grad, "
          "scheduler, Trainer bookkeeping")
    print(f"  excluded: image preprocessing {ms('excluded_image_preprocess_s'):.0f} ms (TRL processes every row's image "
          f"again for the forwards), generation {ms('excluded_generation_s'):.0f} ms (random tokens), rewards "
          f"{ms('excluded_rewards_s'):.1f} ms")
    print(f"  TRL's natural configuration for this workload (steps_per_generation = 1) skips the old-log-prob forward: "
          f"about {ms('update_s') - ms('old_logprobs_s'):.0f} ms per step")
    if ours is not None:
        rest = ours["update_s"] - sum(ours[k] for _, k, _ in PHASES[:-1])
        rest = 0.0 if abs(rest) < 5e-4 else rest  # no "-0" 
        print(f"visrl step breakdown (ms): old {ours['old_logprobs_s'] * 1e3:.0f} + ref {ours['ref_logprobs_s'] * 1e3:.0f}"
              f" + loss/backward {ours['loss_backward_s'] * 1e3:.0f} + AdamW {ours['optimizer_s'] * 1e3:.1f} + rest "
              f"{rest * 1e3:.0f} = {ours['update_s'] * 1e3:.0f}")

    if mismatch:
        print(f"WARNING (repeated): different batches, {'; '.join(mismatch)}: the ratios above are not like for like")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
