#!/usr/bin/env python3
"""Reads a run's offline Weights & Biases data back with wandb's own reader (the datastore of
wandb.sdk.internal, which `wandb sync` uploads from) and checks it against the run:

  - every <run_dir>/wandb/offline-run-*/run-<id>.wandb belongs to the run id kept in
    <run_dir>/wandb/visrl-run-id, with the run's name, project, group, tags and config;
  - every number of a metrics.jsonl line is in the history at its step with its value, exactly
    (a step logged by several attempts, a resume or a restarted sidecar, has the same values
    but for its timings);
  - the steps given with --steps have all of their scalars and histograms of rewards,
    advantages and response lengths; those that are multiples of --images-every have rollout
    images whose files decode (PIL) and texts.

  check_wandb.py RUN_DIR --steps 1,2,3 [--images-every K] [--project P --group G --tags a,b]

Run with the tools virtualenv (wandb pinned in scripts/requirements-tools.txt). Prints what it
checked; exits 1 with the problems otherwise.
"""
import argparse
import json
import pathlib
import sys

from PIL import Image
from wandb.proto import wandb_internal_pb2
from wandb.sdk.internal import datastore


def records(path):
    store = datastore.DataStore()
    store.open_for_scan(str(path))
    while True:
        data = store.scan_data()
        if data is None:
            return
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        yield record


def wall_clock(key):
    """Metrics that time a step: two attempts at the same step differ in them."""
    return key.startswith("time_") or key == "tokens_per_s"


def item_key(item):
    return item.key or "/".join(item.nested_key)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=pathlib.Path)
    parser.add_argument("--steps", required=True)
    parser.add_argument("--images-every", type=int, default=0)
    parser.add_argument("--project", default="visrl")
    parser.add_argument("--group", default="")
    parser.add_argument("--tags", default="")
    args = parser.parse_args()
    problems = []
    run_id = (args.run_dir / "wandb/visrl-run-id").read_text().strip()
    files = sorted(args.run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    if not files:
        sys.exit(f"no offline run under {args.run_dir / 'wandb'}")

    history = {}  # step -> {key: value}, the attempts merged
    media = {}  # step -> {key: file}
    for path in files:
        for record in records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                run = record.run
                config = {item.key: json.loads(item.value_json) for item in run.config.update}
                expected = {"run_id": run_id, "project": args.project, "display_name": args.run_dir.name,
                            "run_group": args.group}
                for field, want in expected.items():
                    if getattr(run, field) != want:
                        problems.append(f"{path}: run {field} {getattr(run, field)!r}, expected {want!r}")
                if list(run.tags) != [t for t in args.tags.split(",") if t]:
                    problems.append(f"{path}: tags {list(run.tags)}, expected {args.tags}")
                if "wandb" not in config.get("logging", {}).get("backends", []):
                    problems.append(f"{path}: the config's logging.backends lacks wandb: {config.get('logging')}")
            elif kind == "history":
                values = {item_key(i): json.loads(i.value_json) for i in record.history.item}
                step = int(values["_step"])
                row = history.setdefault(step, {})
                for key, value in values.items():
                    if key.startswith("_"):
                        continue
                    if key in row and row[key] != value and not wall_clock(key) and not key.endswith("/path"):
                        problems.append(f"step {step}: {key} = {value} in {path.parent.name}, {row[key]} before")
                    row[key] = value
                    if key.endswith("/path"):
                        media.setdefault(step, {})[key[:-len("/path")]] = path.parent / "files" / value

    lines = [json.loads(l) for l in (args.run_dir / "metrics.jsonl").read_text().splitlines() if l.strip()]
    required = {int(s) for s in args.steps.split(",") if s}
    scalars = 0
    for line in lines:
        step = line["step"]
        row = history.get(step)
        if row is None:
            if step in required:
                problems.append(f"step {step}: not in the W&B history")
            continue
        for key, value in line.items():
            if key == "step" or isinstance(value, str) or value is None:
                continue
            want = float(value) if not isinstance(value, bool) else float(value)
            got = row.get(key)
            if got is None:
                if step in required:
                    problems.append(f"step {step}: scalar {key} missing")
                continue
            if float(got) != want:
                problems.append(f"step {step}: {key} = {got}, metrics.jsonl has {value}")
            scalars += 1
    images = 0
    for step in sorted(required):
        row = history.get(step, {})
        for tag in ("rewards", "advantages", "response_lengths"):
            if row.get(f"{tag}/_type") != "histogram" or not sum(row.get(f"{tag}/values", [])):
                problems.append(f"step {step}: no histogram {tag}")
        if args.images_every and step % args.images_every == 0:
            if row.get("rollouts/0/image/_type") != "image-file":
                problems.append(f"step {step}: no rollout image")
            if row.get("rollouts/0/answer/_type") != "html-file":
                problems.append(f"step {step}: no rollout text ({row.get('rollouts/0/answer/_type')})")
            for key, file in media.get(step, {}).items():
                if key.endswith("/image"):
                    with Image.open(file) as image:
                        image.load()
                        if image.size != (row[f"{key}/width"], row[f"{key}/height"]):
                            problems.append(f"{file}: {image.size}, history says {row[key + '/width']}")
                    images += 1
    print(f"{len(files)} offline run file(s) of run {run_id}; {len(history)} steps; {scalars} scalars equal to "
          f"metrics.jsonl; {images} images decoded")
    if problems:
        print("\n".join(problems[:40]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
