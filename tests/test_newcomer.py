"""Issue #14, a newcomer's path: the help examples' trace ships inside the package and runs from any
folder, `models import` names the model after its file and says where it went, a user catalog
folder (PRFAAS_CATALOG_PATH) is looked up before the shipped one, and the --plot fix works from a clone."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from prfaas_plan.cli.app import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_help_trace_examples_run_from_any_folder(tmp_path, monkeypatch):
    """The examples in `plan --help`, `simulate --help` and `workload import --help`, as written,
    from an empty folder: the trace is found among the shipped ones."""
    monkeypatch.chdir(tmp_path)
    assert "prfaas plan --trace mooncake-conversation.jsonl" in run("plan", "--help").stdout
    r = run("plan", "--trace", "mooncake-conversation.jsonl", "-f", "json")
    assert r.exit_code in (0, 1), r.output  # 1 = an expectation failed, the run itself worked
    assert json.loads(r.stdout)["scenario"] == "prfaas-paper"
    r = run("simulate", "mooncake-conversation", "--trace", "mooncake-conversation.jsonl", "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["requests"] == 12_031
    r = run("workload", "import", "mooncake-conversation.jsonl", "-o", "mc.yaml")
    assert r.exit_code == 0 and (tmp_path / "mc.yaml").exists()


def test_the_shipped_trace_is_the_shared_one(shared):
    assert (ROOT / "traces/mooncake-conversation.jsonl").read_bytes() == \
        (shared / "traces/mooncake-conversation.jsonl").read_bytes()


def test_missing_trace_lists_the_shipped_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("plan", "--trace", "nope.jsonl")
    assert r.exit_code == 2 and "mooncake-conversation.jsonl" in r.stderr and "Fix:" in r.stderr


def test_models_import_names_after_the_output_file(tmp_path):
    out = tmp_path / "my-llama.yaml"
    r = run("models", "import", ROOT / "tests/fixtures/llama-config.json", "-o", out)
    assert r.exit_code == 0, r.output
    assert "name: my-llama" in out.read_text()
    assert f"wrote {out}" in r.stderr and "PRFAAS_CATALOG_PATH" in r.stderr
    r = run("models", "import", ROOT / "tests/fixtures/llama-config.json", "-o", out, "--name", "other")
    assert "name: other" in out.read_text()


def test_user_catalog_folder_is_looked_up_first(tmp_path, monkeypatch):
    """FOLDER/models/NAME.yaml is found by name; FOLDER/hardware/h200.yaml replaces the shipped h200;
    the shipped catalog is untouched."""
    (tmp_path / "models").mkdir()
    (tmp_path / "hardware").mkdir()
    monkeypatch.setenv("PRFAAS_CATALOG_PATH", f"{tmp_path / 'missing'}:{tmp_path}")
    r = run("models", "import", ROOT / "tests/fixtures/llama-config.json", "-o", tmp_path / "models/my-llama.yaml")
    assert r.exit_code == 0 and "use it by name: prfaas kv my-llama" in r.stderr
    h200 = (ROOT / "hardware/h200.yaml").read_text().replace("display_name: NVIDIA H200 SXM 141GB",
                                                               "display_name: my own H200")
    (tmp_path / "hardware/h200.yaml").write_text(h200)
    r = run("kv", "my-llama", "--lengths", "1k", "-f", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["model"] == "my-llama"
    assert "my-llama" in run("catalog", "models").stdout
    assert "my own H200" in run("catalog", "hardware", "h200", "-f", "json").stdout
    monkeypatch.delenv("PRFAAS_CATALOG_PATH")
    assert "my own H200" not in run("catalog", "hardware", "h200", "-f", "json").stdout
    assert run("kv", "my-llama").exit_code == 2


def test_plot_fix_text_works_from_a_clone():
    from prfaas_plan.report.plots import PLOT_FIX

    assert "prfaas-plan[plot]" not in PLOT_FIX.replace(".[plot]", "")  # no package-index install
    assert "pip install -e '.[plot]'" in PLOT_FIX and "pip install matplotlib" in PLOT_FIX
