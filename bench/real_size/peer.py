#!/usr/bin/env python3
"""The transformers side of the real-size check, and the model builder (run.py calls both with
the peers virtualenv's Python, each measurement in a fresh process).

    peer.py build --size 2b --out DIR
        A Qwen3-VL with the published shapes of SHAPES[size] and random weights (seeded; built
        in bfloat16 with transformers' init switched off, so no float32 copy is ever made),
        written by save_pretrained (bf16 safetensors, sharded at `shard`), with the real Qwen
        tokenizer, Qwen3-VL's chat template and the Qwen3-VL checkpoints' image processor
        (processor.save_pretrained).
    peer.py hf --mode MODE --model DIR [--image PNG --prompt TEXT] [--dtype float32] [--threads 2]
               [--n 8] [--max-new-tokens 32] [--rows 2] [--response-ids FILE] [--out FILE.npy]
        The same modes and JSON keys as build/bin/real_size_main (load, logits, greedy, generate,
        logprobs), on transformers' Qwen3VLForConditionalGeneration + AutoProcessor.
"""
import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHAT_TEMPLATE = ROOT / "tests/fixtures/qwen3vl/untied/chat_template.jinja"  # Qwen3-VL's template

# Published configurations (Qwen/Qwen3-VL-2B-Instruct, Qwen/Qwen3-VL-8B-Instruct; REFERENCE.md
# section 6), and a tiny one with the same vocabulary and head_dim for quick iterations.
SHAPES = {
    "tiny": dict(text=dict(hidden_size=256, intermediate_size=512, num_hidden_layers=3, num_attention_heads=2,
                           num_key_value_heads=1),
                 vision=dict(depth=3, hidden_size=128, intermediate_size=256, num_heads=2,
                             deepstack_visual_indexes=[0, 1, 2]),
                 tie=True, shard="40MB"),
    "2b": dict(text=dict(hidden_size=2048, intermediate_size=6144, num_hidden_layers=28, num_attention_heads=16,
                         num_key_value_heads=8),
               vision=dict(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16,
                           deepstack_visual_indexes=[5, 11, 17]),
               tie=True, shard="2GB"),
    "8b": dict(text=dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36, num_attention_heads=32,
                         num_key_value_heads=8),
               vision=dict(depth=27, hidden_size=1152, intermediate_size=4304, num_heads=16,
                           deepstack_visual_indexes=[8, 16, 24]),
               tie=False, shard="5GB"),
}
TOKEN_IDS = dict(image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
                 vision_end_token_id=151653)
EOS_IDS = [151645, 151643]  # <|im_end|>, <|endoftext|>
PAD_ID = 151643


def spec_stamp(size: str) -> str:
    """What the cached model was built from (run.py rebuilds when it changes)."""
    return json.dumps({"shape": SHAPES[size], "tokens": TOKEN_IDS, "seed": 0, "format": 1}, sort_keys=True)


def make_config(size: str):
    from transformers import Qwen3VLConfig

    s = SHAPES[size]
    t, v = s["text"], s["vision"]
    return Qwen3VLConfig(
        text_config=dict(vocab_size=151936, head_dim=128, max_position_embeddings=262144, rms_norm_eps=1e-6,
                         hidden_act="silu", attention_bias=False, bos_token_id=151643, eos_token_id=151645,
                         rope_parameters=dict(rope_type="default", rope_theta=5000000.0, mrope_section=[24, 20, 20],
                                              mrope_interleaved=True),
                         tie_word_embeddings=s["tie"], **t),
        vision_config=dict(out_hidden_size=t["hidden_size"], num_position_embeddings=2304, patch_size=16,
                           temporal_patch_size=2, spatial_merge_size=2, in_channels=3,
                           hidden_act="gelu_pytorch_tanh", **v),
        tie_word_embeddings=s["tie"], **TOKEN_IDS)


