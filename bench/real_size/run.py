#!/usr/bin/env python3
"""The real-size check: visrl and transformers side by side on a Qwen3-VL with the published
shapes (random weights), on the CPU.

    python3 bench/real_size/run.py [--size 2b|8b|tiny] [--quick] [--threads 2]

1. Makes sure of the peers virtualenv (runs scripts/setup --peers when it is missing) and
   re-runs itself with its Python; builds build/bin/real_size_main (--no-build skips this).
2. Builds the model once and caches it in ~/.cache/visrl/real_size/<size>/model (VISRL_CACHE
   moves the cache): bench/real_size/peer.py build, transformers' save_pretrained of random
   bf16 weights, the real Qwen tokenizer (<source>/../shared/fixtures/qwen-tokenizer, or
   VISRL_QWEN_TOKENIZER_DIR), Qwen3-VL's chat template and image processor.
3. Runs every measurement in a fresh process on each side (build/bin/real_size_main --mode M,
   peer.py hf --mode M), so that each process's peak RSS (VmHWM, /proc/self/status; ru_maxrss would carry the
   driver's peak over fork + exec) is that measurement's:
     read bandwidth   the best of 5 sums of a 2 GiB float32 array (visrl's process, --threads)
     load             load time and peak RSS, float32 and bfloat16
     logits           one forward over the prompt (chat template + image processor, a real chart):
                      float32 max |visrl - transformers|; bf16: each side's max |bf16 - transformers
                      float32|, visrl's must stay within 1.5x transformers' own + 1e-3 (as the tiny
                      fixtures' test Bfloat16DriftsNoMoreThanTransformers)
     greedy           --greedy-tokens greedy tokens in float32 (no eos): must be identical
     generate         G = --n samples of --max-new-tokens sampled tokens (temperature 1, no eos),
                      bf16 and float32: tokens/s, decode tokens/s, and decode as a share of the
                      weight-read limit = G / (bytes of weights read per decode step / bandwidth)
     logprobs         teacher-forced log-probs of --rows rows of prompt + a --response-tokens
                      answer: visrl's forward_logprobs vs transformers' forward + log_softmax
4. Prints a table and writes bench/results/real_size.json (--size 8b: real_size_8b.json; tiny:
   the cache directory) with rows {"name", "visrl", "transformers", "unit", "better", "ratio",
   "note"}; ratio = how many times better visrl is (visrl / transformers for rates, transformers
   / visrl for times, bytes and drifts).

--size 8b runs bfloat16 only (float32 8B weights are 35 GB) and skips a step when the memory
available is short of what it needs. Run it on a quiet machine: two threads per side on a
2-core machine shared with other work measure the other work too.
"""
import argparse
import datetime
import json
import os
import platform
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = Path(os.environ.get("VISRL_CACHE", Path.home() / ".cache/visrl"))
PEERS_PYTHON = CACHE / "venv-peers/bin/python"
DEFAULT_IMAGE = ROOT / "tests/fixtures/pixel_critic/line_chart.png"
DEFAULT_PROMPT = ("Write Python matplotlib code that reproduces this chart exactly: the same chart type, "
                  "data, colors, axis labels, ticks, legend and title.")
GiB = 1 << 30
T0 = time.time()


def say(msg):
    print(f"[real_size {time.time() - T0:5.0f}s] {msg}", flush=True)


