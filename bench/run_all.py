#!/usr/bin/env python3
"""Runs every side-by-side benchmark of visrl against its peers and collects one table.

    ./scripts/bench [--only render,tokenizer,policy,update,longtail,data,quickstart] [--quick]

(scripts/bench installs the peers, builds the programs and runs this with the peers
virtualenv's Python.) Each section is its own script, run one after another on the same
machine, each writing rows {"name", "ours", "peer", "peer_value", "unit", "ratio", "target"},
ratio = how many times better visrl is (for the GFLOP/s row: the share of the matmul peak):

  render      bench/render/render_bench.py: chart renders/s vs a python3 subprocess per chart,
              SVG vs rsvg-convert and cairosvg, tables vs a chromium screenshot
  tokenizer   bench/policy/tokenizer_bench.py: encode MB/s vs HF tokenizers
  policy      bench/policy/policy_bench.py: generate and forward_logprobs tokens/s vs transformers
  update      bench/trainer/grpo_update_bench.py: the GRPO update step vs TRL's GRPOTrainer, and
              its achieved GFLOP/s vs the at::mm peak (gemm_peak_bench)
  longtail    bench/trainer/longtail_bench.py: long-tailed answer lengths: continuous batching vs
              today's engine and transformers generate; token-budget vs sequence-count micro-batches
  data        bench/trainer/data_read_bench.py: reading training rows, JSONL + PNG vs Parquet
  quickstart  bench/trainer/quickstart_breakdown.py: the quickstart step-time breakdown

Writes bench/results/latest.json ({"generated", "commit", "machine", "sections", "rows"}, each
row with its "section") and bench/results/latest.md, and prints the table at the end. Exits 1
when a section failed (the others still run and are written).
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS_PYTHON = sys.executable  # scripts/bench runs this with the peers virtualenv


SECTIONS = ["render", "tokenizer", "policy", "update", "longtail", "data", "quickstart"]


def sections(args, work: Path):
    """(name, command, JSON file) per section."""
    build = ["--build", args.build]
    quick = args.quick
    out = {
        "render": ["/usr/bin/python3", "bench/render/render_bench.py", "--build-dir", args.build,
                   "--cairosvg-python", PEERS_PYTHON, *(["--quick"] if quick else [])],
        "tokenizer": [PEERS_PYTHON, "bench/policy/tokenizer_bench.py", *build, *(["--rounds", "2"] if quick else [])],
        "policy": [PEERS_PYTHON, "bench/policy/policy_bench.py", *build,
                   *(["--threads", "2", "--repeat", "1"] if quick else ["--threads", "1", "2", "--repeat", "5"])],
        "update": [PEERS_PYTHON, "bench/trainer/grpo_update_bench.py", *build, *(["--steps", "1"] if quick else [])],
        "longtail": [PEERS_PYTHON, "bench/trainer/longtail_bench.py", *build],
        "data": [sys.executable, "bench/trainer/data_read_bench.py", *build, *(["--rows", "2000"] if quick else [])],
        "quickstart": [sys.executable, "bench/trainer/quickstart_breakdown.py",
                       "--steps", "3" if quick else "8"],
    }
    return [(name, cmd + ["--json", str(work / f"{name}.json")], work / f"{name}.json")
            for name, cmd in out.items() if name in args.only]


def cpu_busy(seconds=3.0):
    """Share of all CPUs' time not idle over `seconds` (/proc/stat), or None where unreadable.
    Unlike the load average it does not remember the build scripts/bench just ran."""
    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait
    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}


def commit():
    p = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return (p.stdout.strip() or "unknown") + ("-dirty" if dirty else "")


def normalise(row, section):
    target = row.get("target")
    if isinstance(target, (int, float)):
        target = f">= {target:g}x"
    return {"section": section, "name": row["name"], "ours": row.get("ours"), "peer": row.get("peer"),
            "peer_value": row.get("peer_value"), "unit": row.get("unit"), "ratio": row.get("ratio"), "target": target}


def number(x, unit=""):
    if x is None:
        return "-"
    if unit in ("s", "s/step"):
        return f"{x:.3f}"
    if unit == "ms":
        return f"{x:.2f}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"


def ratio_text(row):
    r = row["ratio"]
    if r is None:
        return "-"
    return f"{r:.1%} of peak" if row["unit"] == "GFLOP/s" else f"{r:.2f}x"


def markdown(report):
    lines = [f"# visrl vs peers ({report['generated']})", "",
             f"Commit {report['commit']}; {report['machine']['cpus']} x {report['machine']['cpu']}, "
             f"kernel {report['machine']['kernel']}; {report['duration_s']:.0f} s in all "
             f"(`./scripts/bench{' ' + ' '.join(report['argv']) if report['argv'] else ''}`). "
             "Ratio: how many times better visrl is (rates ours / peer, times peer / ours); "
             "for GFLOP/s, the share of the machine's measured matmul peak.", "",
             "| section | benchmark | visrl | peer | peer value | unit | ratio | target |",
             "|---|---|--:|---|--:|---|--:|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['section']} | {r['name']} | {number(r['ours'], r['unit'])} | {r['peer'] or '-'} | "
                     f"{number(r['peer_value'], r['unit'])} | {r['unit']} | {ratio_text(r)} | {r['target'] or ''} |")
    lines += ["", "| section | seconds | status |", "|---|--:|---|"]
    for s in report["sections"]:
        lines.append(f"| {s['name']} | {s['seconds']:.0f} | {s['status']} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory with the benchmark programs")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a rough check, ~half the time)")
    ap.add_argument("--out", default=str(ROOT / "bench/results"), help="where latest.{md,json} go")
    args = ap.parse_args()
    known = set(SECTIONS)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - known
    if unknown:
        ap.error(f"--only: unknown section {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    args.build = str(Path(args.build).resolve())

    busy = cpu_busy()
    if busy is not None and busy > 0.2:
        print(f"WARNING: the CPUs were {busy:.0%} busy over the last 3 s: another process uses the cores; the "
              "timings and ratios will be off (run on a quiet machine)", flush=True)
    start = time.monotonic()
    rows, done = [], []
    with tempfile.TemporaryDirectory(prefix="visrl_bench_") as tmp:
        for name, cmd, json_path in sections(args, Path(tmp)):
            print(f"\n===== {name}: {' '.join(cmd)}", flush=True)
            t0 = time.monotonic()
            code = subprocess.run(cmd, cwd=ROOT).returncode
            seconds = time.monotonic() - t0
            status = "ok" if code == 0 and json_path.exists() else f"failed (exit {code})"
            if json_path.exists():
                rows += [normalise(r, name) for r in json.loads(json_path.read_text())]
            done.append({"name": name, "seconds": seconds, "status": status})
            print(f"===== {name}: {status} in {seconds:.0f} s", flush=True)

    report = {"generated": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "commit": commit(),
              "machine": machine(), "argv": sys.argv[1:], "duration_s": time.monotonic() - start,
              "sections": done, "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    md = markdown(report)
    (out / "latest.md").write_text(md)
    print("\n" + md)
    print(f"wrote {out / 'latest.md'} and {out / 'latest.json'}")
    failed = [s["name"] for s in done if s["status"] != "ok"]
    if failed:
        print(f"FAILED sections: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
