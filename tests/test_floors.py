"""The physical floor (`perf.floors`): rows faster than the datasheet allows are flagged, real rows are not,
and `prfaas validate` reports them instead of scoring them."""

import json

from typer.testing import CliRunner

from prfaas_plan import catalog
from prfaas_plan.cli.app import app
from prfaas_plan.io.measurements import read_many
from prfaas_plan.perf.floors import CACHE_SAFE_BYTES, below_floor, physical_floor

HEADER = ("op,dtype,m,n,k,batch,seq_len,num_heads,num_kv_heads,head_dim,bytes,latency_ms,num_experts,topk,tp,ep,"
          "distribution,kernel,phase,source\n")


def _csv(tmp_path, rows):
    p = tmp_path / "m.csv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows))
    return p


def test_floor_arithmetic_on_h200(tmp_path):
    """H200: 989.4 TFLOP/s bf16 dense, 4.8 TB/s. A 8192^3 bf16 GEMM is 2 x 8192^3 = 1.1e12 FLOP, at least
    1.111 ms; measured 1.0 ms cannot be that GEMM, 1.3 ms can. A decode attention reading 64 x 32768 x 8 x
    2 x 128 x 2 B = 8.6 GB needs 1.79 ms of HBM; 1 ms is impossible. A 1 MiB copy has no floor (it may
    sit in L2) however fast it is measured."""
    hw = catalog.load_hardware("h200")
    p = _csv(tmp_path, [
        "gemm,bf16,8192,8192,8192,,,,,,,1.0,,,,,,,,t", "gemm,bf16,8192,8192,8192,,,,,,,1.3,,,,,,,,t",
        "decode_attention,bf16,,,,64,32768,64,8,128,,1.0,,,,,,,,t", "copy,bf16,,,,,,,,,1048576,0.000001,,,,,,,,t",
    ])
    meas = read_many([str(p)])
    floor = physical_floor(hw, meas)
    assert abs(floor[0] - 2 * 8192**3 / hw.peak_flops("bf16")) < 1e-12
    assert abs(floor[2] - 64 * 32768 * 8 * 2 * 128 * 2 / hw.datasheet.hbm_bandwidth_bytes_per_s) < 1e-12
    assert floor[3] == 0.0 and 2**20 < CACHE_SAFE_BYTES
    assert below_floor(hw, meas).tolist() == [True, False, True, False]


def test_every_real_measurement_file_is_above_its_floor_but_one_mislabelled_group(shared):
    """The shared kernel files' 2,217 rows and the 25,113 H200 mechanism rows all sit above the floor (the
    closest, H20 GEMMs, at 1.05x); only H20's three 64-head GDN decode rows fall below it."""
    m = shared / "measurements"
    for hw_name, f, n_bad in (("h200", "h200-sglang-0.5.9.csv", 0), ("h200", "h200-sglang-mechanisms.csv", 0),
                              ("h20", "h20-infersim.csv", 0), ("h20", "h20-infersim-mechanisms.csv", 3)):
        meas = read_many([str(m / f)])
        assert int(below_floor(catalog.load_hardware(hw_name), meas).sum()) == n_bad, f


def test_validate_reports_rows_below_the_floor(shared):
    r = CliRunner().invoke(app, ["validate", "--hardware", "h20", "-f", "json",
                                 str(shared / "measurements/h20-infersim-mechanisms.csv")])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["rows"] == 420 and len(d["below_floor"]) == 3
    assert all(b["measured_ms"] < b["floor_ms"] for b in d["below_floor"])
    gdn = next(g for g in d["summary"] if g["op"] == "linear_attention[gdn]")
    gdn_all = next(g for g in d["summary_with_below_floor"] if g["op"] == "linear_attention[gdn]")
    assert gdn["count"] == 15 and gdn_all["count"] == 18
    t = CliRunner().invoke(app, ["validate", "--hardware", "h20", str(shared / "measurements/h20-infersim-mechanisms.csv")])
    assert "faster than the GPU's physical floor" in t.stdout and "over 18 rows" in t.stdout


def test_calibrate_names_a_few_rows_below_the_floor_not_all(tmp_path):
    """A file of 30 rows below the floor and one real one: `source` names the first FLOOR_LABELS shapes
    and counts the rest (every label was written: 20,000 rows gave a 355 kB source in the YAML)."""
    from prfaas_plan.perf.calibration import FLOOR_LABELS, fit_kernels

    rows = [f"gemm,bf16,{8192 + i},8192,8192,,,,,,,0.001,,,,,,,,t" for i in range(30)]
    meas = read_many([str(_csv(tmp_path, [*rows, "gemm,bf16,1024,1024,1024,,,,,,,0.05,,,,,,,,t"]))])
    src = fit_kernels(catalog.load_hardware("h200"), meas, "test").source
    assert "30 row(s) faster than the physical floor left out" in src
    assert f"and {30 - FLOOR_LABELS} more" in src and "8192x8192x8192" in src
    assert f"{8192 + FLOOR_LABELS - 1}x8192x8192" in src and f"{8192 + FLOOR_LABELS}x8192x8192" not in src
