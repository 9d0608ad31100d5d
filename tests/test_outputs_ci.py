"""Issue #14: honest outputs (modes, formats, full names, atomic writes) and CI results
(expectations in every format, JUnit that a CI job can read, errored cases for bad scenarios)."""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prfaas_plan.cli.app import app

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_respect_the_umask(tmp_path: Path, umask: int) -> None:
    """A new output file gets 0666 & ~umask (mkstemp's 0600 is not kept); so does a replaced one."""
    old = os.umask(umask)
    try:
        out = tmp_path / "kv.json"
        assert run("kv", "llama-3.1-8b", "--lengths", "1k", "-o", out).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
        out.chmod(0o644)
        assert run("kv", "llama-3.1-8b", "--lengths", "2k", "-o", out).exit_code == 0
        assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    finally:
        os.umask(old)


def test_plot_respects_the_umask_and_prints_at_300_dpi(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (pip install -e '.[plot]')")
    old = os.umask(0o022)
    try:
        png = tmp_path / "e.png"
        r = run("scale", "--model", "llama-3.1-8b", "--hardware", "h200", "--tokens", "8k", "--gpus", "64,512",
                "--plot", png)
        assert r.exit_code == 0, r.output
        assert stat.S_IMODE(png.stat().st_mode) == 0o644
    finally:
        os.umask(old)
    from PIL import Image

    with Image.open(png) as im:  # 8 x 5 inches at 300 dpi
        assert im.size == (2400, 1500)


def test_temporary_files_are_hidden_and_removed(tmp_path: Path) -> None:
    """A writer that fails half-way leaves nothing; the temporary it wrote was a hidden sibling."""
    from prfaas_plan.errors import PrfaasError
    from prfaas_plan.io.files import atomic_write_many

    seen: list[Path] = []

    def half(t: Path) -> None:
        seen.append(t)
        t.write_text("partial")
        raise OSError(28, "No space left on device")

    (tmp_path / "a.csv").write_text("old")
    with pytest.raises(PrfaasError, match="No space left"):
        atomic_write_many([(tmp_path / "b.csv", lambda t: t.write_text("new b")), (tmp_path / "a.csv", half)])
    assert seen and seen[0].name.startswith(".a.csv.") and seen[0].parent == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # b.csv not written either
    assert (tmp_path / "a.csv").read_text() == "old"


def test_format_from_the_output_extension(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert run("plan", "-o", out).exit_code == 0
    assert json.loads(out.read_text())["scenario"] == "prfaas-paper"
    md = tmp_path / "plan.md"
    assert run("plan", "-o", md).exit_code == 0 and md.read_text().startswith("### Scenario")


def test_format_that_contradicts_the_extension_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    r = run("plan", "-f", "table", "-o", out)
    assert r.exit_code == 2 and "does not match" in r.stderr and "Fix:" in r.stderr
    assert not out.exists()


def test_plan_csv_without_sweep_is_refused() -> None:
    r = run("plan", "-f", "csv")
    assert r.exit_code == 2 and "--sweep" in r.stderr and r.stdout == ""


def test_piped_tables_are_not_truncated() -> None:
    """CliRunner's stdout is not a terminal: every name and number is printed whole."""
    r = run("catalog", "hardware")
    assert r.exit_code == 0 and "…" not in r.stdout
    assert "UNCALIBRATED" in r.stdout
    r = run("catalog", "models")
    assert r.exit_code == 0 and "…" not in r.stdout and "deepseek-v3" in r.stdout


def test_plan_markdown_has_no_raw_dict() -> None:
    r = run("plan", "-f", "markdown")
    assert r.exit_code == 0
    assert "{'" not in r.stdout and "Decode: fixed mode, max batch 20, step 25.0 ms" in r.stdout


# ---------------------------------------------------------------- CI


def test_expectations_in_json_markdown_and_table() -> None:
    d = json.loads(run("plan", "-f", "json").stdout)
    ex = {e["name"]: e for e in d["expectations"]}
    # the scenario's expect: block, plus the workload's SLOs (issue #16: a violated SLO fails like an expect:)
    assert set(ex) == {"min_gain_vs_homogeneous_pd", "max_egress_utilization", "slo_decode_tokens_per_s"}
    e = ex["min_gain_vs_homogeneous_pd"]
    assert set(e) == {"name", "kind", "expected", "actual", "unit", "passed"}
    assert e["kind"] == "min" and e["expected"] == 1.3 and e["unit"] == "x"
    assert e["passed"] == (e["actual"] >= 1.3)
    assert e["actual"] == pytest.approx(d["gains"]["vs_homogeneous_pd"])
    md = run("plan", "-f", "markdown").stdout
    assert "Expectations" in md and "| min_gain_vs_homogeneous_pd | min | 1.3 |" in md
    table = run("plan").stdout
    assert "Expectations" in table and "max_egress_utilization" in table


def test_junit_rounded_with_units_hint_and_passing_values() -> None:
    r = run("plan", "--set", "expect.min_max_throughput_rps=100", "-f", "junit")
    assert r.exit_code == 1
    root = ET.fromstring(r.stdout)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    fail = cases["min_max_throughput_rps"].find("failure")
    assert fail is not None
    msg = fail.get("message") or ""
    # e.g. "actual 3.173 req/s vs min 100 req/s": 4 significant digits, units
    assert msg.startswith("actual ") and "req/s vs min 100 req/s" in msg
    assert len(msg.split()[1].replace(".", "")) <= 4
    assert "binding stage" in (fail.text or "")
    ok = cases["min_gain_vs_homogeneous_pd"]
    assert ok.find("failure") is None and "actual" in (ok.findtext("system-out") or "")


def test_invalid_scenario_writes_an_errored_junit_case(tmp_path: Path) -> None:
    out = tmp_path / "r.xml"
    r = run("plan", "--set", "link.bandwidth_gbps=-1", "-f", "junit", "-o", out)
    assert r.exit_code == 2 and "bandwidth_gbps" in r.stderr
    root = ET.fromstring(out.read_text())
    assert root.get("errors") == "1"
    err = next(root.iter("error"))
    assert "bandwidth_gbps" in (err.text or "")


# ---------------------------------------------------------------- --trace and the scenario's SLO


def _trace(tmp_path: Path) -> Path:
    lines = [json.dumps({"timestamp": 1000 * i, "input_length": 2000 + 1500 * (i % 7), "output_length": 200,
                         "hash_ids": [i % 3, i]}) for i in range(40)]
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_trace_keeps_the_scenario_slo_and_set_reaches_it(tmp_path: Path) -> None:
    from prfaas_plan.assemble.workload import trace_workload
    from prfaas_plan.catalog import Catalog
    from prfaas_plan.io.traces import read_trace

    base = Catalog().workload("paper-lognormal").model_copy(
        update={"slo": Catalog().workload("paper-lognormal").slo.model_copy(update={"decode_tokens_per_s": 33.0})})
    tr = read_trace(_trace(tmp_path))
    assert trace_workload(tr, "t", 512, None, base).slo.decode_tokens_per_s == 33.0
    wl = trace_workload(tr, "t", 512, None, base, ["workload.slo.decode_tokens_per_s=25", "link.rtt_ms=3"])
    assert wl.slo.decode_tokens_per_s == 25.0
    # through the CLI: an SLO the fixed 25 ms decode step cannot meet (40 tokens/s max) is reported
    r = run("plan", "--trace", _trace(tmp_path), "--set", "workload.slo.decode_tokens_per_s=100")
    assert r.exit_code == 2 and "SLO" in r.stderr
    assert run("plan", "--trace", _trace(tmp_path)).exit_code in (0, 1)


def test_set_workload_reaches_a_named_workload() -> None:
    r = run("plan", "--set", "workload.slo.decode_tokens_per_s=100")
    assert r.exit_code == 2 and "SLO" in r.stderr


# ---------------------------------------------------------------- profile off a terminal


def test_profile_prints_an_estimate_and_progress_lines_off_a_terminal(tmp_path: Path) -> None:
    r = run("profile", "--device", "cpu", "--smoke", "-o", tmp_path / "m.csv")
    assert r.exit_code == 0, r.output
    assert "takes about" in r.stderr  # the time estimate, before the run
    lines = [x for x in r.stderr.splitlines() if x.startswith("profiling: ")]
    assert len(lines) >= 3 and "s left" in lines[-1]
    assert (tmp_path / "m.csv").exists() and (tmp_path / "m.meta.yaml").exists()


def test_one_number_style_per_column():
    from prfaas_plan.report.tables import format_column

    assert format_column([111200.0, 2802.0, 405.0]) == ["111,200", "2,802", "405"]
    assert format_column([3.04, 440.433, 1327725.7]) == ["3.04", "440.43", "1,327,725.70"]
    assert format_column([1.0, 0.0005]) == ["1.000e+00", "5.000e-04"]
    assert format_column([None, 2.5, float("inf")]) == ["-", "2.50", "-"]


def test_sweep_table_uses_one_style_per_column():
    r = run("plan", "--sweep", "threshold", "-f", "markdown")
    rows = [line.strip("|").split("|") for line in r.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) > 10
    for k in range(len(rows[0])):
        cells = [r[k].strip() for r in rows if r[k].strip() != "-"]
        sci = {"e+" in c or "e-" in c for c in cells}
        decimals = {len(c.split(".")[1]) if "." in c and "e" not in c else 0 for c in cells}
        assert len(sci) == 1 and len(decimals) == 1, (k, cells[:5])


def test_profile_checks_both_outputs_before_timing_anything(tmp_path: Path) -> None:
    """m.meta.yaml is a folder: refused before the suite runs (no progress line), m.csv untouched."""
    (tmp_path / "m.csv").write_text("good\n")
    (tmp_path / "m.meta.yaml").mkdir()
    r = run("profile", "--device", "cpu", "--smoke", "-o", tmp_path / "m.csv")
    assert r.exit_code == 2 and "m.meta.yaml" in r.stderr and "folder" in r.stderr
    assert "profiling:" not in r.stderr and "takes about" not in r.stderr
    assert (tmp_path / "m.csv").read_text() == "good\n"


def test_json_keeps_long_scalar_arrays_on_one_line_and_round_trips():
    """`to_json`: long scalar arrays (per-second series) on one line, everything else indented;
    the text parses back to the same data, and a string that looks like a marker stays a string."""
    import json

    import numpy as np

    from prfaas_plan.report.tables import to_json

    data = {"series": np.arange(12.0), "short": [1, 2], "nested": [[1, 2, 3]] * 9, "s": '"@x@0@x@"',
            "none": [None] * 8, "scalar": np.float64(2.5)}
    text = to_json(data)
    assert json.loads(text) == {"series": list(range(12)), "short": [1, 2], "nested": [[1, 2, 3]] * 9,
                                "s": '"@x@0@x@"', "none": [None] * 8, "scalar": 2.5}
    lines = text.splitlines()
    assert '  "series": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0],' in lines
    assert '  "short": [' in lines  # short arrays keep the indented form
