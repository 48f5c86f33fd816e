#!/usr/bin/env python3
"""Encode throughput, single thread: visrl's tokenizer vs Hugging Face `tokenizers`.

    ~/.cache/visrl/venv-peers/bin/python bench/policy/tokenizer_bench.py [--build build] [--tokenizer FILE]

Both encode the same ~1 MB of text (tests/fixtures/tokenizer/corpus.jsonl concatenated and
repeated) in the same ~8 KB chunks, after one warm-up round; the best of --rounds is reported.
HF runs `Tokenizer.encode` in a plain loop with RAYON_NUM_THREADS=1 (encode_batch would use
every core). The tokenizer is the real Qwen one when <source>/../shared/fixtures/qwen-tokenizer is
present, else the tiny fixture. Prints both JSON lines and the ratio ours / HF.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/tokenizer"
QWEN = Path(os.environ.get("VISRL_QWEN_TOKENIZER_DIR",
                           ROOT.parent / "shared/fixtures/qwen-tokenizer")) / "tokenizer.json"


def make_chunks(target_bytes: int, chunk_bytes: int):
    """~target_bytes of corpus lines (repeated as needed), cut into chunks of ~chunk_bytes."""
    corpus = [json.loads(line) for line in (FIXTURES / "corpus.jsonl").read_text(encoding="utf-8").split("\n") if line]
    lines = "\n".join(corpus).split("\n")
    chunks, cur, cur_len, total, i = [], [], 0, 0, 0
    while total < target_bytes:
        line = lines[i % len(lines)] + "\n"
        i += 1
        cur.append(line)
        n = len(line.encode("utf-8"))
        cur_len += n
        total += n
        if cur_len >= chunk_bytes:
            chunks.append("".join(cur))
            cur, cur_len = [], 0
    if cur:
        chunks.append("".join(cur))
    return chunks


def bench_hf(tokenizer_path: Path, chunks, rounds: int):
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    tok = Tokenizer.from_file(str(tokenizer_path))
    load = time.perf_counter() - t0
    nbytes = sum(len(c.encode("utf-8")) for c in chunks)
    best, cold, tokens = float("inf"), 0.0, 0
    for r in range(rounds + 1):
        t0 = time.perf_counter()
        tokens = 0
        for c in chunks:
            tokens += len(tok.encode(c, add_special_tokens=False).ids)
        s = time.perf_counter() - t0
        if r == 0:
            cold = s
        else:
            best = min(best, s)
    return {"impl": "hf-tokenizers", "bytes": nbytes, "chunks": len(chunks), "tokens": tokens, "seconds": best,
            "mb_per_s": nbytes / best / 1e6, "tokens_per_s": tokens / best, "cold_seconds": cold, "load_seconds": load}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory holding bin/tokenizer_bench_main")
    ap.add_argument("--tokenizer", default=None)
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--chunk-bytes", type=int, default=8192)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", metavar="FILE", help="write the comparison row as JSON")
    args = ap.parse_args()
    tokenizer = Path(args.tokenizer) if args.tokenizer else (QWEN if QWEN.exists() else FIXTURES / "tiny/tokenizer.json")
    exe = Path(args.build) / "bin/tokenizer_bench_main"
    if not exe.exists():
        sys.exit(f"{exe} not found: build the tokenizer_bench_main target")
    chunks = make_chunks(args.bytes, args.chunk_bytes)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(chunks, f, ensure_ascii=False)
        chunks_path = f.name
    try:
        out = subprocess.run([str(exe), "--tokenizer", str(tokenizer), "--chunks", chunks_path,
                              "--rounds", str(args.rounds)], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(chunks_path)
    ours = json.loads(out.strip().splitlines()[-1])
    hf = bench_hf(tokenizer, chunks, args.rounds)
    print(f"tokenizer: {tokenizer}")
    print(json.dumps(ours))
    print(json.dumps(hf))
    if ours["tokens"] != hf["tokens"]:
        print(f"WARNING: token counts differ: visrl {ours['tokens']} vs HF {hf['tokens']}")
    print(f"ratio visrl/HF (single thread, MB/s): {ours['mb_per_s'] / hf['mb_per_s']:.2f}x")
    if args.json:
        import tokenizers
        row = {"name": f"tokenizer encode MB/s, 1 thread ({tokenizer.parent.name})", "ours": ours["mb_per_s"],
               "peer": f"HF tokenizers {tokenizers.__version__}", "peer_value": hf["mb_per_s"], "unit": "MB/s",
               "ratio": ours["mb_per_s"] / hf["mb_per_s"], "target": ">= 1x"}
        Path(args.json).write_text(json.dumps([row], indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