def ensure_peers_python():
    """Re-executes this script with the peers virtualenv's Python (made by scripts/setup --peers)."""
    if Path(sys.prefix).resolve() == PEERS_PYTHON.parent.parent.resolve():
        return
    if not PEERS_PYTHON.exists():
        say(f"{PEERS_PYTHON} missing: running scripts/setup --peers")
        subprocess.run([str(ROOT / "scripts/setup"), "--peers"], check=True, cwd=ROOT)
    os.execv(str(PEERS_PYTHON), [str(PEERS_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def tokenizer_dir() -> Path:
    if os.environ.get("VISRL_QWEN_TOKENIZER_DIR"):
        return Path(os.environ["VISRL_QWEN_TOKENIZER_DIR"])
    return ROOT.parent / "shared/fixtures/qwen-tokenizer"


def mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def safetensors_shapes(model_dir: Path):
    """{name: (dtype, shape)} from the checkpoint's safetensors headers."""
    out = {}
    for f in sorted(model_dir.glob("*.safetensors")):
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, meta in header.items():
            if name != "__metadata__":
                out[name] = (meta["dtype"], meta["shape"])
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def decode_weight_params(shapes) -> int:
    """Parameters read per decode step: the text decoder's layers and final norm, and the LM
    head (the embedding when tied). The vision tower does not run, and the embedding lookup reads
    G rows only."""
    total = sum(numel(s) for name, (_, s) in shapes.items()
                if name.startswith("model.language_model.") and "embed_tokens" not in name)
    head = shapes.get("lm_head.weight") or shapes["model.language_model.embed_tokens.weight"]
    return total + numel(head[1])


def ensure_model(size: str, rebuild: bool) -> Path:
    sys.path.insert(0, str(HERE))
    import peer

    base = CACHE / "real_size" / size
    model = base / "model"
    stamp = base / "spec.json"
    want = peer.spec_stamp(size)
    if not rebuild and model.is_dir() and stamp.exists() and stamp.read_text() == want:
        say(f"model: {model} (cached)")
        return model
    tok = tokenizer_dir()
    if not (tok / "tokenizer.json").exists():
        sys.exit(f"{tok}/tokenizer.json not found: the real Qwen tokenizer is expected at <source>/../shared/fixtures/"
                 "qwen-tokenizer (or set VISRL_QWEN_TOKENIZER_DIR)")
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / "model.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(model, ignore_errors=True)
    say(f"building the {size} model (random bf16 weights, transformers save_pretrained) in {model}")
    t0 = time.time()
    subprocess.run([str(PEERS_PYTHON), str(HERE / "peer.py"), "build", "--size", size, "--out", str(tmp),
                    "--tokenizer", str(tok)], check=True, env=child_env(2))
    tmp.rename(model)
    stamp.write_text(want)
    say(f"model built in {time.time() - t0:.0f} s")
    return model


def child_env(threads: int):
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false",
               TRANSFORMERS_VERBOSITY="error", HF_HUB_OFFLINE="1", TRANSFORMERS_NO_ADVISORY_WARNINGS="1")
    return env


class Runner:
    def __init__(self, args, exe: Path, model: Path, work: Path):
        self.args, self.exe, self.model, self.work = args, exe, model, work
        self.raw = {}
        self.failed = []

    def run(self, side: str, mode: str, dtype: str = "float32", need_bytes: int = 0, **extra):
        key = f"{mode}.{dtype}.{side}"
        if need_bytes and mem_available() < need_bytes:
            msg = f"skipped: needs ~{need_bytes / GiB:.1f} GiB, {mem_available() / GiB:.1f} GiB available"
            say(f"{key}: {msg}")
            self.raw[key] = {"skipped": msg}
            return None
        a = self.args
        common = ["--mode", mode, "--threads", str(a.threads)]
        if mode != "bandwidth":
            common += ["--model", str(self.model), "--dtype", dtype, "--image", str(a.image), "--prompt", a.prompt]
        for k, v in extra.items():
            common += [f"--{k.replace('_', '-')}", str(v)]
        cmd = [str(self.exe), *common] if side == "visrl" else [str(PEERS_PYTHON), str(HERE / "peer.py"), "hf",
                                                                  *common]
        t0 = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(a.threads))
        if proc.returncode != 0:
            say(f"{key}: FAILED (exit {proc.returncode})\n{proc.stderr[-3000:]}")
            self.failed.append(key)
            self.raw[key] = {"failed": proc.stderr[-2000:]}
            return None
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out["process_seconds"] = time.time() - t0
        self.raw[key] = {k: v for k, v in out.items() if k not in ("prompt_ids", "token_ids")}
        if "token_ids" in out:
            self.raw[key]["token_ids"] = out["token_ids"]
        brief = {k: out[k] for k in ("load_seconds", "forward_seconds", "seconds", "tokens_per_s", "max_rss_bytes")
                 if k in out}
        say(f"{key}: " + ", ".join(f"{k}={v / GiB:.2f}GiB" if k.endswith("bytes") else f"{k}={v:.3g}"
                                   for k, v in brief.items()) + f" ({out['process_seconds']:.0f} s)")
        return out


def row(name, visrl, hf, unit, better, note=""):
    ratio = None
    if visrl is not None and hf is not None and visrl > 0 and hf > 0:
        ratio = visrl / hf if better == "higher" else hf / visrl
    return {"name": name, "visrl": visrl, "transformers": hf, "unit": unit, "better": better, "ratio": ratio,
            "note": note}


def get(d, k):
    return None if d is None else d.get(k)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2b", choices=["2b", "8b", "tiny"])
    ap.add_argument("--quick", action="store_true", help="fewer tokens: 8 greedy / new tokens, 1 logprob row")
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory (bin/real_size_main)")
    ap.add_argument("--no-build", action="store_true", help="do not run cmake --build first")
    ap.add_argument("--rebuild-model", action="store_true", help="rebuild the cached model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=8, help="generate: group size G")
    ap.add_argument("--max-new-tokens", type=int, default=32, help="generate: new tokens per sample")
    ap.add_argument("--greedy-tokens", type=int, default=16)
    ap.add_argument("--rows", type=int, default=2, help="logprobs: rows of prompt + answer")
    ap.add_argument("--response-tokens", type=int, default=32, help="logprobs: answer length")
    ap.add_argument("--image", default=str(DEFAULT_IMAGE))
    ap.add_argument("--prompt", default=DEFAULT_PROMPT)
    ap.add_argument("--only", default="load,logits,greedy,generate,logprobs",
                    help="comma-separated steps to run (default all)")
    ap.add_argument("--dtypes", help="comma-separated subset of float32,bfloat16 (default both; 8b: bfloat16)")
    ap.add_argument("--logprobs-dtypes", default="float32",
                    help="dtypes of the logprobs step (bf16 matmuls are slow on CPUs without native bf16)")
    ap.add_argument("--json", help="where to write the results (default bench/results/real_size[_SIZE].json)")
    args = ap.parse_args()
    if args.quick:
        args.max_new_tokens = min(args.max_new_tokens, 8)
        args.greedy_tokens = min(args.greedy_tokens, 8)
        args.rows, args.response_tokens = 1, min(args.response_tokens, 16)
    ensure_peers_python()
    import numpy as np

    load_before = os.getloadavg()
    exe = Path(args.build) / "bin/real_size_main"
    if not args.no_build:
        if not (Path(args.build) / "CMakeCache.txt").exists():
            sys.exit(f"{args.build} is not a configured build directory: run ./scripts/test (or cmake -S . -B build)")
        say("building real_size_main")
        subprocess.run(["cmake", "--build", args.build, "--target", "real_size_main"], check=True, cwd=ROOT)
    if not exe.exists():
        sys.exit(f"{exe} not found: build the real_size_main target")
    if load_before[0] > 0.5:
        say(f"WARNING: load average {load_before[0]:.2f}: the machine is not quiet, timings will be low")

    model = ensure_model(args.size, args.rebuild_model)
    shapes = safetensors_shapes(model)
    n_params = sum(numel(s) for _, s in shapes.values())
    if args.size == "2b" or args.size == "tiny":
        dtypes = ["float32", "bfloat16"]
    else:
        dtypes = ["bfloat16"]  # float32 8B weights alone are 35 GB
    if args.dtypes:
        dtypes = [d for d in dtypes if d in args.dtypes.split(",")]
    param_bytes = {"float32": 4 * n_params, "bfloat16": 2 * n_params}
    # What a step needs, roughly: the weights in the run's dtype, a margin for activations and
    # logits, and the process (Python + torch on the transformers side).
    need = {d: int(1.15 * param_bytes[d]) + 3 * GiB for d in dtypes}

    work = Path(tempfile.mkdtemp(prefix="real_size_", dir=CACHE / "real_size"))
    r = Runner(args, exe, model, work)
    rows = []
    steps = set(args.only.split(","))
    out_path = Path(args.json) if args.json else (
        ROOT / "bench/results" / ("real_size.json" if args.size == "2b" else f"real_size_{args.size}.json")
        if args.size != "tiny" else CACHE / "real_size/tiny/real_size.json")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    state = {"bandwidth": None, "complete": False}

    def save():
        """Writes the results so far (after every step: a long run that is stopped keeps them)."""
        for x in rows:
            if x["better"] == "n/a" or x["unit"] == "bool":
                x["ratio"] = None
        result = {
            "generated": datetime.datetime.now().isoformat(timespec="seconds"),
            "commit": commit.strip(),
            "complete": state["complete"],
            "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "memory_bytes": mem_total(),
                        "python": platform.python_version(), "load_average_at_start": load_before[0],
                        "read_bandwidth_bytes_per_s": state["bandwidth"]},
            "size": args.size,
            "parameters": n_params,
            "decode_weight_parameters": decode_weight_params(shapes),
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                         if k not in ("build", "json", "no_build", "rebuild_model")},
            "transformers": __import__("transformers").__version__,
            "torch": __import__("torch").__version__,
            "seconds": time.time() - T0,
            "rows": rows,
            "failed": r.failed,
            "raw": r.raw,
        }
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=2) + "\n")

    def load_npy(path):
        return None if path is None else np.load(path, mmap_mode="r")

    def logits_step(d, ref_path):
        """One forward per side; returns the path of transformers' logits (kept as the float32 reference)."""
        paths, ids, out = {}, {}, {}
        for side in ("visrl", "hf"):
            path = work / f"logits_{side}_{d}.npy"
            o = r.run(side, "logits", d, need[d] + 2 * GiB, out=path)
            if o is not None:
                paths[side], ids[side], out[side] = path, o["prompt_ids"], o
        any_out = out.get("visrl") or out.get("hf")
        note = f"{any_out['prompt_tokens']} tokens, {any_out['image_tokens']} image tokens" if any_out else ""
        if len(ids) == 2:
            same = ids["visrl"] == ids["hf"]
            rows.append(row(f"prompt ids identical ({d})", float(same), 1.0, "bool", "higher", note))
            if not same:
                say("WARNING: the two sides' prompt ids differ")
        rows.append(row(f"logits forward, {d}", get(out.get("visrl"), "forward_seconds"),
                        get(out.get("hf"), "forward_seconds"), "s", "lower", f"one prompt: {note}"))
        rows.append(row(f"peak RSS, logits {d}", get(out.get("visrl"), "max_rss_bytes"),
                        get(out.get("hf"), "max_rss_bytes"), "bytes", "lower"))
        vis, hf = load_npy(paths.get("visrl")), load_npy(paths.get("hf"))
        ref = load_npy(ref_path)
        if d == "float32" and vis is not None and hf is not None:
            diff = float(np.abs(vis - hf).max())
            agree = float((vis.argmax(-1) == hf.argmax(-1)).mean())
            rows.append(row("float32 logits max |visrl - transformers|", diff, None, "abs", "lower",
                            f"logits std {float(hf.std()):.3f}; argmax agrees at {agree:.1%} of positions"))
        elif ref is not None and vis is not None and hf is not None:
            ours, theirs = float(np.abs(vis - ref).max()), float(np.abs(hf - ref).max())
            ok = ours <= 1.5 * theirs + 1e-3
            rows.append(row(f"{d} logits max |{d} - transformers float32|", ours, theirs, "abs", "lower",
                            f"visrl within 1.5x transformers' own drift + 1e-3: {'yes' if ok else 'NO'}"))
        elif vis is not None and hf is not None:
            rows.append(row(f"{d} logits max |visrl - transformers| (both {d})", float(np.abs(vis - hf).max()),
                            None, "abs", "lower", f"logits std {float(hf.std()):.3f}; no float32 reference "
                            "(the float32 weights do not fit)"))
        del vis, hf, ref
        if paths.get("visrl"):
            paths["visrl"].unlink(missing_ok=True)
        if d != "float32" and paths.get("hf"):
            paths["hf"].unlink(missing_ok=True)
        return paths.get("hf") if d == "float32" else None

    def greedy_step(d):
        v = r.run("visrl", "greedy", d, need[d], max_new_tokens=args.greedy_tokens)
        h = r.run("hf", "greedy", d, need[d], max_new_tokens=args.greedy_tokens)
        if v is not None and h is not None:
            a, b = v["token_ids"], h["token_ids"]
            prefix = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            rows.append(row(f"greedy tokens identical ({d}, {args.greedy_tokens} tokens)", float(a == b), 1.0,
                            "bool", "higher", f"first difference at token {prefix}" if a != b else "identical"))
        rows.append(row(f"greedy {args.greedy_tokens} tokens, {d}", get(v, "seconds"), get(h, "seconds"), "s",
                        "lower", "prefill + decode, G = 1"))

    def generate_step(d):
        kw = dict(n=args.n, max_new_tokens=args.max_new_tokens)
        v, h = r.run("visrl", "generate", d, need[d], **kw), r.run("hf", "generate", d, need[d], **kw)
        what = f"G = {args.n}, {args.max_new_tokens} new tokens"
        rows.append(row(f"generate tok/s, {d}", get(v, "tokens_per_s"), get(h, "tokens_per_s"), "tok/s", "higher",
                        f"{what}, prefill included"))
        rows.append(row(f"generate prefill, {d}", get(v, "prefill_seconds"), get(h, "prefill_seconds"), "s", "lower"))
        rows.append(row(f"decode tok/s, {d}", get(v, "decode_tokens_per_s"), get(h, "decode_tokens_per_s"), "tok/s",
                        "higher", f"{what}, after the prefill"))
        if state["bandwidth"]:
            step_bytes = decode_weight_params(shapes) * (4 if d == "float32" else 2)
            limit = args.n * state["bandwidth"] / step_bytes
            sv, sh = get(v, "decode_tokens_per_s"), get(h, "decode_tokens_per_s")
            rows.append(row(f"decode share of weight-read limit, {d}", sv and sv / limit, sh and sh / limit, "share",
                            "higher", f"limit {limit:.1f} tok/s = G x {state['bandwidth'] / 1e9:.1f} GB/s / "
                            f"{step_bytes / 1e9:.2f} GB of weights per step"))
        rows.append(row(f"peak RSS, generate {d}", get(v, "max_rss_bytes"), get(h, "max_rss_bytes"), "bytes", "lower"))

    def logprobs_step(d):
        rng = random.Random(0)
        response = [rng.randrange(151643) for _ in range(args.response_tokens)]
        (work / "response.json").write_text(json.dumps(response))
        kw = dict(rows=args.rows, response_ids=work / "response.json")
        v, h = r.run("visrl", "logprobs", d, need[d] + GiB, **kw), r.run("hf", "logprobs", d, need[d] + GiB, **kw)
        rows.append(row(f"forward_logprobs tok/s, {d}", get(v, "tokens_per_s"), get(h, "tokens_per_s"), "tok/s",
                        "higher", f"{args.rows} rows x (prompt + {args.response_tokens}); transformers: forward + "
                        "log_softmax"))
        if v is not None and h is not None:
            rows.append(row(f"sum of row 0's answer log-probs, {d}", v["response_logprob_sum_row0"],
                            h["response_logprob_sum_row0"], "nats", "n/a", "should be close"))
        rows.append(row(f"peak RSS, logprobs {d}", get(v, "max_rss_bytes"), get(h, "max_rss_bytes"), "bytes", "lower"))

    # float32 first (every check and rate), then bf16; each step's rows are saved as it ends.
    lp_dtypes = [d for d in args.logprobs_dtypes.split(",") if d in dtypes] or dtypes[:1]
    try:
        state["bandwidth"] = get(r.run("visrl", "bandwidth", need_bytes=3 * GiB), "bytes_per_s")
        save()
        ref_path = None
        for d in dtypes:
            if "load" in steps:
                v, h = r.run("visrl", "load", d, need[d]), r.run("hf", "load", d, need[d])
                rows.append(row(f"load, {d}", get(v, "load_seconds"), get(h, "load_seconds"), "s", "lower"))
                rows.append(row(f"peak RSS, load {d}", get(v, "max_rss_bytes"), get(h, "max_rss_bytes"), "bytes",
                                "lower", f"weights {param_bytes[d] / GiB:.2f} GiB"))
                save()
            if "logits" in steps:
                ref_path = logits_step(d, ref_path) or ref_path
                save()
            if "greedy" in steps and d == dtypes[0]:  # float32 (bf16 for 8B): must be identical
                greedy_step(d)
                save()
            if "generate" in steps:
                generate_step(d)
                save()
            if "logprobs" in steps and d in lp_dtypes:
                logprobs_step(d)
                save()
        state["complete"] = True
        save()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    elapsed = time.time() - T0
    bandwidth = state["bandwidth"]
    print()
    print(f"Qwen3-VL {args.size} shapes, random weights ({n_params / 1e9:.2f} B parameters), {args.threads} threads "
          f"per side, CPU; image {Path(args.image).name}; read bandwidth "
          f"{(bandwidth or 0) / 1e9:.1f} GB/s; load average at start {load_before[0]:.2f}")
    print(f"{'what':<52} | {'visrl':>11} | {'transformers':>12} | {'unit':<6} | {'ratio':>6} | note")
    print("-" * 120)
    for x in rows:
        print(f"{x['name']:<52} | {fmt(x['visrl'], x['unit']):>11} | {fmt(x['transformers'], x['unit']):>12} | "
              f"{unit_label(x['unit']):<6} | {ratio_text(x['ratio']):>6} | {x['note']}")
    if r.failed:
        print(f"FAILED: {', '.join(r.failed)}")
    print(f"ratio = how many times better visrl is; {elapsed:.0f} s in all")
    print(f"wrote {out_path}")
    return 1 if r.failed else 0


def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "bytes":
        return f"{v / GiB:.2f}"
    if unit == "bool":
        return "yes" if v else "NO"
    if unit == "share":
        return f"{v:.1%}"
    if unit == "abs":
        return f"{v:.3g}"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def ratio_text(ratio):
    return f"{ratio:.2f}x" if ratio else ""


def unit_label(unit):
    return {"bytes": "GiB", "bool": "", "abs": "", "share": ""}.get(unit, unit)


def cpu_name():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def mem_total():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


if __name__ == "__main__":
    sys.exit(main())
