# visrl's Weights & Biases sidecar (trainer/report/wandb_logger.h). The trainer runs it as
# `python -u -c <this file> <fd>` and writes one JSON object per line to pipe <fd>:
#   {"op": "init", "id", "project", "entity", "name", "group", "tags", "mode", "dir", "config_yaml"}
#   {"op": "scalars", "step", "values": {key: number}}
#   {"op": "histogram", "step", "tag", "values": [numbers]}
#   {"op": "image", "step", "tag", "png_base64"}
#   {"op": "text", "step", "tag", "markdown"}
# It logs each to the W&B run and finishes the run when the pipe closes (the run's end, or
# the trainer's death). A message that fails is reported here and skipped; the run goes on.
# A thread empties the pipe into a bounded queue from the start, so that what the trainer sent
# while wandb.init ran is here, not in the trainer, should the trainer be killed.
import base64
import html
import io
import json
import os
import queue
import sys
import threading
import traceback

QUEUE_LINES = 4096  # then the pipe fills, and the trainer's own bounded queue drops


def read_lines(pipe, lines):
    for raw in io.BufferedReader(pipe):
        lines.put(raw)
    lines.put(None)


def main():
    pipe = os.fdopen(int(sys.argv[1]), "rb", buffering=0)
    os.set_inheritable(pipe.fileno(), False)  # wandb's own service process must not hold it open
    lines = queue.Queue(maxsize=QUEUE_LINES)
    threading.Thread(target=read_lines, args=(pipe, lines), daemon=True).start()
    import wandb  # here, so that a missing package is the log's last line
    import yaml

    run = None
    for raw in iter(lines.get, None):
        try:
            m = json.loads(raw)
            op = m["op"]
            if op == "init":
                run = wandb.init(
                    id=m["id"],
                    resume="allow",
                    project=m["project"],
                    entity=m["entity"] or None,
                    name=m["name"] or None,
                    group=m["group"] or None,
                    tags=m["tags"] or None,
                    mode=None if m["mode"] == "auto" else m["mode"],
                    dir=m["dir"],
                    config=yaml.safe_load(m["config_yaml"]),
                    settings=wandb.Settings(console="off"),
                )
            elif run is None:
                raise RuntimeError(f"{op!r} before init")
            elif op == "scalars":
                run.log(m["values"], step=m["step"])
            elif op == "histogram":
                run.log({m["tag"]: wandb.Histogram(m["values"])}, step=m["step"])
            elif op == "image":
                from PIL import Image

                png = Image.open(io.BytesIO(base64.b64decode(m["png_base64"])))
                run.log({m["tag"]: wandb.Image(png)}, step=m["step"])
            elif op == "text":
                pre = "<pre style='white-space: pre-wrap'>" + html.escape(m["markdown"]) + "</pre>"
                run.log({m["tag"]: wandb.Html(pre)}, step=m["step"])
            else:
                raise RuntimeError(f"unknown op {op!r}")
        except Exception:
            if run is None:
                raise  # no run to log to: end, and let the trainer start another or give up
            print("visrl wandb sidecar: skipped a message:", file=sys.stderr)
            traceback.print_exc()
    if run is not None:
        run.finish()


main()
