#!/usr/bin/env python3
"""PEFT loads a LoRA adapter onto transformers' Qwen3-VL and gets the expected logits (run with the
peers venv by a ctest script).

    peft_loads.py BASE_DIR ADAPTER_DIR INPUTS_SAFETENSORS PREFIX EXPECTED_SAFETENSORS KEY [--merged MERGED_DIR]

BASE_DIR            a transformers Qwen3-VL checkpoint, loaded in float32
ADAPTER_DIR         a PEFT adapter directory (adapter_config.json, adapter_model.safetensors),
                    applied with peft.PeftModel.from_pretrained
INPUTS_SAFETENSORS  holds <PREFIX>.input_ids and, for a prompt with images, <PREFIX>.pixel_values and
                    <PREFIX>.image_grid_thw; <PREFIX>.position_ids is used when present, otherwise
                    transformers computes M-RoPE positions from mm_token_type_ids (image tokens = 1)
EXPECTED_SAFETENSORS, KEY  the expected logits [1, T, V]
--merged MERGED_DIR also load MERGED_DIR as a plain Qwen3VLForConditionalGeneration (no PEFT), e.g. a
                    merged adapter, and compare its logits with the same tensor

Passes when max |logits - expected| <= 1e-5 (the issue's fp32 bound); prints the differences and
exits 1 on a mismatch or a loading problem.
"""
import argparse
import sys

import torch
from safetensors import safe_open
from transformers import Qwen3VLForConditionalGeneration


def load_model(directory):
    model, info = Qwen3VLForConditionalGeneration.from_pretrained(directory, dtype=torch.float32,
                                                                  output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if bad:
        raise SystemExit(f"FAIL {directory}: loading problems {bad}")
    return model.eval()


def load_inputs(path, prefix, image_token_id):
    with safe_open(path, "pt") as f:
        keys = set(f.keys())
        if f"{prefix}.input_ids" not in keys:
            raise SystemExit(f"FAIL {path}: no {prefix}.input_ids")
        inputs = {name: f.get_tensor(f"{prefix}.{name}")
                  for name in ("input_ids", "pixel_values", "image_grid_thw", "position_ids")
                  if f"{prefix}.{name}" in keys}
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].float()
    if "position_ids" not in inputs and "image_grid_thw" in inputs:
        inputs["mm_token_type_ids"] = (inputs["input_ids"] == image_token_id).long()
    return inputs


def compare(what, model, inputs, expected):
    with torch.no_grad():
        logits = model(**inputs).logits.float()
    if logits.shape != expected.shape:
        print(f"FAIL {what}: logits {tuple(logits.shape)}, expected {tuple(expected.shape)}")
        return False
    diff = (logits - expected).abs().max().item()
    tolerance = 1e-5
    ok = diff <= tolerance
    print(f"{'ok' if ok else 'FAIL'} {what}: max |logits - expected| {diff:.3e} (tolerance {tolerance:.3e})")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_dir")
    parser.add_argument("adapter_dir")
    parser.add_argument("inputs")
    parser.add_argument("prefix")
    parser.add_argument("expected")
    parser.add_argument("key")
    parser.add_argument("--merged", metavar="MERGED_DIR")
    args = parser.parse_args()

    from peft import PeftModel

    with safe_open(args.expected, "pt") as f:
        if args.key not in f.keys():
            raise SystemExit(f"FAIL {args.expected}: no tensor {args.key}")
        expected = f.get_tensor(args.key).float()

    base = load_model(args.base_dir)
    inputs = load_inputs(args.inputs, args.prefix, base.config.image_token_id)
    peft_model = PeftModel.from_pretrained(base, args.adapter_dir).eval()
    adapted = [name for name, module in peft_model.named_modules()
               if hasattr(module, "lora_A") and "default" in module.lora_A]
    if not adapted:
        raise SystemExit(f"FAIL {args.adapter_dir}: PEFT adapted no module")
    ok = compare(f"peft {args.adapter_dir} ({len(adapted)} adapted modules) vs {args.key}", peft_model, inputs,
                 expected)
    if args.merged:
        ok = compare(f"merged {args.merged} vs {args.key}", load_model(args.merged), inputs, expected) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
