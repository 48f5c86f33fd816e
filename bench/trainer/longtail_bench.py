#!/usr/bin/env python3
"""Long-tailed answer lengths on the CPU: visrl's continuous batching vs its static engine and
transformers' generate, and token-budget vs sequence-count micro-batches in the update.

    ~/.cache/visrl/venv-peers/bin/python bench/trainer/longtail_bench.py [--build build]
        [--model DIR] [--prompts 8] [--group 8] [--median 150] [--max-new-tokens 512] [--tail 0.01]
        [--slots 64] [--micro-batch-size 16] [--threads 2] [--seed 0] [--json FILE]

Workload: P = --prompts prompts, each its own image (the fixture's images, one pixel changed per
copy) + the chart prompt, G = --group samples each, on the tiny untied fixture by default. The
answer lengths are log-normal with median --median tokens and sigma such that a share --tail of
them would pass --max-new-tokens; they are cut at the limit and the longest ceil(tail x P x G)
are set to the limit, so the batch always holds an answer that runs to it (seeded: --seed).
Both sides generate exactly these lengths at temperature 1 (no top-k/top-p): visrl through
per-sample token budgets, transformers through a logits processor that forces <|im_end|> at
each row's length and forbids it before.

  visrl static      today's engine (policy/generate/static_engine.h): every row decodes until
                    the longest answer ends
  visrl continuous  continuous batching with --slots decode slots (policy/generate/engine.h)
  visrl invariant   the same with rollout.batch_invariant (its cost)
  transformers      model.generate on the left-padded batch, num_return_sequences = G (static batch)
  update            forward + backward of one mini-batch of the P x G sequences: micro-batches of
                    --micro-batch-size sequences in rollout order vs token-budget micro-batches
                    (at most the largest of those in padded tokens)

tokens/s counts the answers' tokens (sum of the lengths) over wall time. One warm-up call per
engine. --json FILE writes the rows {"name", "ours", "peer", "peer_value", "unit", "ratio",
"target"} for ./scripts/bench.
"""
import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import NormalDist

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "tests/fixtures/qwen3vl/untied"
IMAGES = [ROOT / "tests/fixtures/qwen3vl/images" / f"{name}.png" for name in ("a", "b", "c")]
PROMPT = ("Write Python matplotlib code that reproduces this chart exactly: the same chart type, data, colors, axis "
          "labels, ticks, legend and title.")


def draw_lengths(n, median, limit, tail, seed):
    """Log-normal lengths: median `median`, P(length > limit) = tail before the cut."""
    sigma = math.log(limit / median) / NormalDist().inv_cdf(1 - tail)
    rng = random.Random(seed)
    lengths = [min(limit, max(1, round(rng.lognormvariate(math.log(median), sigma)))) for _ in range(n)]
    for i in sorted(range(n), key=lambda i: -lengths[i])[:math.ceil(tail * n)]:
        lengths[i] = limit
    return lengths, sigma


def make_images(count, tmp: Path):
    from PIL import Image
    paths = []
    for i in range(count):
        img = Image.open(IMAGES[i % len(IMAGES)]).convert("RGB")
        px = img.load()
        r, g, b = px[0, 0]
        px[0, 0] = ((r + 1 + i) % 256, g, b)
        path = tmp / f"prompt{i}.png"
        img.save(path)
        paths.append(path)
    return paths


def run_ours(exe: Path, model: Path, images, lengths_file: Path, args):
    cmd = [str(exe), "--model", str(model), "--images", ",".join(map(str, images)), "--lengths", str(lengths_file),
           "--max-new-tokens", str(args.max_new_tokens), "--slots", str(args.slots),
           "--micro-batch-size", str(args.micro_batch_size), "--threads", str(args.threads), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        sys.exit(f"{exe} failed ({p.returncode})")
    return json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])


