#!/usr/bin/env python3
"""visrl's render pool side by side with the reference render pipelines.

    /usr/bin/python3 bench/render/render_bench.py [--only chart,svg,table] [--quick]

Needs build/bin/render_pool_bench and build/bin/render (ninja -C build render_pool_bench
render visrl-render-worker) and, for the peers, /usr/bin/python3 with matplotlib,
rsvg-convert and chromium (bench/render/install_peers.sh). A missing peer is skipped with a
message. Standard library only. Prints one table per target: ours, peer, ratio, target,
PASS/FAIL; see bench/render/README.md for what each side runs. --json FILE writes the
comparison rows for scripts/bench.

Targets (2 cores):
  1a charts: renders/s at least 5x a fresh `python3 script.py` per chart (2 in parallel)
  1b charts: sandbox + fork overhead per chart at most 15 ms above exec() of the same
     script in a warm interpreter (median over scripts of the per-script difference)
  2  SVG: renders/s at least 5x `rsvg-convert` once per file (both 2-way parallel); also
     side by side with cairosvg in two warm interpreters (--cairosvg-python, default the
     peers virtualenv of scripts/setup --peers), no target
  3  tables: median at most 20 ms for a 20x8 table through the pool, and at least 20x
     faster than a headless chromium screenshot of the same table (one process per table)
"""
import argparse
import concurrent.futures
import json
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHART_DIR = os.path.join(REPO, "tests", "fixtures", "charts")
SVG_DIR = os.path.join(REPO, "tests", "render", "svg", "fixtures")

# Figure size and DPI of render.chart defaults (configs/defaults.yaml); the peer saves the
# same size so that both sides rasterise the same pixels.
CHART_W_IN, CHART_H_IN, CHART_DPI = 6.4, 4.8, 100
SVG_PX = 336


# --- output --------------------------------------------------------------------------------
def say(text=""):
    print(text, flush=True)


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def print_table(title, rows):
    """rows: (metric, ours, peer, ratio, target, result) as strings."""
    header = ("metric", "ours", "peer", "ratio", "target", "result")
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    say()
    say(f"== {title} ==")
    for r in [header] + rows:
        say("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def fmt(value, digits=1, unit=""):
    return "-" if value is None else f"{value:.{digits}f}{unit}"


# Rows of --json, the format of bench/results/latest.json: ratio = how many times better
# visrl is (ours / peer for a rate, peer / ours for a time), null when the peer did not run.
JSON_ROWS = []


def json_row(name, ours, peer, peer_value, unit, target, higher_is_better=True):
    ratio = None
    if ours and peer_value:
        ratio = ours / peer_value if higher_is_better else peer_value / ours
    JSON_ROWS.append({"name": name, "ours": ours, "peer": peer, "peer_value": peer_value, "unit": unit,
                      "ratio": ratio, "target": target})


# --- our side ------------------------------------------------------------------------------
class Ours:
    def __init__(self, build_dir):
        self.bench = os.path.join(build_dir, "bin", "render_pool_bench")
        self.render = os.path.join(build_dir, "bin", "render")
        missing = [p for p in (self.bench, self.render) if not os.access(p, os.X_OK)]
        if missing:
            sys.exit(f"missing {', '.join(missing)}: build them with "
                     f"ninja -C {build_dir} render_pool_bench render visrl-render-worker")

    def pool(self, items, work, name, workers=1, repeat=1, sequential=False, png=True, in_process=False):
        """Runs render_pool_bench; returns (summary, per-render results). in_process: the SVG
        and table renderers called directly, no pool, fork or sandbox."""
        results = os.path.join(work, name + ".results.jsonl")
        cmd = [self.bench, "--items", items, "--workers", str(workers), "--repeat", str(repeat),
               "--results", results]
        if in_process:
            cmd.append("--in-process")
        if sequential:
            cmd.append("--sequential")
        if png and not in_process:
            cmd += ["--png-dir", os.path.join(work, name + ".png")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        summary = None
        for line in proc.stdout.splitlines():
            if line.startswith("SUMMARY "):
                summary = json.loads(line[len("SUMMARY "):])
        with open(results, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        bad = [r for r in rows if r["status"] != "ok"]
        if bad:
            say(f"  note: {len(bad)} of {len(rows)} renders of {name} did not succeed, e.g. "
                f"{bad[0]['id']}: {bad[0]['status']}: {bad[0]['reason'][:200]}")
        return summary, rows

    def batch(self, items, work, name, workers):
        """`render --batch` from a cold start (pool and worker start-up included)."""
        out_dir = os.path.join(work, name + ".batch")
        cmd = [self.render, "--batch", items, "--out-dir", out_dir, "--set", f"render.workers={workers}"]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        with open(os.path.join(out_dir, "results.jsonl"), encoding="utf-8") as f:
            n = sum(1 for line in f if line.strip())
        return n / wall, wall


# --- peers ---------------------------------------------------------------------------------
def run_parallel(commands, jobs, env=None, cwd=None, timeout=300):
    """Runs each command once, `jobs` at a time; returns (wall seconds, per-command seconds,
    failures)."""
    def one(cmd):
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd,
                                  timeout=timeout)
            error = None if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr[-300:]!r}"
        except subprocess.TimeoutExpired:
            error = "timeout"
        return time.monotonic() - start, error

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(one, commands))
    wall = time.monotonic() - start
    failures = [(c, e) for c, (_, e) in zip(commands, outcomes) if e]
    return wall, [t for t, _ in outcomes], failures


