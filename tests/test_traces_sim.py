"""Trace import (prefix reuse, burstiness, bad traces) and the simulator cross-check."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from prfaas_plan.cli import app
from prfaas_plan.sim.engine import fcfs, window_bytes
from prfaas_plan.traces import Trace, cached_prefix, read_trace

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_mooncake_import_reproduces_published_figures(shared, tmp_path):
    """VALIDATION: traces/README.md: 12,031 requests, mean input 12,035, P90 27,367, ~37% reuse, SCV ~9."""
    out = tmp_path / "mc.yaml"
    r = run("workload", "import", str(shared / "traces" / "mooncake-conversation.jsonl"), "-o", str(out))
    assert r.exit_code == 0, r.output
    import yaml

    d = yaml.safe_load(out.read_text())
    pv = d["provenance"]
    assert pv["requests"] == 12031
    assert pv["mean_input_tokens"] == pytest.approx(12035, abs=1)
    assert pv["p90_input_tokens"] == pytest.approx(27367, abs=1)
    assert abs(pv["prefix_hit_ratio"] - 0.37) < 0.01
    assert 8 < d["arrival"]["burstiness_scv"] < 10
    assert d["arrival"]["peak_to_mean_1s"] > d["arrival"]["peak_to_mean_10s"] > 1
    assert len(d["prefix_cache"]["uncached_length"]["points"]) == 101
    # the shipped workload is this import
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    shipped = yaml.safe_load((root / "workloads" / "mooncake-conversation.yaml").read_text())
    assert shipped["provenance"]["sha256"] == pv["sha256"]
    assert shipped["prefix_cache"] == d["prefix_cache"]


def _trace(hashes, inp=None):
    n = len(hashes)
    inp = np.array(inp if inp is not None else [512.0 * len(h) for h in hashes])
    return Trace("t", "mooncake", np.arange(n, dtype=float), inp, np.ones(n), hashes)


def test_prefix_reuse_leading_run_and_lru_bound():
    tr = _trace([[1, 2, 3], [1, 2, 4], [1, 5, 3], [7, 2, 3], [1, 2, 3]])
    # unbounded: leading run of (position, hash) blocks seen before; the last request has all 3
    # blocks cached but keeps 1 token to prefill (3 x 512 - 1)
    np.testing.assert_array_equal(cached_prefix(tr), [0, 1024, 512, 0, 1535])
    # a 3-block LRU cache, traced by hand: request 2 evicts (2,3); request 3 evicts (1,2) and (2,4);
    # request 4 evicts (0,1) and (1,5), so request 5 finds no leading block
    np.testing.assert_array_equal(cached_prefix(tr, cache_tokens=3 * 512), [0, 1024, 512, 0, 0])
    # never the whole prompt: at least one token is prefilled
    same = _trace([[1, 2], [1, 2]])
    assert cached_prefix(same)[1] == 1023


@pytest.mark.parametrize("content,needle", [
    ("", "no valid requests"),
    ('{"timestamp": 5, "input_length": 10, "output_length": 1}\n{"timestamp": 1, "input_length": 10, "output_length": 1}\n',
     "line 2: timestamp goes back in time"),
    ('{"timestamp": 0, "input_length": -3, "output_length": 1}\n', "line 1"),
    ('{"timestamp": 0, "output_length": 1}\n', "input_length"),
    ('{"timestamp": 0, "input_length": 10, "output_length": 1}\nnot json\n', "line 2"),
])
def test_bad_traces(tmp_path, content, needle):
    f = tmp_path / "t.jsonl"
    f.write_text(content)
    out = tmp_path / "w.yaml"
    r = run("workload", "import", str(f), "-o", str(out))
    assert r.exit_code == 2, r.output
    assert needle in r.stderr and "Traceback" not in r.output
    assert not out.exists()


def test_skip_bad_counts_lines(tmp_path):
    f = tmp_path / "t.jsonl"
    good = [json.dumps({"timestamp": 1000 * i, "input_length": 100 + i, "output_length": 5, "hash_ids": [i]})
            for i in range(20)]
    f.write_text("\n".join(good[:10] + ["garbage", '{"timestamp": 1}'] + good[10:]) + "\n")
    tr = read_trace(f, skip_bad=True)
    assert len(tr) == 20 and len(tr.skipped) == 2
    r = run("workload", "import", str(f), "--skip-bad")
    assert r.exit_code == 0 and "2 bad lines skipped" in r.stderr


def test_azure_and_plain_csv(tmp_path):
    az = tmp_path / "az.csv"
    az.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                  "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n"
                  "2023-11-16 18:15:51.2000000,879,12\n")
    tr = read_trace(az, "azure")
    assert len(tr) == 3 and tr.arrival_s[1] == pytest.approx(4.3146, abs=1e-3)
    pl = tmp_path / "p.csv"
    pl.write_text("timestamp_s,input_tokens\n0,5\n")
    r = run("workload", "import", str(pl))
    assert r.exit_code == 2 and "output_tokens" in r.stderr


def test_fcfs_matches_hand_computation():
    a = np.array([0.0, 0.0, 0.0, 1.0])
    s = np.array([2.0, 2.0, 2.0, 0.5])
    np.testing.assert_allclose(fcfs(a, s, 2), [0, 0, 2, 2])
    np.testing.assert_allclose(fcfs(a, s, 1), [0, 2, 4, 6])


def test_window_bytes_spreads_transfers():
    w = window_bytes(np.array([0.5]), np.array([2.5]), np.array([4.0]), 0.0, 3.0)
    np.testing.assert_allclose(w, [1.0, 2.0, 1.0])


def _sim(load, n, seed=0):
    r = run("simulate", "--load", str(load), "--requests", str(n), "--seed", str(seed), "-f", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("load", [0.5, 0.8])
def test_simulator_agrees_with_closed_form_under_poisson(load):
    """VALIDATION (closed form vs simulator): throughput within 2%, loaded TTFT mean within 15%, P90 within 25%."""
    d = _sim(load, 30000)
    c = d["comparison"]
    print(f"load {load}: " + ", ".join(f"{k} {v['relative_difference']:+.3f}" for k, v in c.items()
                                       if v["relative_difference"] is not None))
    assert abs(c["throughput_rps"]["relative_difference"]) <= 0.02
    assert abs(c["ttft_mean_s"]["relative_difference"]) <= 0.15
    assert abs(c["ttft_p90_s"]["relative_difference"]) <= 0.25
    assert d["growing_queues"] == []
    cons = d["conservation"]
    assert cons["completed"] + cons["in_system"] == cons["arrived"] == 30000


def test_overload_grows_the_binding_queue():
    d = _sim(1.05, 30000)
    assert d["binding"] in d["growing_queues"]
    assert d["simulated"]["throughput_rps"] <= d["max_throughput_rps"] * 1.01


def test_simulation_is_deterministic_for_a_seed():
    a, b, c = _sim(0.6, 3000, 1), _sim(0.6, 3000, 1), _sim(0.6, 3000, 2)
    assert a["simulated"] == b["simulated"]
    assert a["simulated"] != c["simulated"]


def test_mooncake_replay_reports_planned_vs_simulated(shared):
    r = run("simulate", "mooncake-conversation", "--trace", str(shared / "traces" / "mooncake-conversation.jsonl"),
            "-f", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["requests"] == 12031
    c = d["comparison"]
    print("mooncake replay: " + ", ".join(f"{k} {v['relative_difference']:+.3f}" for k, v in c.items()
                                           if v["relative_difference"] is not None))
    assert abs(c["throughput_rps"]["relative_difference"]) < 0.05
    assert abs(c["egress_mean_gbps"]["relative_difference"]) < 0.10
    # bursty trace: the closed-form TTFT is optimistic (documented in the README)
    assert c["ttft_mean_s"]["closed_form"] < c["ttft_mean_s"]["simulated"]


@pytest.mark.slow
def test_million_requests_under_a_minute():
    import time

    t = time.perf_counter()
    d = _sim(0.8, 1_000_000)
    assert time.perf_counter() - t < 60
    assert abs(d["comparison"]["throughput_rps"]["relative_difference"]) <= 0.02


def test_plan_accepts_trace_shortcut(shared):
    """`plan --trace` on the paper scenario = the shipped scenario built on the imported workload."""
    r = run("plan", "--trace", str(shared / "traces" / "mooncake-conversation.jsonl"), "-f", "json")
    assert r.exit_code == 0, r.output
    shipped = run("plan", "mooncake-conversation", "-f", "json")
    a, b = json.loads(r.stdout)["prfaas_pd"], json.loads(shipped.stdout)["prfaas_pd"]
    assert a["max_throughput_rps"] == pytest.approx(b["max_throughput_rps"], rel=1e-12)
    assert a["threshold_tokens"] == pytest.approx(b["threshold_tokens"], rel=1e-12)
