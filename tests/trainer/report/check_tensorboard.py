#!/usr/bin/env python3
"""Reads a run's TensorBoard event files back with TensorBoard's own EventAccumulator and checks
them against the run: every number of every metrics.jsonl line is a scalar at its step, with its
value as float32, once; histograms of rewards, advantages and response lengths at every step;
the images decode (PNG, zlib-inflated to height x (1 + width x 3) bytes) and come with their
texts; the config is a text at step 0.

  check_tensorboard.py RUN_DIR [--images-every K] [--serve-from DIR]

With --serve-from, README.md's command `tensorboard --logdir runs/` runs in DIR (the tools
virtualenv's tensorboard, on its default port 6006) until its HTTP API lists RUN_DIR's run and
its scalars; then it is stopped.

Run with the tools virtualenv (tensorboard pinned in scripts/requirements-tools.txt). Prints
what it checked; exits 1 with the problems otherwise.
"""
import argparse
import json
import math
import os
import pathlib
import struct
import subprocess
import sys
import time
import urllib.request
import zlib

import numpy as np
from tensorboard.backend.event_processing import plugin_event_accumulator
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def png_pixels(data):
    """(width, height) of a PNG after inflating its image data: a real decode of the stream."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width, height = 8, b"", None, None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            channels = {2: 3, 6: 4, 0: 1}[color]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    if len(raw) != height * (1 + width * channels * depth // 8):
        raise ValueError(f"{len(raw)} bytes of pixels for {width}x{height}")
    return width, height


def serve(directory, run_name):
    """README.md's `tensorboard --logdir runs/` in `directory`: the run and its scalars are served."""
    tensorboard = pathlib.Path(sys.executable).parent / "tensorboard"
    command = ["tensorboard", "--logdir", "runs/"]  # as README.md prints it
    server = subprocess.Popen([str(tensorboard)] + command[1:], cwd=directory, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=dict(os.environ, PATH=f"{tensorboard.parent}:{os.environ['PATH']}"))
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            if server.poll() is not None:
                return [f"`{' '.join(command)}` exited {server.returncode}: {server.stdout.read().decode()[-800:]}"]
            try:
                tags = json.load(urllib.request.urlopen("http://localhost:6006/data/plugin/scalars/tags", timeout=5))
                if "reward_mean" in tags.get(run_name, {}):
                    print(f"`{' '.join(command)}` serves {sorted(tags)} with {len(tags[run_name])} scalar tags")
                    return []
            except OSError:
                pass
            time.sleep(0.5)
        return [f"`{' '.join(command)}` did not serve {run_name}'s scalars within 90 s"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--images-every", type=int, default=0)
    parser.add_argument("--serve-from")
    args = parser.parse_args()
    run = pathlib.Path(args.run_dir)
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0, "images": 0,
                                                                     "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    # The texts as TensorBoard's server reads them (its accumulator purges restarted tensors).
    served = plugin_event_accumulator.EventAccumulator(str(run / "tensorboard"), size_guidance={"tensors": 0})
    served.Reload()
    served_tensors = served.Tags()["tensors"]
    problems = []
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    scalars = 0
    for line in lines:
        step = line["step"]
        for key, value in line.items():
            if key == "step" or not isinstance(value, (int, float)):  # strings, NaN (null), objects
                continue
            value = float(value)
            if key not in tags["scalars"]:
                problems.append(f"no scalar {key}")
                continue
            events = [e for e in acc.Scalars(key) if e.step == step]
            if len(events) != 1:
                problems.append(f"{key} at step {step}: {len(events)} events")
                continue
            if events[0].value != np.float32(value) and not (math.isnan(value) and math.isnan(events[0].value)):
                problems.append(f"{key} at step {step}: {events[0].value} vs {value}")
            scalars += 1
    steps = [l["step"] for l in lines]
    for key in tags["scalars"]:
        logged = [e.step for e in acc.Scalars(key)]
        if len(logged) != len(set(logged)):
            problems.append(f"{key}: duplicate steps {logged}")
        if sorted(logged) != logged:
            problems.append(f"{key}: steps out of order {logged}")
    trained = [l["step"] for l in lines if "skipped" not in l]
    for tag in ("rewards", "advantages", "response_lengths"):
        if tag not in tags["histograms"]:
            problems.append(f"no histogram {tag}")
            continue
        logged = [e.step for e in acc.Histograms(tag)]
        if logged != trained:
            problems.append(f"histogram {tag} at steps {logged}, expected {trained}")
        for e in acc.Histograms(tag):
            if e.histogram_value.num <= 0:
                problems.append(f"histogram {tag} at step {e.step} is empty")
    images = 0
    if args.images_every:
        image_tags = [t for t in tags["images"] if t.startswith("rollouts/") and t.endswith("/image")]
        if not image_tags:
            problems.append("no rollout images")
        for tag in image_tags:
            for e in acc.Images(tag):
                if e.step % args.images_every:
                    problems.append(f"image {tag} at step {e.step}")
                width, height = png_pixels(e.encoded_image_string)
                if (width, height) != (e.width, e.height):
                    problems.append(f"image {tag}: {width}x{height} vs {e.width}x{e.height}")
                images += 1
            text_tag = tag.replace("/image", "/answer")
            texts = served.Tensors(text_tag) if text_tag in served_tensors else []
            if [t.step for t in texts] != [e.step for e in acc.Images(tag)]:
                problems.append(f"texts {text_tag} at other steps than the images {tag}")
            for t in texts:
                text = t.tensor_proto.string_val[0].decode()
                if "```" not in text or "reward" not in text:
                    problems.append(f"text {tag} at step {t.step}: {text[:80]!r}")
    config = served.Tensors("config") if "config" in served_tensors else []
    if len(config) != 1 or config[0].step != 0 or b"rollout:" not in config[0].tensor_proto.string_val[0]:
        problems.append("the config is not a text at step 0")
    if args.serve_from:
        # TensorBoard names a run by its event files' directory under --logdir: "<run>/tensorboard".
        name = (run / "tensorboard").resolve().relative_to(pathlib.Path(args.serve_from, "runs").resolve())
        problems += serve(args.serve_from, str(name))
    print(f"check_tensorboard: {len(lines)} steps ({steps[0] if steps else '-'}..{steps[-1] if steps else '-'}), "
          f"{scalars} scalars, {len(tags['histograms'])} histogram tags, {images} images, "
          f"{len(list(run.glob('tensorboard/events.out.tfevents.*')))} event files")
    for p in problems[:30]:
        print("  problem:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
