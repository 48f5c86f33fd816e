#!/usr/bin/env python3
"""bench/run_all.py, the collector of ./scripts/bench: its rows, its table and what it writes
when a section fails (standard library only; ctest runs it with /usr/bin/python3)."""
import io
import json
import sys
import tempfile
import unittest
from contextlib import redirect_stdout, redirect_stderr
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import run_all  # noqa: E402

# A section script: writes its rows to the file after --json, then exits with argv[1].
FAKE_SECTION = """
import json, sys
rows = json.loads(sys.argv[2])
path = sys.argv[sys.argv.index("--json") + 1]
if rows is not None:
    open(path, "w").write(json.dumps(rows))
sys.exit(int(sys.argv[1]))
"""


def fake_sections(spec):
    """spec: [(name, exit code, rows or None)] -> a replacement for run_all.sections."""
    def sections(args, work):
        return [(name, [sys.executable, "-c", FAKE_SECTION, str(code), json.dumps(rows), "--json",
                        str(work / f"{name}.json")], work / f"{name}.json") for name, code, rows in spec]
    return sections


class RowsAndTable(unittest.TestCase):
    def test_numeric_targets_become_text_and_the_section_is_kept(self):
        row = run_all.normalise({"name": "update", "ours": 1.0, "peer": "trl", "peer_value": 3.0, "unit": "s",
                                 "ratio": 3.0, "target": 2.0}, "update")
        self.assertEqual(row["target"], ">= 2x")
        self.assertEqual(row["section"], "update")
        self.assertEqual(list(row), ["section", "name", "ours", "peer", "peer_value", "unit", "ratio", "target"])

    def test_ratio_is_a_multiple_except_for_the_share_of_peak(self):
        self.assertEqual(run_all.ratio_text({"ratio": 3.354, "unit": "s"}), "3.35x")
        self.assertEqual(run_all.ratio_text({"ratio": 0.0661, "unit": "GFLOP/s"}), "6.6% of peak")
        self.assertEqual(run_all.ratio_text({"ratio": None, "unit": "s/step"}), "-")

    def test_every_section_writes_json_rows(self):
        args = mock.Mock(build="/b", quick=False, only=["render", "tokenizer", "policy", "update", "quickstart"])
        got = run_all.sections(args, Path("/w"))
        self.assertEqual([name for name, _, _ in got], args.only)
        for name, cmd, path in got:
            self.assertEqual(cmd[-2:], ["--json", f"/w/{name}.json"])
            self.assertEqual(path, Path(f"/w/{name}.json"))


class Collecting(unittest.TestCase):
    def run_main(self, spec, out):
        argv = ["run_all.py", "--out", str(out), "--only", ",".join(name for name, _, _ in spec)]
        stdout, stderr = io.StringIO(), io.StringIO()
        with mock.patch.object(run_all, "sections", fake_sections(spec)), mock.patch.object(sys, "argv", argv), \
                mock.patch.object(run_all, "cpu_busy", lambda: 0.0), redirect_stdout(stdout), redirect_stderr(stderr):
            code = run_all.main()
        return code, stdout.getvalue(), stderr.getvalue()

    def test_a_failed_section_is_reported_and_the_others_are_written(self):
        good = [{"name": "generate tokens/s", "ours": 7000.0, "peer": "transformers", "peer_value": 2500.0,
                 "unit": "tok/s", "ratio": 2.8, "target": ">= 2x"}]
        with tempfile.TemporaryDirectory() as tmp:
            code, stdout, stderr = self.run_main([("policy", 0, good), ("update", 3, None)], Path(tmp))
            self.assertEqual(code, 1)
            self.assertIn("FAILED sections: update", stderr)
            report = json.loads((Path(tmp) / "latest.json").read_text())
            self.assertEqual([s["status"] for s in report["sections"]], ["ok", "failed (exit 3)"])
            self.assertEqual(report["rows"], [dict(section="policy", **good[0])])
            md = (Path(tmp) / "latest.md").read_text()
            self.assertIn("| policy | generate tokens/s | 7,000 | transformers | 2,500 | tok/s | 2.80x | >= 2x |", md)
            self.assertIn("| update |", md)
            self.assertIn(md.strip(), stdout)  # the table is printed at the end

    def test_a_section_without_json_counts_as_failed(self):
        with tempfile.TemporaryDirectory() as tmp:
            code, _, _ = self.run_main([("render", 0, None)], Path(tmp))
            self.assertEqual(code, 1)
            report = json.loads((Path(tmp) / "latest.json").read_text())
            self.assertEqual(report["sections"][0]["status"], "failed (exit 0)")


if __name__ == "__main__":
    unittest.main()
