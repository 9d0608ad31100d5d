"""Issue #14, procurement: `compare --price GPU=USD`, trust labels on every mix and beside the best,
`--top N`, and the CSV's threshold / split / binding stage / TTFT columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from prfaas_plan.cli.app import app

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_a_gpu_without_a_catalog_price_needs_price():
    r = run("compare", "--local-hardware", "h20,h800")
    assert r.exit_code == 2 and "h800" in r.stderr and "--price h800=" in r.stderr


def test_price_flag_and_trust_labels():
    r = run("compare", "--local-hardware", "h20,h800", "--price", "h800=2.2", "-f", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["prices"]["h800"] == {"usd_per_gpu_hour": 2.2, "source": "--price"}
    assert d["trust"]["h800"] == {"calibrated": False, "price_kind": "--price"}  # copied efficiency block
    assert d["trust"]["h20"]["calibrated"] and d["trust"]["h20"]["price_kind"] == "scenario"
    rows = d["pareto"] + [d["best"], d["scenario_mix"]]
    for m in rows:  # every row labelled: h800 rows warn, the others do not
        assert ("h800: uncalibrated efficiency" in m["trust"]) == ("h800" in (m["prfaas_hardware"], m["local_hardware"]))
    # both sides of the labelling rule are exercised: rows with an h800 and rows without one (the old
    # check here, "h800 on the front or the best is not h800", held whatever the labels were)
    has_h800 = ["h800" in (m["prfaas_hardware"], m["local_hardware"]) for m in rows]
    assert any(has_h800) and not all(has_h800)


def test_best_mix_line_says_what_to_trust():
    r = run("compare", "--local-hardware", "h800", "--price", "h800=1.0", "--budget-usd-per-hour", "200")
    assert r.exit_code == 0, r.output
    line = next(x for x in r.stdout.splitlines() if x.startswith("best mix "))
    assert "trust with care" in line and "h800: uncalibrated efficiency" in line


def test_top_n_and_csv_columns():
    r = run("compare", "--top", "3", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 3
    assert {"threshold_tokens", "pd_prefill_instances", "pd_decode_instances", "binding", "ttft_mean_s",
            "ttft_p90_s", "trust"} <= set(rows[0])
    lam = [float(x["max_throughput_rps"]) for x in rows]
    assert lam == sorted(lam, reverse=True)
    d = json.loads(run("compare", "--top", "3", "-f", "json").stdout)
    assert d["top"][0]["max_throughput_rps"] == pytest.approx(d["best"]["max_throughput_rps"])


def test_scenario_mix_details_equal_the_plan():
    """The CSV/JSON details come from the planner itself: the scenario's own mix shows the plan's
    threshold, split, binding stage and TTFT."""
    c = json.loads(run("compare", "-f", "json").stdout)["scenario_mix"]
    p = json.loads(run("plan", "-f", "json").stdout)["prfaas_pd"]
    assert c["binding"] == p["binding"]
    assert c["pd_prefill_instances"] == p["instances"]["pd_prefill"]
    assert c["threshold_tokens"] == pytest.approx(p["threshold_tokens"], rel=1e-6)
    assert c["ttft_p90_s"] == pytest.approx(p["ttft_s"]["p90"], rel=1e-6)


@pytest.mark.parametrize("bad", ["h200=abc", "h200", "=3", "h200=-1", "h200=inf", "h200=1e9"])
def test_bad_price_flags(bad):
    r = run("compare", "--price", bad)
    assert r.exit_code == 2 and "--price" in r.stderr and "Fix:" in r.stderr


def test_price_for_a_gpu_not_compared():
    r = run("compare", "--price", "b200=5")
    assert r.exit_code == 2 and "b200" in r.stderr and "Fix:" in r.stderr


def test_price_shared_parser():
    from prfaas_plan.cli.common import parse_prices

    assert parse_prices(["H200=3.5", "l20=0.9"]) == {"h200": 3.5, "l20": 0.9}
    assert parse_prices(None) == {}


def test_compare_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (pip install -e '.[plot]')")
    out = tmp_path / "c.svg"
    r = run("compare", "--plot", out)
    assert r.exit_code == 0, r.output
    svg = out.read_text()
    for text in ("budget 256", "best: ", "scenario: 32 h200 + 64 h20", "h200 + h20", "h20 alone", "Pareto front"):
        assert text in svg, text