def python_imports(python, modules):
    """Whether the interpreter `python` (a path or a name on PATH) can import `modules` ("a, b")."""
    if not python or (not (os.path.isabs(python) and os.access(python, os.X_OK)) and not shutil.which(python)):
        return False
    proc = subprocess.run([python, "-c", f"import {modules}"], capture_output=True)
    return proc.returncode == 0


def find_program(choice, names):
    """choice: "auto" (the first of names on PATH) or a name or path; None when missing."""
    for name in (names if choice == "auto" else [choice]):
        path = shutil.which(name)
        if path:
            return path
    return None


def median(values):
    return statistics.median(values) if values else None


# --- inputs --------------------------------------------------------------------------------
def chart_scripts():
    names = sorted(n for n in os.listdir(CHART_DIR) if n.startswith("chart_") and n.endswith(".py"))
    if len(names) != 50:
        say(f"  note: expected 50 chart scripts in {CHART_DIR}, found {len(names)}")
    return [(n[:-3], open(os.path.join(CHART_DIR, n), encoding="utf-8").read()) for n in names]


def write_jsonl(path, items):
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


CITIES = ["Lisbon", "Oslo", "Quito", "Perth", "Hanoi", "Dakar", "Lima", "Riga", "Cairo", "Tunis", "Porto",
          "Kyoto", "Bergen", "Accra", "Leeds", "Turin", "Davao", "Cusco", "Graz", "Malmo", "Nantes", "Izmir",
          "Tartu", "Split", "Varna", "Lyon", "Basel", "Brno", "Gdansk", "Aarhus"]
COUNTRIES = ["Portugal", "Norway", "Ecuador", "Australia", "Vietnam", "Senegal", "Peru", "Latvia", "Egypt",
             "Tunisia", "Japan", "Ghana", "England", "Italy", "Philippines", "Austria", "Sweden", "France",
             "Turkey", "Estonia", "Croatia", "Bulgaria", "Switzerland", "Czechia", "Poland", "Denmark"]
TABLE_HEADER = ["Rank", "City", "Country", "Population", "Area (km2)", "Density", "Growth", "Founded"]


def table_rows(seed, rows=20):
    rng = random.Random(seed)
    out = []
    for rank in range(1, rows + 1):
        population = rng.randint(50_000, 3_000_000)
        area = rng.uniform(40, 900)
        out.append([str(rank), rng.choice(CITIES), rng.choice(COUNTRIES), f"{population:,}", f"{area:.1f}",
                    f"{population / area:,.0f}", f"{rng.uniform(-2, 4):+.2f}%", str(rng.randint(800, 1950))])
    return out


