"""Rows/s of reading training data: the same items as a JSONL manifest + PNG files and as one
Parquet file in verl's layout with the PNGs inside (datagen --format jsonl / parquet, the same
seed), each read by build/bin/data_read_bench: load_data, the images made files (Parquet:
extracted into a cache), every image decoded once. Both sides are visrl; the ratio is Parquet's
rows/s over JSONL's. The SVG task: 10,000 items render in seconds, and the images are real PNGs
of 336 x 336.

usage: python3 bench/trainer/data_read_bench.py [--build build] [--rows 10000] [--json FILE]
"""
import argparse
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    bin_dir = Path(args.build) / "bin"
    with tempfile.TemporaryDirectory(prefix="visrl-data-bench-") as tmp:
        tmp = Path(tmp)
        for fmt in ("jsonl", "parquet"):
            subprocess.run([str(bin_dir / "datagen"), "--out", str(tmp / fmt), "--tasks", "svg", "--train",
                            str(args.rows), "--eval", "0", "--seed", "3", "--format", fmt],
                           check=True, stdout=subprocess.DEVNULL)
        results = {}
        for fmt, entry in (("jsonl", tmp / "jsonl/svg/train.jsonl"), ("parquet", tmp / "parquet/svg/train.parquet")):
            out = subprocess.run([str(bin_dir / "data_read_bench"), "--data", str(entry), "--cache", str(tmp / "cache")],
                                 check=True, capture_output=True, text=True).stdout
            results[fmt] = json.loads(out.strip().splitlines()[-1])
            r = results[fmt]
            print(f"{fmt:8s} {r['rows']} rows: load {r['load_s']:.2f} s, extract {r['extract_s']:.2f} s, "
                  f"decode {r['decode_s']:.2f} s -> {r['rows_per_s']:.0f} rows/s "
                  f"({r['rows_per_s_before_decode']:.0f} before decoding), peak RSS {r['peak_rss_mb']:.0f} MB")
        sizes = {"jsonl": sum(p.stat().st_size for p in (tmp / "jsonl/svg").rglob("*") if p.is_file()),
                 "parquet": (tmp / "parquet/svg/train.parquet").stat().st_size}
    j, p = results["jsonl"], results["parquet"]
    rows = [
        {"name": f"read {args.rows} rows + decode images (Parquet vs JSONL + PNG)", "ours": p["rows_per_s"],
         "peer": "visrl JSONL", "peer_value": j["rows_per_s"], "unit": "rows/s",
         "ratio": p["rows_per_s"] / j["rows_per_s"]},
        {"name": "rows to image files, before decoding (Parquet extracts)", "ours": p["rows_per_s_before_decode"],
         "peer": "visrl JSONL", "peer_value": j["rows_per_s_before_decode"], "unit": "rows/s",
         "ratio": p["rows_per_s_before_decode"] / j["rows_per_s_before_decode"]},
        {"name": "peak RSS while reading", "ours": p["peak_rss_mb"], "peer": "visrl JSONL",
         "peer_value": j["peak_rss_mb"], "unit": "MB", "ratio": j["peak_rss_mb"] / p["peak_rss_mb"]},
    ]
    print(f"bytes on disk: JSONL + PNGs {sizes['jsonl'] / 1e6:.1f} MB, Parquet {sizes['parquet'] / 1e6:.1f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
