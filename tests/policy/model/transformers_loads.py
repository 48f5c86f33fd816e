#!/usr/bin/env python3
"""transformers loads what visrl writes (run by transformers_loads_test.sh with the peers venv).

    transformers_loads.py FIXTURE_DIR resaved:<name>:<dir> ... tiny:<dir> ...

resaved:<name>:<dir>  a save_pretrained of fixture <name> (tied|untied), float32 or bfloat16: loads
                      cleanly, its weights are the fixture's, and in float32 its logits on the
                      fixture's prompts equal the fixture's (transformers' own) within 1e-4.
tiny:<dir>            a build/bin/tiny-model directory: model, tokenizer and processor load, the
                      weights are the file's bit for bit, and a forward with an image runs.
"""
import sys
import pathlib

import torch
from safetensors import safe_open
from transformers import AutoProcessor, AutoTokenizer, Qwen3VLForConditionalGeneration

PROMPTS = ["text", "one_image", "two_images"]


def file_tensors(directory):
    out = {}
    for path in sorted(pathlib.Path(directory).glob("*.safetensors")):
        with safe_open(str(path), "pt") as f:
            for key in f.keys():
                out[key] = f.get_tensor(key)
    return out


def load(directory):
    model, info = Qwen3VLForConditionalGeneration.from_pretrained(directory, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    assert not bad, f"{directory}: loading problems {bad}"
    return model.eval()


def check_weights_are(model, expected, directory):
    state = model.state_dict()
    for key, tensor in expected.items():
        assert key in state, f"{directory}: {key} not in the transformers model"
        got = state[key]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape, f"{directory}: {key} {got.dtype} {got.shape}"
        assert torch.equal(got, tensor), f"{directory}: {key} differs from the file"


def inputs_of(fixture, prompt):
    inputs = {"input_ids": fixture[f"{prompt}.input_ids"], "position_ids": fixture[f"{prompt}.position_ids"]}
    if f"{prompt}.pixel_values" in fixture:
        inputs["pixel_values"] = fixture[f"{prompt}.pixel_values"]
        inputs["image_grid_thw"] = fixture[f"{prompt}.image_grid_thw"]
    return inputs


def check_resaved(fixture_dir, name, directory):
    model = load(directory)
    original = file_tensors(fixture_dir / name)
    dtype = next(iter(file_tensors(directory).values())).dtype
    assert model.dtype == dtype, f"{directory}: transformers loaded {model.dtype}, the files hold {dtype}"
    check_weights_are(model, {k: v.to(dtype) for k, v in original.items()}, directory)
    if dtype != torch.float32:
        print(f"ok {directory}: {dtype} weights are the fixture's rounded")
        return
    fixture = file_tensors_of_file(fixture_dir / f"{name}.safetensors")
    for prompt in PROMPTS:
        with torch.no_grad():
            logits = model(**inputs_of(fixture, prompt)).logits
        diff = (logits - fixture[f"{prompt}.logits"]).abs().max().item()
        assert diff <= 1e-4, f"{directory}: {prompt} logits differ from the fixture's by {diff}"
        print(f"ok {directory}: {prompt} max |diff| {diff:.2e}")


def file_tensors_of_file(path):
    with safe_open(str(path), "pt") as f:
        return {key: f.get_tensor(key) for key in f.keys()}


def check_tiny(fixture_dir, directory):
    model = load(directory)
    check_weights_are(model, file_tensors(directory), directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == model.config.image_token_id
    processor = AutoProcessor.from_pretrained(directory)
    from PIL import Image
    image = Image.open(fixture_dir / "images" / "a.png").convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Reproduce this chart."}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    assert torch.isfinite(logits.float()).all(), f"{directory}: non-finite logits"
    assert logits.shape[-1] == model.config.text_config.vocab_size
    grid = inputs["image_grid_thw"].tolist()
    with torch.no_grad():
        generated = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    print(f"ok {directory}: {model.dtype}, image grid {grid}, logits {tuple(logits.shape)}, "
          f"generated {generated.shape[1] - inputs['input_ids'].shape[1]} tokens")


def main():
    fixture_dir = pathlib.Path(sys.argv[1])
    for spec in sys.argv[2:]:
        kind, _, rest = spec.partition(":")
        if kind == "resaved":
            name, _, directory = rest.partition(":")
            check_resaved(fixture_dir, name, directory)
        elif kind == "tiny":
            check_tiny(fixture_dir, rest)
        else:
            raise SystemExit(f"unknown check {spec}")


if __name__ == "__main__":
    main()