def table_markdown(rows):
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 5) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def table_html(rows, title):
    head = "".join(f"<th>{h}</th>" for h in TABLE_HEADER)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ margin: 12px; background: white; font-family: "DejaVu Sans", sans-serif; font-size: 14pt; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #444; padding: 4px 8px; }}
th {{ font-weight: bold; background: #f0f0f0; }}
</style></head>
<body>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</body></html>
"""


# --- the warm interpreter of target 1b ------------------------------------------------------
# Imports matplotlib and numpy and draws a warm-up figure once (as render/chart/chart_server.py
# does), then times compile + exec of each script + the same save as the chart server (figure
# resized, savefig to memory as raw RGBA). Mode "exec": in this process, state reset between
# runs outside the timing. Mode "fork": each run in a forked child that sends the pixels back
# over a pipe, timed from fork to waitpid: the chart server's job model without its sandbox,
# limits and protocol, to tell the cost of fork from the cost of the sandbox.
WARM_SNIPPET = r"""
import gc, io, json, os, random, sys, time
import matplotlib
matplotlib.use("Agg")
import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
mode, w_in, h_in, dpi, reps = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
fig = plt.figure(); ax = fig.add_subplot(); ax.plot([0, 1], [0, 1], label="warm")
ax.set_title("warm-up 0123"); ax.legend(); fig.canvas.draw(); plt.close("all")
defaults = matplotlib.rcParams.copy()
scripts = json.load(open(sys.argv[1]))
times = {name: [] for name, _ in scripts}

def job(code):
    np.random.seed(0)
    random.seed(0)
    exec(compile(code, "<answer>", "exec"), {"__name__": "__main__"})
    fig = plt.gcf()
    fig.set_size_inches(w_in, h_in)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", dpi=dpi)
    return buffer.getvalue()

for rep in range(reps):
    for name, code in scripts:
        plt.close("all")
        matplotlib.rcParams.update(defaults)
        gc.collect()
        start = time.perf_counter()
        if mode == "exec":
            job(code)
        else:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                view = memoryview(job(code))
                while view:
                    view = view[os.write(w, view):]
                os._exit(0)
            os.close(w)
            while os.read(r, 1 << 16):
                pass
            os.close(r)
            os.waitpid(pid, 0)
        times[name].append((time.perf_counter() - start) * 1000)
print(json.dumps(times))
"""


# --- targets -------------------------------------------------------------------------------
def bench_charts(args, ours, work):
    scripts = chart_scripts()
    items = write_jsonl(os.path.join(work, "charts.jsonl"),
                        [{"id": name, "kind": "chart", "text": "```python\n" + code + "```\n"} for name, code in scripts])
    n = len(scripts)
    have_python = python_imports(args.python, "matplotlib, numpy")
    if not have_python:
        say(f"  SKIP peer: {args.python} cannot import matplotlib and numpy "
            "(apt-get install python3-matplotlib python3-numpy)")

    # 1a: throughput, 2 workers vs 2 fresh interpreters at a time.
    say(f"[charts] ours: warm pool, 2 workers, {n} scripts x {args.chart_throughput_reps}, with and without PNG files")
    summary, _ = ours.pool(items, work, "charts_w2", workers=2, repeat=args.chart_throughput_reps)
    ours_rps = summary["renders_per_s"]
    summary, _ = ours.pool(items, work, "charts_w2_pixels", workers=2, repeat=args.chart_throughput_reps, png=False)
    pixels_rps = summary["renders_per_s"]
    say(f"[charts] ours: render --batch (cold start), 2 workers")
    batch_rps, batch_wall = ours.batch(items, work, "charts_batch", workers=2)
    peer_rps = None
    if have_python:
        peer_dir = os.path.join(work, "peer_charts")
        os.makedirs(peer_dir, exist_ok=True)
        commands = []
        for name, code in scripts:
            path = os.path.join(peer_dir, name + ".py")
            with open(path, "w", encoding="utf-8") as f:
                f.write(code + "\n# appended by render_bench.py: the final save\n"
                        "import matplotlib.pyplot as _plt\n"
                        f"_plt.gcf().set_size_inches({CHART_W_IN}, {CHART_H_IN})\n"
                        f"_plt.savefig({os.path.join(peer_dir, name + '.png')!r}, dpi={CHART_DPI})\n")
            commands.append([args.python, path])
        env = dict(os.environ, MPLBACKEND="Agg")
        run_parallel(commands[:1], 1, env=env, cwd=peer_dir)  # untimed: font cache, page cache
        say(f"[charts] peer: fresh {args.python} per script, 2 at a time, x{args.chart_throughput_reps} (median)")
        rates = []
        for _ in range(args.chart_throughput_reps):
            wall, _, failures = run_parallel(commands, 2, env=env, cwd=peer_dir)
            for cmd, error in failures[:3]:
                say(f"  note: peer failed on {os.path.basename(cmd[-1])}: {error}")
            rates.append(n / wall)
        peer_rps = median(rates)
    rows = []
    for label, value in (("renders/s, warm pool, PNG files written (as the peer)", ours_rps),
                         ("renders/s, warm pool, pixels in memory only", pixels_rps),
                         (f"renders/s, render --batch incl. start-up ({batch_wall:.1f} s)", batch_rps)):
        ratio = value / peer_rps if peer_rps else None
        rows.append((label, fmt(value), fmt(peer_rps, 2), fmt(ratio, 1, "x"), ">= 5x",
                     verdict(None if ratio is None else ratio >= 5)))
    print_table(f"1a charts: {n} scripts, 2-way parallel (2 workers vs 2 python3 processes)", rows)
    peer_name = "a python3 subprocess per chart (matplotlib Agg, savefig PNG)"
    json_row("chart renders/s, warm pool (pixels)", pixels_rps, peer_name, peer_rps, "renders/s", ">= 5x")
    json_row("chart renders/s, warm pool (PNG files)", ours_rps, peer_name, peer_rps, "renders/s", None)
    result = {"ours_rps": ours_rps, "pixels_rps": pixels_rps, "batch_rps": batch_rps, "peer_rps": peer_rps}

    # 1b: per-chart overhead, 1 worker vs a warm interpreter.
    reps = args.chart_overhead_reps
    say()
    say(f"[charts] ours: warm pool, 1 worker, sequential, {n} scripts x {reps}")
    _, rows_ours = ours.pool(items, work, "charts_w1", workers=1, repeat=reps, sequential=True, png=False)
    by_script = {}
    for r in rows_ours:
        if r["status"] == "ok":
            by_script.setdefault(r["id"], []).append(r["execute_ms"])
    if not have_python:
        say("  SKIP 1b peer: no warm interpreter to compare with")
        return result
    say(f"[charts] peer: exec() in one warm {args.python}, {n} scripts x {reps}")
    scripts_json = os.path.join(work, "charts.json")
    with open(scripts_json, "w", encoding="utf-8") as f:
        json.dump(scripts, f)
    def warm_run(mode):
        proc = subprocess.run([args.python, "-c", WARM_SNIPPET, scripts_json, mode, str(CHART_W_IN), str(CHART_H_IN),
                               str(CHART_DPI), str(reps)], capture_output=True, text=True,
                              env=dict(os.environ, MPLBACKEND="Agg"))
        if proc.returncode != 0:
            say(f"  the warm interpreter ({mode}) failed: {proc.stderr[-500:]}")
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1])

    warm = warm_run("exec")
    if warm is None:
        say("  SKIP 1b peer")
        return result
    say(f"[charts] breakdown: the same warm {args.python}, each script in a forked child (no sandbox)")
    forked = warm_run("fork") or {}
    say()
    say("   per script, median ms: ours = execute_ms (1 worker); warm = exec+save in a warm interpreter;")
    say("   fork = the same in a forked child of it, no sandbox; diff = ours - warm")
    diffs, lines = [], []
    for name, _ in scripts:
        if name not in by_script:
            lines.append(f"   {name}  ours failed")
            continue
        o, w = median(by_script[name]), median(warm[name])
        f = median(forked.get(name, []))
        diffs.append(o - w)
        lines.append(f"   {name}  ours {o:6.1f}  warm {w:6.1f}  fork {fmt(f):>6}  diff {o - w:+6.1f}")
    for i in range(0, len(lines), 2):  # two scripts per line
        say("  ".join(lines[i:i + 2]))
    med_ours = median([median(v) for v in by_script.values()])
    med_warm = median([median(v) for v in warm.values()])
    med_fork = median([median(v) for v in forked.values()]) if forked else None
    med_diff = median(diffs)
    fork_diffs = [median(forked[k]) - median(warm[k]) for k in forked if k in warm]
    rows = [("median per-chart ms (ours execute_ms / warm exec+save)", fmt(med_ours), fmt(med_warm), "-", "-", ""),
            ("median of per-script differences, ms", fmt(med_diff), "0", "-", "<= 15 ms", verdict(med_diff <= 15)),
            ("max / min per-script difference, ms", f"{max(diffs):+.1f} / {min(diffs):+.1f}", "-", "-", "-", "")]
    if fork_diffs:
        rows.append(("breakdown: fork alone, no sandbox (median diff, ms)", fmt(median(fork_diffs)), "0", "-", "-", ""))
        rows.append(("breakdown: sandbox + limits + protocol (ours - fork), ms", fmt(med_diff - median(fork_diffs)),
                     "-", "-", "-", ""))
    print_table(f"1b charts: sandbox + fork overhead per chart ({n} scripts, median of {reps} runs each)", rows)
    result.update(med_diff=med_diff, med_ours_exec=med_ours, med_warm=med_warm, med_fork=med_fork)
    return result


def bench_svg(args, ours, work):
    fixtures = sorted(n for n in os.listdir(SVG_DIR) if n.endswith(".svg"))
    items = []
    peer_inputs = []
    for copy in range(args.svg_copies):
        for name in fixtures:
            path = os.path.join(SVG_DIR, name)
            items.append({"id": f"{name[:-4]}-{copy}", "kind": "svg", "text": open(path, encoding="utf-8").read()})
            peer_inputs.append((path, f"{name[:-4]}-{copy}"))
    n = len(items)
    items_path = write_jsonl(os.path.join(work, "svg.jsonl"), items)
    say(f"[svg] ours: warm pool, 2 workers, {len(fixtures)} fixtures x {args.svg_copies} = {n} items, "
        "with and without PNG files")
    summary, _ = ours.pool(items_path, work, "svg_w2", workers=2)
    ours_rps = summary["renders_per_s"]
    summary, _ = ours.pool(items_path, work, "svg_w2_pixels", workers=2, png=False)
    pixels_rps = summary["renders_per_s"]
    say("[svg] breakdown: 1 worker one file at a time; the renderer in process (no fork, no sandbox)")
    _, rows = ours.pool(items_path, work, "svg_w1", workers=1, sequential=True, png=False)
    ours_exec = median([r["execute_ms"] for r in rows if r["status"] == "ok"])
    ours_total = median([r["total_ms"] for r in rows if r["status"] == "ok"])
    _, rows = ours.pool(items_path, work, "svg_inproc", in_process=True)
    inproc_ms = median([r["execute_ms"] for r in rows if r["status"] == "ok"])
    say("[svg] ours: render --batch (cold start), 2 workers")
    batch_rps, batch_wall = ours.batch(items_path, work, "svg_batch", workers=2)
    rsvg = find_program(args.rsvg_convert, ["rsvg-convert"])
    peer_rps = peer_ms = None
    if not rsvg:
        say(f"  SKIP peer: rsvg-convert ({args.rsvg_convert}) is not installed (apt-get install librsvg2-bin)")
    else:
        out_dir = os.path.join(work, "peer_svg")
        os.makedirs(out_dir, exist_ok=True)
        commands = [[rsvg, "-a", "-w", str(SVG_PX), "-h", str(SVG_PX), "--background-color=white",
                     "-o", os.path.join(out_dir, out + ".png"), path] for path, out in peer_inputs]
        run_parallel(commands[:2], 1)  # untimed: page cache
        say(f"[svg] peer: rsvg-convert once per file, 2 at a time")
        wall, times, failures = run_parallel(commands, 2)
        for cmd, error in failures[:3]:
            say(f"  note: rsvg-convert failed on {os.path.basename(cmd[-1])}: {error}")
        peer_rps, peer_ms = n / wall, median(times) * 1000
    cairo_rps = None
    if not python_imports(args.cairosvg_python, "cairosvg"):
        say(f"  SKIP peer: cairosvg is not importable by {args.cairosvg_python} (scripts/setup --peers)")
    else:
        say("[svg] peer: cairosvg.svg2png in 2 warm interpreters, PNG files")
        cairo_rps, failures = cairosvg_peer(args.cairosvg_python, peer_inputs, work)
        if failures:
            say(f"  note: cairosvg failed on {failures} of {n} files")
    rows = []
    for label, value in (("renders/s, warm pool, PNG files written (as the peer)", ours_rps),
                         ("renders/s, warm pool, pixels in memory only", pixels_rps),
                         (f"renders/s, render --batch incl. start-up ({batch_wall:.2f} s)", batch_rps)):
        ratio = value / peer_rps if peer_rps else None
        rows.append((label, fmt(value), fmt(peer_rps), fmt(ratio, 1, "x"), ">= 5x",
                     verdict(None if ratio is None else ratio >= 5)))
    for label, value in (("renders/s, warm pool, PNG files vs cairosvg (warm, PNG files)", ours_rps),
                         ("renders/s, warm pool, pixels vs cairosvg (warm, PNG files)", pixels_rps)):
        rows.append((label, fmt(value), fmt(cairo_rps), fmt(value / cairo_rps if cairo_rps else None, 1, "x"),
                     "-", ""))
    json_row("SVG renders/s, warm pool (pixels)", pixels_rps, "rsvg-convert per file", peer_rps, "renders/s",
             ">= 5x")
    json_row("SVG renders/s, warm pool (PNG files)", ours_rps, "rsvg-convert per file", peer_rps, "renders/s", None)
    json_row("SVG renders/s, warm pool (pixels)", pixels_rps, "cairosvg, 2 warm interpreters, PNG files", cairo_rps,
             "renders/s", None)
    json_row("SVG renders/s, warm pool (PNG files)", ours_rps, "cairosvg, 2 warm interpreters, PNG files",
             cairo_rps, "renders/s", None)
    rows.append(("median ms per file, one at a time (ours total_ms / rsvg-convert)", fmt(ours_total, 2),
                 fmt(peer_ms, 2), fmt(peer_ms / ours_total if peer_ms and ours_total else None, 1, "x"), "-", ""))
    rows.append(("  of which in the sandboxed worker (execute_ms)", fmt(ours_exec, 2), "-", "-", "-", ""))
    rows.append(("  of which the renderer itself (in process, no fork)", fmt(inproc_ms, 2), "-", "-", "-", ""))
    print_table(f"2 SVG: {n} files ({len(fixtures)} fixtures x {args.svg_copies}), both 2-way parallel", rows)
    return {"ours_rps": ours_rps, "batch_rps": batch_rps, "peer_rps": peer_rps, "cairosvg_rps": cairo_rps}


# The cairosvg peer: one warm interpreter per worker (cairosvg imported before the clock starts)
# converts its share of the files to PNG files of the same size as rsvg-convert's, and prints
# its loop's seconds; the two run side by side, like our 2 workers.
CAIROSVG_SNIPPET = r"""
import json, sys, time
import cairosvg
jobs = json.load(open(sys.argv[1]))
px = int(sys.argv[2])
cairosvg.svg2png(url=jobs[0][0], write_to=jobs[0][1] + ".warm.png", output_width=px, output_height=px,
                 background_color="white")
start = time.monotonic()
failures = 0
for src, out in jobs:
    try:
        cairosvg.svg2png(url=src, write_to=out, output_width=px, output_height=px, background_color="white")
    except Exception:
        failures += 1
print(json.dumps({"seconds": time.monotonic() - start, "failures": failures}))
"""


def cairosvg_peer(python, peer_inputs, work):
    """Renders peer_inputs [(svg path, out name)] with cairosvg in two warm processes; returns
    (renders/s, failures)."""
    out_dir = os.path.join(work, "peer_cairosvg")
    os.makedirs(out_dir, exist_ok=True)
    procs = []
    for half in (peer_inputs[0::2], peer_inputs[1::2]):
        jobs_path = os.path.join(out_dir, f"jobs{len(procs)}.json")
        with open(jobs_path, "w", encoding="utf-8") as f:
            json.dump([(src, os.path.join(out_dir, out + ".png")) for src, out in half], f)
        procs.append(subprocess.Popen([python, "-c", CAIROSVG_SNIPPET, jobs_path, str(SVG_PX)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    seconds, failures = 0.0, 0
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"cairosvg peer failed ({proc.returncode}): {err[-1000:]}")
        report = json.loads(out.strip().splitlines()[-1])
        seconds, failures = max(seconds, report["seconds"]), failures + report["failures"]
    return len(peer_inputs) / seconds, failures


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">II", head[16:24])


def bench_tables(args, ours, work):
    n = args.tables
    tables = [table_rows(seed) for seed in range(n)]
    html = [table_html(t, f"table {i}") for i, t in enumerate(tables)]
    html_items = write_jsonl(os.path.join(work, "tables_html.jsonl"),
                             [{"id": f"table-{i:02d}", "kind": "table", "text": h} for i, h in enumerate(html)])
    md_items = write_jsonl(os.path.join(work, "tables_md.jsonl"),
                           [{"id": f"table-{i:02d}", "kind": "table", "text": table_markdown(t)}
                            for i, t in enumerate(tables)])
    reps = args.table_reps
    say(f"[tables] ours: warm pool, 1 worker, sequential, {n} tables (20 rows x 8 columns) x {reps}, HTML and markdown")
    _, rows_html = ours.pool(html_items, work, "tables_html", workers=1, repeat=reps, sequential=True)
    _, rows_md = ours.pool(md_items, work, "tables_md", workers=1, repeat=reps, sequential=True)
    _, rows_inproc = ours.pool(html_items, work, "tables_html_inproc", repeat=reps, in_process=True)
    _, rows_md_inproc = ours.pool(md_items, work, "tables_md_inproc", repeat=reps, in_process=True)
    html_inproc = median([r["execute_ms"] for r in rows_inproc if r["status"] == "ok"])
    md_inproc = median([r["execute_ms"] for r in rows_md_inproc if r["status"] == "ok"])
    ok_html = [r for r in rows_html if r["status"] == "ok"]
    ok_md = [r for r in rows_md if r["status"] == "ok"]
    html_total = median([r["total_ms"] for r in ok_html])
    html_exec = median([r["execute_ms"] for r in ok_html])
    md_total = median([r["total_ms"] for r in ok_md])
    md_exec = median([r["execute_ms"] for r in ok_md])
    sizes = {r["id"]: (r["width"], r["height"]) for r in ok_html}
    if sizes:
        w, h = next(iter(sizes.values()))
        say(f"  our table images are about {w}x{h} px")
    chromium = find_program(args.chromium, ["chromium", "chromium-browser", "google-chrome"])
    peer_ms = None
    if not chromium:
        say(f"  SKIP peer: chromium ({args.chromium}) is not installed (bash bench/render/install_peers.sh)")
    else:
        peer_dir = os.path.join(work, "peer_tables")
        os.makedirs(peer_dir, exist_ok=True)
        commands = []
        for i, h in enumerate(html):
            path = os.path.join(peer_dir, f"table-{i:02d}.html")
            with open(path, "w", encoding="utf-8") as f:
                f.write(h)
            w, hh = sizes.get(f"table-{i:02d}", (1024, 768))
            # The window holds the whole table (our image size plus slack for the browser's
            # wider font metrics).
            commands.append([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                             f"--screenshot={os.path.join(peer_dir, f'table-{i:02d}.png')}",
                             f"--window-size={w + 200},{hh + 100}", "file://" + path])
        shot = lambda cmd: next(a.split("=", 1)[1] for a in cmd if a.startswith("--screenshot="))
        run_parallel(commands[:1], 1, cwd=peer_dir, timeout=120)  # untimed: page cache, profile
        for cmd in commands:
            if os.path.exists(shot(cmd)):
                os.remove(shot(cmd))
        say(f"[tables] peer: {os.path.basename(chromium)} --headless --screenshot, one process per table, sequential")
        _, times, failures = run_parallel(commands, 1, cwd=peer_dir, timeout=120)
        for cmd, error in failures[:3]:
            say(f"  note: chromium failed on {cmd[-1]}: {error}")
        made = [t for t, c in zip(times, commands) if os.path.exists(shot(c))]
        if not made:
            say("  SKIP peer: chromium wrote no screenshot")
        else:
            peer_ms = median(made) * 1000
    rows = []
    for label, total, execute, inproc in (("HTML table", html_total, html_exec, html_inproc),
                                          ("markdown table", md_total, md_exec, md_inproc)):
        rows.append((f"{label}: median ms through the pool (total_ms)", fmt(total, 2), "-", "-", "<= 20 ms",
                     verdict(None if total is None else total <= 20)))
        ratio = peer_ms / total if (peer_ms and total) else None
        rows.append((f"{label}: vs chromium screenshot, median ms", fmt(total, 2), fmt(peer_ms, 0), fmt(ratio, 0, "x"),
                     ">= 20x", verdict(None if ratio is None else ratio >= 20)))
        rows.append((f"  of which in the sandboxed worker (execute_ms)", fmt(execute, 2), "-", "-", "-", ""))
        rows.append((f"  of which the renderer itself (in process, no fork)", fmt(inproc, 2), "-", "-", "-", ""))
    json_row("HTML table render latency (20x8), pool", html_total, "chromium --headless --screenshot per table",
             peer_ms, "ms", ">= 20x", higher_is_better=False)
    json_row("markdown table render latency (20x8), pool", md_total, "chromium --headless --screenshot per table",
             peer_ms, "ms", ">= 20x", higher_is_better=False)
    print_table(f"3 tables: {n} tables of 20 rows x 8 columns, one at a time (latency), {reps} runs each", rows)
    return {"html_total_ms": html_total, "md_total_ms": md_total, "peer_ms": peer_ms}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    parser.add_argument("--only", default="chart,svg,table", help="comma-separated: chart, svg, table")
    parser.add_argument("--python", default="/usr/bin/python3", help="interpreter of the chart peer")
    parser.add_argument("--rsvg-convert", default="auto", help="rsvg-convert program of the SVG peer")
    parser.add_argument("--chromium", default="auto", help="browser of the table peer (default: chromium on PATH)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a rough check)")
    parser.add_argument("--chart-throughput-reps", type=int, default=3)
    parser.add_argument("--chart-overhead-reps", type=int, default=3)
    parser.add_argument("--svg-copies", type=int, default=10)
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--table-reps", type=int, default=5)
    parser.add_argument("--cairosvg-python", default=os.path.expanduser("~/.cache/visrl/venv-peers/bin/python"),
                        help="interpreter with cairosvg for the second SVG peer (scripts/setup --peers)")
    parser.add_argument("--json", metavar="FILE", help="write the comparison rows as JSON")
    parser.add_argument("--work-dir", help="keep inputs and outputs here (default: a temporary directory)")
    args = parser.parse_args()
    if args.quick:
        args.chart_throughput_reps, args.chart_overhead_reps = 1, 1
        args.svg_copies, args.tables, args.table_reps = 3, 3, 2
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {"chart", "svg", "table"}
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")

    ours = Ours(args.build_dir)
    work = args.work_dir or tempfile.mkdtemp(prefix="render_bench.")
    os.makedirs(work, exist_ok=True)
    say(f"render_bench: {os.cpu_count()} CPUs, work dir {work}")
    start = time.monotonic()
    try:
        if "chart" in only:
            bench_charts(args, ours, work)
            say()
        if "svg" in only:
            bench_svg(args, ours, work)
            say()
        if "table" in only:
            bench_tables(args, ours, work)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(JSON_ROWS, f, indent=2)
            f.write("\n")
    say()
    say(f"render_bench: done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
