"""Writes a visrl data folder's manifests (<dir>/train.jsonl, eval.jsonl + their PNGs) as
Hugging Face datasets Parquet files, <dir>/train.parquet and eval.parquet: the layout of an
image dataset on the Hub (an `image` column with the Image feature, {bytes, path}, the PNG
inside; `code`; `id`), written by datasets.Dataset.to_parquet. No task column: the config names
the task (`chart:<file>`). examples/quickstart/chart2code-parquet.yaml trains from them.

usage (the tools virtualenv of scripts/setup has datasets):
  ~/.cache/visrl/venv/bin/python examples/quickstart/to_hf_parquet.py runs/quickstart-assets/data/chart
"""
import json
import os
import sys

import datasets


def convert(folder, split):
    rows = {"id": [], "image": [], "code": []}
    with open(os.path.join(folder, split + ".jsonl")) as f:
        for line in f:
            item = json.loads(line)
            rows["id"].append(item["id"])
            with open(os.path.join(folder, item["image"]), "rb") as png:
                # The bytes inside: a path-only Image column would point at this machine's files.
                rows["image"].append({"bytes": png.read(), "path": os.path.basename(item["image"])})
            rows["code"].append(item["ground_truth"])
    features = datasets.Features({"id": datasets.Value("string"), "image": datasets.Image(),
                                  "code": datasets.Value("string")})
    ds = datasets.Dataset.from_dict(rows, features=features)
    out = os.path.join(folder, split + ".parquet")
    ds.to_parquet(out)
    print(f"{out}: {len(ds)} rows")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for split in ("train", "eval"):
        convert(sys.argv[1], split)
