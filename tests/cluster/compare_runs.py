#!/usr/bin/env python3
"""Compares two visrl run directories: the tensors of final/*.safetensors and the metrics of
every step (metrics.jsonl without the wall-clock keys). With --atol 0 (the default) both must
be bitwise equal; else every tensor element and numeric metric within atol.

  compare_runs.py RUN_A RUN_B [--atol 1e-5] [--weights-only]

Prints the largest difference; exits 1 when the runs differ. Reads safetensors with numpy only
(run it with Debian's /usr/bin/python3).
"""
import argparse
import json
import pathlib
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "BF16": np.uint16}


def tensors(path):
    out = {}
    for file in sorted(pathlib.Path(path).glob("*.safetensors")):
        data = file.read_bytes()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        body = data[8 + n:]
        for name, info in header.items():
            if name == "__metadata__":
                continue
            lo, hi = info["data_offsets"]
            array = np.frombuffer(body[lo:hi], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
            if info["dtype"] == "BF16":
                array = (array.astype(np.uint32) << 16).view(np.float32)
            out[name] = array.astype(np.float64)
    return out


def metrics(path):
    lines = [json.loads(l) for l in pathlib.Path(path).read_text().splitlines() if l.strip()]
    return [{k: v for k, v in m.items() if not k.startswith("time_") and k != "tokens_per_s"} for m in lines]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--atol", type=float, default=0.0)
    parser.add_argument("--weights-only", action="store_true", help="the final weights, not the metrics")
    args = parser.parse_args()
    a, b = pathlib.Path(args.a), pathlib.Path(args.b)
    problems = []
    ta, tb = tensors(a / "final"), tensors(b / "final")
    if not ta:
        problems.append(f"{a}/final holds no safetensors")
    if set(ta) != set(tb):
        problems.append(f"tensor names differ: {sorted(set(ta) ^ set(tb))[:5]}")
    worst = 0.0
    for name in sorted(set(ta) & set(tb)):
        if ta[name].shape != tb[name].shape:
            problems.append(f"{name}: shape {ta[name].shape} vs {tb[name].shape}")
            continue
        worst = max(worst, float(np.max(np.abs(ta[name] - tb[name]), initial=0.0)))
    if worst > args.atol:
        problems.append(f"final weights differ by up to {worst:.3g} (atol {args.atol:g})")
    ma, mb = ([], []) if args.weights_only else (metrics(a / "metrics.jsonl"), metrics(b / "metrics.jsonl"))
    if len(ma) != len(mb):
        problems.append(f"{len(ma)} metric lines vs {len(mb)}")
    worst_metric = 0.0
    for i, (x, y) in enumerate(zip(ma, mb)):
        if set(x) != set(y):
            problems.append(f"step {i + 1}: metric keys differ: {sorted(set(x) ^ set(y))}")
            continue
        for k in x:
            if isinstance(x[k], (int, float)) and isinstance(y[k], (int, float)) and args.atol > 0:
                worst_metric = max(worst_metric, abs(x[k] - y[k]))
                if abs(x[k] - y[k]) > args.atol:
                    problems.append(f"step {i + 1}: {k} {x[k]} vs {y[k]}")
            elif x[k] != y[k]:
                problems.append(f"step {i + 1}: {k} {x[k]} vs {y[k]}")
    print(f"compare_runs: {len(ta)} tensors, max |diff| {worst:.3g}; {len(ma)} metric lines, "
          f"max |diff| {worst_metric:.3g}")
    for p in problems[:20]:
        print("  differs:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
