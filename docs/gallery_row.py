#!/usr/bin/python3
"""Draws one held-out chart of a quickstart run as reference | before GRPO | after GRPO, the
README's gallery row (docs/quickstart_gallery.png):

    /usr/bin/python3 docs/gallery_row.py runs/quickstart-<time> chart-eval-000066 docs/quickstart_gallery.png

Reads the greedy answers of the first and the last validation (<run>/validation/), renders the
ground truth and both answers with build/bin/render (the sandbox), and puts them side by side
with matplotlib, each answer with its reward. An answer that does not render shows as such.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def validation_steps(run):
    steps = sorted((run / "validation").glob("step_*.jsonl"), key=lambda p: int(p.stem.split("_")[1]))
    if len(steps) < 2:
        sys.exit(f"{run}/validation: need a first and a last validation, found {len(steps)}")
    return steps[0], steps[-1]


def item(path, item_id):
    for line in open(path):
        row = json.loads(line)
        if row["prompt_id"] == item_id or row["id"] == item_id:
            return row
    sys.exit(f"{path}: no item {item_id}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    run, item_id, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    first, last = validation_steps(run)
    before, after = item(first, item_id), item(last, item_id)
    step = lambda path: path.stem.split("_")[1]  # noqa: E731
    panels = [
        ("reference", before["ground_truth"], None),
        (f"before GRPO (step {step(first)})", before.get("answer_code") or "", before),
        (f"after GRPO (step {step(last)})", after.get("answer_code") or "", after),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "batch.jsonl", "w") as f:
            for i, (_, code, _) in enumerate(panels):
                f.write(json.dumps({"id": f"p{i}", "kind": "chart", "text": "```python\n" + code + "\n```"}) + "\n")
        subprocess.run(["build/bin/render", "--batch", str(tmp / "batch.jsonl"), "--out-dir", str(tmp / "png")],
                       check=True, stdout=subprocess.DEVNULL)
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), dpi=100)
        for i, (ax, (title, _, row)) in enumerate(zip(axes, panels)):
            png = tmp / "png" / f"p{i}.png"
            if png.exists():
                ax.imshow(mpimg.imread(png))
            else:
                ax.text(0.5, 0.5, "does not render", ha="center", va="center", fontsize=14)
            ax.set_xticks([])
            ax.set_yticks([])
            label = title if row is None else f"{title}\nreward {row['reward']:.2f}"
            ax.set_title(label, fontsize=12)
        fig.tight_layout()
        fig.savefig(out, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