def build(args):
    import torch
    from transformers import (AutoTokenizer, GenerationConfig, Qwen2VLImageProcessor, Qwen3VLForConditionalGeneration,
                              Qwen3VLProcessor, Qwen3VLVideoProcessor)
    from transformers.initialization import no_init_weights

    tokenizer_dir = Path(args.tokenizer)
    out = Path(args.out)
    t0 = time.perf_counter()
    config = make_config(args.size)
    # bf16 from the start and no init: the weights are written once below, in place.
    with no_init_weights():
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    model.tie_weights()
    model.eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():  # a tied lm_head is the embedding: listed once
            if name.endswith("bias"):
                p.zero_()
            elif "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            else:  # transformers' own init: N(0, initializer_range = 0.02)
                p.normal_(0.0, 0.02, generator=g)
    if SHAPES[args.size]["tie"]:
        assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    model.generation_config = GenerationConfig(eos_token_id=EOS_IDS, pad_token_id=PAD_ID, bos_token_id=151643)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"built {args.size}: {n_params / 1e9:.3f} B parameters in {time.perf_counter() - t0:.0f} s", flush=True)
    model.save_pretrained(out, max_shard_size=SHAPES[args.size]["shard"])
    del model
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    # The Qwen3-VL checkpoints' image processor: 65536 to 16777216 pixels, mean = std = 0.5.
    image_processor = Qwen2VLImageProcessor(size={"shortest_edge": 65536, "longest_edge": 16777216}, patch_size=16,
                                            temporal_patch_size=2, merge_size=2, image_mean=[0.5, 0.5, 0.5],
                                            image_std=[0.5, 0.5, 0.5])
    processor = Qwen3VLProcessor(image_processor=image_processor, tokenizer=tok,
                                 video_processor=Qwen3VLVideoProcessor(), chat_template=CHAT_TEMPLATE.read_text())
    processor.save_pretrained(out)
    shutil.copyfile(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")  # the real file, byte for byte
    print(f"saved {out} in {time.perf_counter() - t0:.0f} s", flush=True)


def max_rss_bytes():
    """The process's peak RSS, VmHWM (ru_maxrss carries the parent's peak over fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def hf(args):
    import torch

    torch.set_num_threads(args.threads)
    from PIL import Image
    from transformers import AutoProcessor, Qwen3VLForConditionalGeneration

    out = {"impl": "transformers", "mode": args.mode, "threads": args.threads, "dtype": args.dtype,
           "rss_before_load_bytes": max_rss_bytes()}
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    t0 = time.perf_counter()
    model = Qwen3VLForConditionalGeneration.from_pretrained(args.model, dtype=dtype).eval()
    processor = AutoProcessor.from_pretrained(args.model)
    out["load_seconds"] = time.perf_counter() - t0
    out["param_bytes"] = sum(p.numel() * p.element_size() for p in model.parameters())
    out["rss_after_load_bytes"] = max_rss_bytes()
    if args.mode != "load":
        messages = [{"role": "user", "content": [{"type": "image", "image": Image.open(args.image).convert("RGB")},
                                                 {"type": "text", "text": args.prompt}]}]
        inputs = processor.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True,
                                               return_tensors="pt")
        inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        prompt_ids = inputs["input_ids"][0].tolist()
        P, N = len(prompt_ids), args.max_new_tokens
        out["prompt_tokens"] = P
        out["image_tokens"] = sum(1 for t in prompt_ids if t == model.config.image_token_id)
        out["prompt_ids"] = prompt_ids
        if args.mode == "logits":
            import numpy as np

            with torch.inference_mode():
                t1 = time.perf_counter()
                logits = model(**inputs).logits[0]
                out["forward_seconds"] = time.perf_counter() - t1
            np.save(args.out, logits.float().numpy())
        elif args.mode in ("greedy", "generate"):
            from transformers import LogitsProcessor, LogitsProcessorList

            stamps = []

            class Stamp(LogitsProcessor):  # called once per step, after that step's forward
                def __call__(self, input_ids, scores):
                    stamps.append(time.perf_counter())
                    return scores

            greedy = args.mode == "greedy"
            n = 1 if greedy else args.n
            kwargs = dict(do_sample=False) if greedy else dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
            torch.manual_seed(args.seed)
            with torch.inference_mode():
                t1 = time.perf_counter()
                gen = model.generate(**inputs, **kwargs, num_return_sequences=n, max_new_tokens=N, min_new_tokens=N,
                                     eos_token_id=None, pad_token_id=PAD_ID,
                                     logits_processor=LogitsProcessorList([Stamp()]))
                seconds = time.perf_counter() - t1
            new = gen[:, P:]
            out.update(n=n, max_new_tokens=N, seconds=seconds, tokens=int(new.numel()),
                       tokens_per_s=new.numel() / seconds)
            if greedy:
                out["token_ids"] = new[0].tolist()
            else:
                # prefill = up to the first step's logits; decode = the N - 1 forwards after it
                out["prefill_seconds"] = stamps[0] - t1
                out["decode_seconds"] = seconds - (stamps[0] - t1)
                out["decode_steps"] = N - 1
                out["decode_tokens_per_s"] = n * (N - 1) / out["decode_seconds"]
        elif args.mode == "logprobs":
            response = json.loads(Path(args.response_ids).read_text())
            R, L = args.rows, len(response)
            ids = torch.cat([inputs["input_ids"][0], torch.tensor(response)]).unsqueeze(0).repeat(R, 1)
            batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
                     "pixel_values": inputs["pixel_values"].repeat(R, 1),
                     "image_grid_thw": inputs["image_grid_thw"].repeat(R, 1)}
            if "mm_token_type_ids" in inputs:  # transformers 5: marks the image tokens for M-RoPE
                mm = inputs["mm_token_type_ids"][0]
                batch["mm_token_type_ids"] = torch.cat([mm, mm.new_zeros(L)]).unsqueeze(0).repeat(R, 1)
            targets = ids[:, -L:]
            with torch.inference_mode():
                t1 = time.perf_counter()
                logits = model(**batch, logits_to_keep=L + 1).logits[:, :-1].float()  # as TRL does
                logp = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
                seconds = time.perf_counter() - t1
            out.update(rows=R, response_tokens=L, seconds=seconds, tokens=int(ids.numel()),
                       tokens_per_s=ids.numel() / seconds, response_logprob_sum_row0=float(logp[0].sum()))
        else:
            sys.exit(f"unknown mode {args.mode}")
    out["max_rss_bytes"] = max_rss_bytes()
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--size", choices=sorted(SHAPES), required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--tokenizer", required=True, help="directory of the real Qwen tokenizer.json")
    h = sub.add_parser("hf")
    h.add_argument("--mode", required=True, choices=["load", "logits", "greedy", "generate", "logprobs"])
    h.add_argument("--model", required=True)
    h.add_argument("--image")
    h.add_argument("--prompt")
    h.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    h.add_argument("--threads", type=int, default=2)
    h.add_argument("--n", type=int, default=8)
    h.add_argument("--max-new-tokens", type=int, default=32)
    h.add_argument("--rows", type=int, default=2)
    h.add_argument("--response-ids")
    h.add_argument("--out")
    h.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    build(args) if args.command == "build" else hf(args)


if __name__ == "__main__":
    main()