def run_transformers(model_dir: Path, images, lengths, args):
    import torch
    import transformers
    from transformers import AutoProcessor, LogitsProcessor, LogitsProcessorList, Qwen3VLForConditionalGeneration

    torch.set_num_threads(args.threads)
    processor = AutoProcessor.from_pretrained(model_dir)
    processor.tokenizer.padding_side = "left"
    model = Qwen3VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
    messages = [[{"role": "user", "content": [{"type": "image", "image": str(path)}, {"type": "text", "text": PROMPT}]}]
                for path in images]
    inputs = processor.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True,
                                           return_tensors="pt", padding=True)
    eos = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    prompt_len = inputs["input_ids"].shape[1]
    target = torch.tensor(lengths)  # [P*G], prompt-major: generate's num_return_sequences order
    # Never sampled, as on visrl's side: the vision placeholders; and the pad id, which would
    # read as a finished row.
    cfg = model.config
    never = [processor.tokenizer.pad_token_id, cfg.image_token_id, cfg.video_token_id, cfg.vision_start_token_id,
             cfg.vision_end_token_id]

    class ForcedLengths(LogitsProcessor):
        """<|im_end|> exactly at each row's length (its last token), never before."""

        def __call__(self, input_ids, scores):
            made = input_ids.shape[1] - prompt_len  # tokens generated so far
            scores[:, never] = -float("inf")
            at_end = target[: scores.shape[0]] - 1 == made
            scores[~at_end, eos] = -float("inf")
            forced = torch.full_like(scores[at_end], -float("inf"))
            forced[:, eos] = 0
            scores[at_end] = forced
            return scores

    def generate(max_new):
        with torch.inference_mode():
            return model.generate(**inputs, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                                  max_new_tokens=max_new, num_return_sequences=len(lengths) // len(images),
                                  eos_token_id=eos, pad_token_id=processor.tokenizer.pad_token_id,
                                  logits_processor=LogitsProcessorList([ForcedLengths()]))

    generate(4)  # warm-up
    t0 = time.perf_counter()
    out = generate(args.max_new_tokens)
    seconds = time.perf_counter() - t0
    produced = (out[:, prompt_len:] != processor.tokenizer.pad_token_id).sum(dim=1)
    if produced.tolist() != lengths:
        mismatch = sum(int(a != b) for a, b in zip(produced.tolist(), lengths))
        sys.exit(f"transformers generated other lengths than asked for {mismatch} rows")
    return {"seconds": seconds, "tokens_per_s": sum(lengths) / seconds, "version": transformers.__version__,
            "prompt_tokens": int(inputs["attention_mask"].sum(dim=1).max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--median", type=float, default=150)
    ap.add_argument("--max-new-tokens", type=int, default=512)
    ap.add_argument("--tail", type=float, default=0.01)
    ap.add_argument("--slots", type=int, default=64)
    ap.add_argument("--micro-batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the rows for ./scripts/bench here")
    args = ap.parse_args()

    n = args.prompts * args.group
    lengths, sigma = draw_lengths(n, args.median, args.max_new_tokens, args.tail, args.seed)
    exe = Path(args.build) / "bin" / "longtail_bench"
    with tempfile.TemporaryDirectory(prefix="visrl_longtail_") as tmp:
        tmp = Path(tmp)
        images = make_images(args.prompts, tmp)
        (tmp / "lengths.json").write_text(json.dumps(lengths))
        ours = run_ours(exe, Path(args.model), images, tmp / "lengths.json", args)
        peer = run_transformers(Path(args.model), images, lengths, args)

    s = sorted(lengths)
    print(f"workload: {args.prompts} prompts x {args.group} samples, prompt {ours['prompt_tokens']} tokens "
          f"(transformers: {peer['prompt_tokens']}); answer lengths log-normal, median {args.median:g}, sigma "
          f"{sigma:.3f}, cut at {args.max_new_tokens}: min {s[0]}, median {s[n // 2]}, p90 {s[int(0.9 * n)]}, max "
          f"{s[-1]}, {sum(lengths)} tokens; {args.threads} threads")
    for name in ("static", "continuous", "invariant"):
        r = ours[name]
        print(f"  visrl {name:<10} {r['seconds']:7.2f} s  {r['tokens_per_s']:8.0f} tok/s  decode steps "
              f"{r['decode_steps']}, rows computed {r['decode_rows']}, KV cache {r['kv_cache_bytes'] / 2**20:.1f} MiB")
    print(f"  transformers {peer['version']} {peer['seconds']:7.2f} s  {peer['tokens_per_s']:8.0f} tok/s")
    print(f"  samples that change with a quarter of the slots: {ours['differ']:.0%} (batch_invariant off), "
          f"{ours['differ_invariant']:.0%} (on)")
    for name in ("update_sequences", "update_token_budget"):
        r = ours[name]
        print(f"  {name:<20} {r['seconds']:7.2f} s  {r['tokens_per_s']:8.0f} tok/s  {r['micro_batches']:.0f} "
              f"micro-batches, padding {r['padding_fraction']:.1%}, {r['tokens_per_micro_batch']:.0f} tokens each")

    cont, static, inv = ours["continuous"], ours["static"], ours["invariant"]
    upd, budget = ours["update_sequences"], ours["update_token_budget"]
    rows = [
        {"name": f"long-tail generate tok/s, continuous ({args.slots} slots) vs today's engine",
         "ours": cont["tokens_per_s"], "peer": "visrl static engine (generate_static)",
         "peer_value": static["tokens_per_s"], "unit": "tok/s", "ratio": cont["tokens_per_s"] / static["tokens_per_s"],
         "target": 2.0},
        {"name": "long-tail generate tok/s, continuous vs transformers", "ours": cont["tokens_per_s"],
         "peer": f"transformers {peer['version']} generate (static batch)", "peer_value": peer["tokens_per_s"],
         "unit": "tok/s", "ratio": cont["tokens_per_s"] / peer["tokens_per_s"], "target": 3.0},
        {"name": "long-tail generate tok/s, batch_invariant (its cost)", "ours": inv["tokens_per_s"],
         "peer": "visrl continuous, batch_invariant off", "peer_value": cont["tokens_per_s"], "unit": "tok/s",
         "ratio": inv["tokens_per_s"] / cont["tokens_per_s"], "target": None},
        {"name": "samples changed by a quarter of the slots (batch_invariant off / on)",
         "ours": 100 * ours["differ"], "peer": "batch_invariant on", "peer_value": 100 * ours["differ_invariant"],
         "unit": "%", "ratio": None, "target": None},
        {"name": f"long-tail update tok/s, token budget {ours['token_budget']} vs {args.micro_batch_size} sequences",
         "ours": budget["tokens_per_s"], "peer": f"micro_batch_size {args.micro_batch_size}",
         "peer_value": upd["tokens_per_s"], "unit": "tok/s", "ratio": budget["tokens_per_s"] / upd["tokens_per_s"],
         "target": 1.5},
        {"name": "long-tail update padding, token budget vs sequences", "ours": 100 * budget["padding_fraction"],
         "peer": f"micro_batch_size {args.micro_batch_size}", "peer_value": 100 * upd["padding_fraction"],
         "unit": "%", "ratio": None, "target": "< 10%"},
    ]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
