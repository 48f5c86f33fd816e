#!/usr/bin/env python3
"""Policy rollout and training-forward speed on the CPU: visrl vs Hugging Face transformers.

    ~/.cache/visrl/venv-peers/bin/python bench/policy/policy_bench.py [--build build] [--threads 1 2]
        [--model DIR] [--image PNG] [--image-size 448] [--n 8] [--max-new-tokens 64] [--repeat 3]

Both sides load the same checkpoint directory in float32 and see the same prompt (one image +
--prompt, chat template with the generation prompt; the prompt ids are compared). --image-size
upscales the image to SxS (a temp PNG both sides read) and, since the fixture's
processor_config.json caps an image at size.longest_edge pixels, both sides load a temp copy of
the model directory (weights symlinked) whose cap is raised to max(S*S, the original).

generate: G = --n samples of exactly --max-new-tokens each: sampling at temperature 1 with no
  top-k/top-p and no eos (HF: do_sample, num_return_sequences=G, min_new_tokens=max_new_tokens,
  eos_token_id=None). visrl prefills the prompt once and shares its KV cache across the group;
  HF expands the inputs to G rows (image included) and keeps G independent caches.
logprobs: one teacher-forced forward over G rows of prompt + the same random response of
  --max-new-tokens ids, the image repeated per row, log_softmax + gather of the response tokens
  (HF: model(..., logits_to_keep=N+1), as TRL does; visrl: forward_logprobs with a score mask).
Both under inference mode, one warm-up then best of --repeat, with torch/at::set_num_threads(T)
for every T of --threads. Prints the JSON lines and a table of ratios visrl / HF.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "tests/fixtures/qwen3vl/untied"
DEFAULT_IMAGE = ROOT / "tests/fixtures/qwen3vl/images/a.png"
DEFAULT_PROMPT = ("Write Python matplotlib code that reproduces this chart exactly: the same chart type, "
                  "data, colors, axis labels, ticks, legend and title.")


def prepare(model: str, image: str, image_size: int, tmp: Path):
    """(model_dir, image_path) both sides use: the originals, or upscaled / uncapped copies."""
    model_dir, image = Path(model), Path(image)
    if not image_size:
        return model_dir, image
    from PIL import Image

    out = tmp / f"image_{image_size}.png"
    Image.open(image).convert("RGB").resize((image_size, image_size), Image.BICUBIC).save(out)
    copy = tmp / "model"
    copy.mkdir()
    for f in model_dir.iterdir():
        (copy / f.name).symlink_to(f.resolve())
    need = image_size * image_size
    for name in ("processor_config.json", "preprocessor_config.json"):
        src = model_dir / name
        if not src.exists():
            continue
        cfg = json.loads(src.read_text())
        proc = cfg.get("image_processor", cfg)
        proc.setdefault("size", {})
        proc["size"]["longest_edge"] = max(need, proc["size"].get("longest_edge", 0))
        if "max_pixels" in proc:
            proc["max_pixels"] = max(need, proc["max_pixels"])
        (copy / name).unlink()
        (copy / name).write_text(json.dumps(cfg, indent=2))
    return copy, out


def run_ours(exe: Path, model_dir: Path, image: Path, args, mode: str, threads: int, extra=()):
    cmd = [str(exe), "--model", str(model_dir), "--image", str(image), "--prompt", args.prompt, "--n", str(args.n),
           "--max-new-tokens", str(args.max_new_tokens), "--mode", mode, "--repeat", str(args.repeat),
           "--threads", str(threads), *extra]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best_of(repeat: int, body):
    body()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - t0)
    return best


class HF:
    def __init__(self, model_dir: Path, image: Path, prompt: str):
        import torch
        from PIL import Image
        from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

        self.torch = torch
        self.processor = AutoProcessor.from_pretrained(str(model_dir))
        self.model = Qwen3VLForConditionalGeneration.from_pretrained(str(model_dir), dtype=torch.float32).eval()
        messages = [{"role": "user", "content": [{"type": "image", "image": Image.open(image).convert("RGB")},
                                                 {"type": "text", "text": prompt}]}]
        self.inputs = self.processor.apply_chat_template(messages, tokenize=True, add_generation_prompt=True,
                                                         return_dict=True, return_tensors="pt")
        self.prompt_ids = self.inputs["input_ids"][0].tolist()
        self.image_tokens = sum(1 for t in self.prompt_ids if t == self.model.config.image_token_id)

    def generate(self, n: int, max_new: int, repeat: int, threads: int):
        torch = self.torch
        torch.set_num_threads(threads)
        pad = self.processor.tokenizer.pad_token_id
        tokens = [0]

        def body():
            with torch.inference_mode():
                out = self.model.generate(**self.inputs, do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                                          num_return_sequences=n, max_new_tokens=max_new, min_new_tokens=max_new,
                                          eos_token_id=None, pad_token_id=pad)
            tokens[0] = (out.shape[1] - len(self.prompt_ids)) * out.shape[0]

        seconds = best_of(repeat, body)
        return {"impl": "hf", "mode": "generate", "threads": threads, "seconds": seconds, "tokens": tokens[0],
                "tokens_per_s": tokens[0] / seconds}

    def logprobs(self, n: int, response, repeat: int, threads: int):
        torch = self.torch
        torch.set_num_threads(threads)
        N = len(response)
        ids = torch.cat([self.inputs["input_ids"][0], torch.tensor(response)]).unsqueeze(0).repeat(n, 1)
        batch = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "pixel_values": self.inputs["pixel_values"].repeat(n, 1),
            "image_grid_thw": self.inputs["image_grid_thw"].repeat(n, 1),
        }
        if "mm_token_type_ids" in self.inputs:  # transformers 5: marks the image tokens for M-RoPE
            mm = self.inputs["mm_token_type_ids"][0]
            batch["mm_token_type_ids"] = torch.cat([mm, mm.new_zeros(N)]).unsqueeze(0).repeat(n, 1)
        targets = ids[:, -N:]

        def body():
            with torch.inference_mode():
                logits = self.model(**batch, logits_to_keep=N + 1).logits[:, :-1].float()  # [n, N, V]
                logp = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            return logp

        seconds = best_of(repeat, body)

        def vision():
            with torch.inference_mode():
                self.model.model.visual(batch["pixel_values"], grid_thw=batch["image_grid_thw"])

        vision_seconds = best_of(repeat, vision)
        return {"impl": "hf", "mode": "logprobs", "threads": threads, "seconds": seconds,
                "vision_seconds": vision_seconds,
                "tokens": int(ids.numel()), "scored_tokens": n * N, "tokens_per_s": ids.numel() / seconds}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory holding bin/policy_bench_main")
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--image", default=str(DEFAULT_IMAGE))
    ap.add_argument("--image-size", type=int, default=448, help="upscale the image to SxS (0 = as is)")
    ap.add_argument("--prompt", default=DEFAULT_PROMPT)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", metavar="FILE", help="write the comparison rows as JSON")
    args = ap.parse_args()
    exe = Path(args.build) / "bin/policy_bench_main"
    if not exe.exists():
        sys.exit(f"{exe} not found: build the policy_bench_main target")

    tmp = Path(tempfile.mkdtemp(prefix="policy_bench_"))
    try:
        model_dir, image = prepare(args.model, args.image, args.image_size, tmp)
        hf = HF(model_dir, image, args.prompt)
        vocab_hi = min(hf.model.config.image_token_id, hf.model.config.video_token_id,
                       hf.model.config.vision_start_token_id)
        rng = random.Random(0)
        response = [rng.randrange(vocab_hi) for _ in range(args.max_new_tokens)]
        (tmp / "response.json").write_text(json.dumps(response))

        rows = []
        for t in args.threads:
            og = run_ours(exe, model_dir, image, args, "generate", t, ["--dump-prompt", str(tmp / "prompt.json")])
            ours_prompt = json.loads((tmp / "prompt.json").read_text())
            if ours_prompt != hf.prompt_ids:
                print(f"WARNING: prompt ids differ: visrl {len(ours_prompt)} tokens vs HF {len(hf.prompt_ids)}")
            ol = run_ours(exe, model_dir, image, args, "logprobs", t, ["--response-ids", str(tmp / "response.json")])
            hg = hf.generate(args.n, args.max_new_tokens, args.repeat, t)
            hl = hf.logprobs(args.n, response, args.repeat, t)
            for line in (og, hg, ol, hl):
                print(json.dumps(line))
            if og["tokens"] != hg["tokens"]:
                print(f"WARNING: generated token counts differ: visrl {og['tokens']} vs HF {hg['tokens']}")
            rows.append((t, og, hg, ol, hl))

        print()
        print(f"model {args.model}, image {args.image} at {args.image_size or 'native'}: prompt {len(hf.prompt_ids)} "
              f"tokens ({hf.image_tokens} image), G={args.n}, max_new_tokens={args.max_new_tokens}, "
              f"best of {args.repeat}, float32 CPU")
        print(f"{'threads':>7} | {'what':<26} | {'visrl tok/s':>12} | {'HF tok/s':>10} | {'ratio':>6} | target")
        print("-" * 80)
        for t, og, hg, ol, hl in rows:
            gr = og["tokens_per_s"] / hg["tokens_per_s"]
            lr = ol["tokens_per_s"] / hl["tokens_per_s"]
            print(f"{t:>7} | {'generate (sampled tokens)':<26} | {og['tokens_per_s']:>12.0f} | {hg['tokens_per_s']:>10.0f} "
                  f"| {gr:>5.2f}x | >= 2x {'ok' if gr >= 2 else 'MISSED'}")
            print(f"{t:>7} | {'forward_logprobs (tokens)':<26} | {ol['tokens_per_s']:>12.0f} | {hl['tokens_per_s']:>10.0f} "
                  f"| {lr:>5.2f}x | >= 1.5x {'ok' if lr >= 1.5 else 'MISSED'}")
            print(f"{t:>7} | {'  visrl generate phases':<26} | prefill {og['prefill_seconds'] * 1e3:.1f} ms, "
                  f"decode {og['decode_seconds'] * 1e3:.1f} ms ({og['decode_steps']} steps)")
            print(f"{t:>7} | {'  forward_logprobs split':<26} | visrl {ol['seconds'] * 1e3:.1f} ms "
                  f"(tower on all {args.n} image copies {ol['vision_seconds'] * 1e3:.1f}), HF {hl['seconds'] * 1e3:.1f} ms "
                  f"(vision {hl['vision_seconds'] * 1e3:.1f})")
        if args.json:
            peer = f"transformers {__import__('transformers').__version__}"
            out = []
            for t, og, hg, ol, hl in rows:
                out.append({"name": f"generate tokens/s, {t} thread{'s' if t > 1 else ''}", "ours": og["tokens_per_s"],
                            "peer": f"{peer} generate", "peer_value": hg["tokens_per_s"], "unit": "tok/s",
                            "ratio": og["tokens_per_s"] / hg["tokens_per_s"], "target": ">= 2x"})
                out.append({"name": f"forward_logprobs tokens/s, {t} thread{'s' if t > 1 else ''}",
                            "ours": ol["tokens_per_s"], "peer": f"{peer} forward + log_softmax",
                            "peer_value": hl["tokens_per_s"], "unit": "tok/s",
                            "ratio": ol["tokens_per_s"] / hl["tokens_per_s"], "target": ">= 1.5x"})
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
            print(f"wrote {args.json}")
        og = rows[0][1]
        shared, indep = og["kv_cache_bytes"], og["kv_cache_bytes_independent"]
        print(f"KV cache at its fullest: shared prompt {shared} B vs {args.n} independent sequences {indep} B "
              f"(computed from the config): {indep / shared:.2f}x smaller")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
