"""Reads a Parquet file of `datagen --format parquet` with pyarrow and with Hugging Face datasets,
checks that both see the same rows, and prints one JSON line per row: the fields visrl takes
(id, task, ground truth, prompt text) as verl's layout holds them, and the image bytes written
to OUT_DIR/<id>.png. Used by tests/trainer/datagen/datagen_test.cpp.

usage: read_parquet.py FILE OUT_DIR
"""
import json
import os
import sys

import datasets
import pyarrow.parquet as pq

path, out_dir = sys.argv[1], sys.argv[2]
table = pq.read_table(path).to_pylist()
hf = datasets.Dataset.from_parquet(path, cache_dir=os.path.join(out_dir, "hf-cache"))
assert len(hf) == len(table), (len(hf), len(table))
for a, b in zip(table, hf):
    assert a["reward_model"] == b["reward_model"], (a["reward_model"], b["reward_model"])
    assert a["extra_info"] == b["extra_info"]
    assert a["images"][0]["bytes"] == b["images"][0]["bytes"]
    assert a["prompt"] == b["prompt"] and a["ability"] == b["ability"] and a["data_source"] == b["data_source"]
for row in table:
    (image,) = row["images"]
    item_id = row["extra_info"]["id"]
    with open(os.path.join(out_dir, item_id + ".png"), "wb") as f:
        f.write(image["bytes"])
    (message,) = row["prompt"]
    print(json.dumps({
        "id": item_id,
        "task": row["ability"],
        "ground_truth": row["reward_model"]["ground_truth"],
        "prompt": message["content"].replace("<image>", "").strip(),
        "role": message["role"],
        "data_source": row["data_source"],
        "image_path": image["path"],
    }))
