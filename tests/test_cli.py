"""CLI: formats, JSON shapes, bad input (clear message, exit 2, no traceback, no partial file)."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from prfaas_plan.cli.app import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_kv_json_shape():
    r = run("kv", "minimax-m2.5", "--format", "json", "--lengths", "1k,32k")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d) >= {"model", "hardware", "gpus", "kv_bytes_per_token", "fixed_state_bytes", "rows"}
    assert [x["tokens"] for x in d["rows"]] == [1024, 32768]
    row = d["rows"][1]
    assert row["kv_gbps"] == pytest.approx(8 * row["kv_bytes"] / row["prefill_s"] / 1e9)


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_kv_formats(fmt):
    r = run("kv", "kimi-linear-48b", "-f", fmt, "--breakdown")
    assert r.exit_code == 0 and "1024" in r.stdout


def test_unknown_model_suggests_closest():
    r = run("kv", "minimax-m25")
    assert r.exit_code == 2
    assert "minimax-m2.5" in r.stderr and "Traceback" not in r.output


def test_unknown_hardware():
    r = run("kv", "minimax-m2.5", "--hardware", "h2000")
    assert r.exit_code == 2 and "h200" in r.stderr


def test_malformed_yaml_names_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\n  bad: [\n")
    r = run("kv", str(p))
    assert r.exit_code == 2 and "bad.yaml" in r.stderr and "line" in r.stderr


def test_invalid_field_names_field(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(open("models/llama-3.1-8b.yaml").read().replace("hidden_size: 4096", "hidden_size: -5"))
    r = run("kv", str(p))
    assert r.exit_code == 2 and "hidden_size" in r.stderr


def test_model_too_big_for_instance():
    r = run("kv", "kimi-k2", "--hardware", "h20", "--gpus", "2")
    assert r.exit_code == 2 and "do not fit" in r.stderr


def test_bad_lengths():
    assert run("kv", "minimax-m2.5", "--lengths", "abc").exit_code == 2


def test_plan_json_shape_and_expectations():
    r = run("plan", "--format", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for k in ("prfaas_pd", "homogeneous_pd", "naive_heterogeneous"):
        p = d[k]
        assert set(p) >= {"threshold_tokens", "offload_fraction", "mean_offloaded_tokens", "instances",
                          "stage_throughput_rps", "max_throughput_rps", "binding", "egress_gbps", "ttft_s",
                          "loaded_ttft_s", "cost_usd_per_hour"}
    assert set(d["gains"]) == {"vs_homogeneous_pd", "vs_naive_heterogeneous", "equal_cost_vs_homogeneous_pd"}


def test_failed_expectation_exits_1_and_junit(tmp_path):
    r = run("plan", "--set", "expect.min_max_throughput_rps=100", "--format", "junit")
    assert r.exit_code == 1
    assert "<failure" in r.stdout and "min_max_throughput_rps" in r.stderr


def test_set_override_validated():
    r = run("plan", "--set", "link.bandwidth_gbps=-1")
    assert r.exit_code == 2 and "bandwidth_gbps" in r.stderr


def test_slo_unreachable():
    r = run("plan", "--set", "decode.step_time_ms=100")
    assert r.exit_code == 2 and "SLO" in r.stderr


def test_no_partial_output_on_error(tmp_path):
    out = tmp_path / "o.json"
    r = run("plan", "--set", "link.bandwidth_gbps=0", "-o", str(out))
    assert r.exit_code == 2 and not out.exists()


def test_sweep_csv():
    r = run("plan", "--sweep", "split", "--format", "csv")
    assert r.exit_code == 0 and r.stdout.startswith("pd_prefill_instances")


def test_validate_json(shared):
    r = run("validate", "--hardware", "h200", "--format", "json", str(shared / "measurements/h200-sglang-0.5.9.csv"))
    d = json.loads(r.stdout)
    by = {(s["op"], s["dtype"]): s for s in d["summary"]}
    print({k: round(v["median_ape"], 3) for k, v in by.items()})
    assert by[("gemm", "bf16")]["median_ape"] <= 0.15 and by[("gemm", "fp8")]["median_ape"] <= 0.15
    assert by[("prefill_attention", "bf16")]["median_ape"] <= 0.15


def test_validate_table_prints_bracketed_op_labels(shared):
    """Labels such as moe[power_law_1.01] and linear_attention[gdn] are data, not rich markup: the
    table shows the routing and variant split the JSON has (rich used to swallow the brackets)."""
    r = run("validate", "--hardware", "h20", str(shared / "measurements/h20-infersim-mechanisms.csv"))
    assert r.exit_code == 0, r.output
    assert "linear_attention[gdn]" in r.stdout


def test_validate_bad_file(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("op,dtype,latency_ms\ngemm,bf16,1\n")
    r = run("validate", "--hardware", "h200", str(p))
    assert r.exit_code == 2 and "missing required column" in r.stderr


def test_python_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "prfaas_plan", "schema", "workload"], capture_output=True, text=True)
    assert r.returncode == 0 and "input_length" in r.stdout
