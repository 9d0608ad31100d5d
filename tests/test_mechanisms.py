"""Kernel mechanisms (fused MoE, absorbed MLA, GDN/KDA, all-reduce) against the shared measured
kernels: the catalog's fitted blocks predict each file's rows; the errors are printed and bounded by
what was measured (README, Accuracy), win or lose."""

import re
from pathlib import Path

import numpy as np
import pytest

from prfaas_plan import catalog
from prfaas_plan.io.measurements import read_many
from prfaas_plan.perf import mechanisms as mech
from prfaas_plan.perf.calibration import error_stats, predict
from prfaas_plan.perf.fit_mechanisms import leave_shape_out
from prfaas_plan.perf.floors import below_floor, physical_floor

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "measurements"
H200_FILE, H20_FILE = SHARED / "h200-sglang-mechanisms.csv", SHARED / "h20-infersim-mechanisms.csv"
needs_data = pytest.mark.skipif(not H200_FILE.exists(), reason="../shared/measurements not present")

# median APE per reported op measured with the shipped h200 block (in sample), +1 point of slack; the
# balanced-routing MoE ops are held to the 12% (measured 10.9 / 8.9 / 11.2% bf16 / fp8 / int4)
H200_BOUNDS = {
    "moe": 0.12, "moe[power_law_1.01]": 0.205, "mla_prefill_attention": 0.102, "mla_decode_attention": 0.109,
    "linear_attention[gdn]": 0.08, "linear_attention[kda]": 0.061, "allreduce[graph]": 0.091, "allreduce[eager]": 0.08,
}

# H20's rows (InferSim): every op is held to the issue's acceptance, per-op median APE <= 12%
# (measured 10.0% moe fp8, 10.2% mla decode, 6.4% GDN over the 15 rows above the physical floor)
H20_BOUNDS = {"moe": 0.12, "mla_decode_attention": 0.12, "linear_attention[gdn]": 0.12}


@needs_data
def test_h200_mechanism_blocks_predict_the_shared_kernels():
    """Every H200 mechanism row is above its physical floor (tests/test_floors.py), so all are scored."""
    meas = read_many([str(H200_FILE)])
    hw = catalog.load_hardware("h200")
    assert not below_floor(hw, meas).any()
    groups, overall = error_stats(predict(hw, meas), meas)
    for g in groups:
        print(f"{g.op}/{g.dtype}: n={g.count} median APE {g.median_ape:.1%} p90 {g.p90_ape:.1%} bias {g.bias:+.1%}")
        assert g.median_ape <= H200_BOUNDS[g.op], g
    print(f"overall {overall['median_ape']:.1%}")


@needs_data
def test_h20_mechanism_blocks_predict_the_shared_kernels():
    """Scored as `prfaas validate` scores it: rows faster than the physical floor left out (next test)."""
    meas = read_many([str(H20_FILE)])
    hw = catalog.load_hardware("h20")
    meas = meas.select(~below_floor(hw, meas))
    groups, _ = error_stats(predict(hw, meas), meas)
    for g in groups:
        print(f"h20 {g.op}/{g.dtype}: n={g.count} median APE {g.median_ape:.1%} bias {g.bias:+.1%}")
        assert g.median_ape <= H20_BOUNDS[g.op], g


@needs_data
def test_h20_gdn_rows_below_the_physical_floor_are_the_64_head_decode_rows():
    """The shared file gives the 64-value-head GDN decode rows the same latencies as the 32-head ones
    (InferSim's sgl_gdn_update.py hard-codes Hv=32). At batch 1024 and 64 heads the fp32 state alone is
    1024 x 64 x 128 x 128 x 4 B = 4.29 GB, read and written back: 8.59 GB / 4.0 TB/s = 2.147 ms, more than
    the 2.073 ms measured; batches 512 and 256 likewise (1.074 > 1.050, 0.537 > 0.532 ms). Those three rows
    are left out; the 32-head rows (half the traffic) and the small 64-head batches are not provably wrong
    and stay in. With the three rows in, the GDN median APE is still printed (11.9% measured)."""
    meas = read_many([str(H20_FILE)])
    hw = catalog.load_hardware("h20")
    bad = below_floor(hw, meas)
    floor = physical_floor(hw, meas)
    assert hw.datasheet.hbm_bandwidth_bytes_per_s == 4.0e12
    got = sorted((int(meas.cols["batch"][i]), int(meas.cols["num_heads"][i]), round(floor[i] * 1e3, 3))
                 for i in np.flatnonzero(bad))
    assert got == [(256, 64, 0.537), (512, 64, 1.074), (1024, 64, 2.147)]
    assert all(str(meas.op[i]) == "linear_attention" and "decode" in str(meas.text["kernel"][i])
               for i in np.flatnonzero(bad))
    groups, _ = error_stats(predict(hw, meas), meas)
    print("h20 gdn with the three rows:", next(g for g in groups if g.op == "linear_attention[gdn]"))


MECHANISM_BLOCKS = ("moe", "mla_prefill_attention", "mla_decode_attention", "linear_attention", "allreduce")
HW_DIR = Path(__file__).resolve().parents[1] / "hardware"


def _copied_from(source: str, names: set[str]) -> list[str]:
    return [m for m in re.findall(r"copied\s+from\s+(?:the\s+)?([a-z0-9]+)", source) if m in names]


def test_copied_mechanism_blocks_are_the_blocks_they_name():
    """Every GPU whose efficiency `source` says it is copied from another catalog GPU carries that GPU's
    mechanism blocks unchanged (fp8 blocks dropped where the GPU has no fp8), and every block H20 lists as
    borrowed from h200 is h200's: a copy that keeps an older block (h100 did, with the new fields at their
    defaults, which made H100 faster than H200 on GDN) fails here."""
    names = {p.stem for p in HW_DIR.glob("*.yaml")}
    checked = 0
    for name in sorted(names):
        hw = catalog.load_hardware(name)
        eff, fp8 = hw.efficiency, hw.datasheet.fp8_dense_flops_per_s is not None
        for ref in _copied_from(eff.source, names - {name}):
            theirs = catalog.load_hardware(ref).efficiency
            for key in MECHANISM_BLOCKS:
                mine, want = getattr(eff, key), getattr(theirs, key)
                if isinstance(want, dict) and not fp8:  # a GPU without fp8 tensor cores gets no fp8 blocks
                    want = {k: v for k, v in want.items() if k != "fp8"}
                assert mine == want, f"{name}.{key} differs from {ref}'s"
            checked += 1
    assert checked >= 7  # h100 and the six UNCALIBRATED copies
    h20, h200 = catalog.load_hardware("h20").efficiency, catalog.load_hardware("h200").efficiency
    listed = re.search(r"so the h200 blocks \([^)]*\): ([^;]+);", " ".join(h20.source.split()))
    assert listed is not None
    # a borrowed MoE block whose compute efficiency moved per SM (`transfer_moe_compute`) says so, with
    # the value; the rest of the block is h200's
    moved = dict(re.findall(r"(moe\.\w+) compute efficiency [\d.]+ -> ([\d.]+)", " ".join(h20.source.split())))
    assert "moe.bf16" in moved
    for item in listed.group(1).split(", "):
        key, _, sub = item.partition(".")
        mine, want = getattr(h20, key), getattr(h200, key)
        if item in moved:
            assert mine[sub].compute_efficiency == float(moved[item]), item
            want = {sub: want[sub].model_copy(update={"compute_efficiency": float(moved[item])})}
        assert (mine[sub] == want[sub]) if sub else (mine == want), item


def test_unknown_linear_attention_variant_is_an_error_not_gdn():
    h = catalog.load_hardware("h200")
    gdn = float(mech.linear_attention_time(h, "gdn", "chunk", 8192, 1, 8, 8))
    assert float(mech.linear_attention_time(h, "mamba2", "chunk", 8192, 1, 8, 8)) == gdn
    with pytest.raises(ValueError, match="unknown linear-attention variant"):
        mech.linear_attention_time(h, "retnet", "chunk", 8192, 1, 8, 8)


@needs_data
@pytest.mark.slow
def test_moe_fit_generalises_to_held_out_expert_shapes():
    """Leave-shape-out: each whole (hidden, expert size, experts, top-k) shape predicted by a block
    fitted without it. Measured: bf16 11.3%, fp8 9.6%, int4 11.6% (in sample 10.9/8.9/11.2%)."""
    meas = read_many([str(H200_FILE)])
    meas = meas.select(meas.op == "moe")
    out = leave_shape_out(catalog.load_hardware("h200"), meas)
    for dt, rel in out.items():
        print(f"moe {dt}: held-out median APE {np.median(np.abs(rel)):.1%} over {len(rel)} rows")
        assert np.median(np.abs(rel)) <= 0.12


def test_moe_mechanism_hand_worked_memory_bound_case():
    """One token, E = 8 experts, top-2, k = 4096, n = 14336, fp8, TP 1 EP 1: two experts read
    3 x 4096 x 14336 bytes each = 352 MB; at 4.8 TB/s x memory efficiency that dominates the
    (overlapped) compute; the whole layer's activation traffic is 2 assignments' 3 n + 2 k columns
    plus one k-wide output row, in bf16."""
    h = catalog.load_hardware("h200")
    e = h.efficiency.moe["fp8"]
    t = float(mech.moe_time(h, "fp8", 1, 4096, 14336, 8, 2, 1, 1))
    hit = 8 * (1 - (1 - 2 / 8) ** 1)  # = 2 experts
    weights = hit * 3 * 4096 * 14336 * 1.0
    acts = 2 * 2.0 * (2 * 4096 + 3 * 14336)
    flops = 6 * hit * 16 * 4096 * 14336  # 1 row padded to the 16-row block, per expert
    tiles = hit * 1 * np.ceil(2 * 14336 / 128)
    # 1 row per expert: tensor rate plus the per-SM small-batch rate (1 row x 132 SMs x its rate)
    assert e.ramp_flops_per_row_sm is not None
    t_c = flops / min(1, tiles / 132) * (1 / (1978.9e12 * e.compute_efficiency) + 1 / (1 * 132 * e.ramp_flops_per_row_sm))
    t_m = (weights + acts) / (4.8e12 * e.memory_efficiency)
    assert t_m > t_c
    assert e.routed_bytes_efficiency is not None
    whole = 2.0 * (2 * (3 * 14336 + 2 * 4096) + 4096)
    want = e.launch_s + t_m + whole / (4.8e12 * e.routed_bytes_efficiency) + e.routed_work_s_per_mac * 2 * 4096 * 14336
    assert t == pytest.approx(want, rel=1e-9)


def test_expert_parallel_pays_less_per_gpu_than_one_gpu_but_more_than_its_share():
    h = catalog.load_hardware("h200")
    one = float(mech.moe_time(h, "fp8", 8192, 7168, 2048, 256, 8, 1, 1))
    ep8 = float(mech.moe_time(h, "fp8", 8192, 7168, 2048, 256, 8, 1, 8))
    tp8 = float(mech.moe_time(h, "fp8", 8192, 7168, 2048, 256, 8, 8, 1))
    print(f"EP1 {one * 1e3:.2f} ms, EP8 {ep8 * 1e3:.2f} ms, TP8 {tp8 * 1e3:.2f} ms")
    assert one / 8 < ep8 < one and one / 8 < tp8 < one


def test_every_model_variant_has_one_fitted_family_shared_by_ops_and_mechanisms():
    """The model schema's linear-attention variants each map to a fitted block (one table,
    `mechanisms.LINEAR_FAMILY`); the op list carries that family, so a Qwen3-Next layer (written
    `gated_deltanet`) is costed by the `gdn` block and never reaches the kernels under another name."""
    from typing import get_args

    from prfaas_plan.perf.ops import LinearAttentionOp, build_ops
    from prfaas_plan.specs.model import LinearAttention

    variants = get_args(LinearAttention.model_fields["variant"].annotation)
    assert {mech.linear_family(v) for v in variants} <= set(mech.FITTED_LINEAR)
    ops = [o for o in build_ops(catalog.load_model("qwen3-next-80b"), 8) if isinstance(o, LinearAttentionOp)]
    assert ops and {o.variant for o in ops} == {"gdn"}
    with pytest.raises(ValueError, match="unknown linear-attention variant"):
        mech.linear_family("retnet")


def test_lightning_is_costed_as_its_nearest_measured_relative_gdn():
    h = catalog.load_hardware("h200")
    a = mech.linear_attention_time(h, "lightning", "chunk", 8192, 1, 8, 8)
    b = mech.linear_attention_time(h, "gdn", "chunk", 8192, 1, 8, 8)
    assert float(a) == float(b)


def test_gdn_chunk_hand_worked_pipeline_items_and_state_pass():
    """GDN chunked prefill of 2 sequences x 4096 tokens, 8 value / 4 key heads, dk = dv = 128 on H200:
    64 chunks per sequence; 2 x 64 x 8 = 1024 (chunk, head) items over 132 SMs; the state pass runs
    2 x 8 x (128 / 64) = 32 programs (one wave) for 64 sequential steps; the per-chunk states,
    1024 x 128 x 128 x 2 B = 33.6 MB, stay under the fitted on-chip size (nothing spills)."""
    h = catalog.load_hardware("h200")
    e = h.efficiency.linear_attention["gdn"]
    assert 1024 * 128 * 128 * 2 < e.state_cache_bytes
    want = e.chunk_launch_s + e.chunk_row_s * 64 + 1024 * e.chunk_item_s / 132 + 1 * 64 * e.state_step_s
    assert float(mech.linear_attention_time(h, "gdn", "chunk", 8192, 2, 8, 4)) == pytest.approx(want, rel=1e-12)
    # one sequence of the same 8192 tokens: half the items' parallelism is gone from the state pass
    # (128 sequential steps instead of 64), so it costs more although the FLOPs are equal
    assert float(mech.linear_attention_time(h, "gdn", "chunk", 8192, 1, 8, 4)) > want


def test_gdn_conv_hand_worked_strided_copy():
    """GDN prefill conv of 4096 tokens in one sequence, 2 x 4 x 128 + 8 x 128 = 2048 channels: reads
    and writes 4096 x 2048 x 2 B each (33.6 MB, under the strided limit), plus 8 serial token steps."""
    h = catalog.load_hardware("h200")
    e = h.efficiency.linear_attention["gdn"]
    byts = 4096 * 2048 * 2 * 2.0
    assert byts < e.conv_strided_bytes
    want = e.conv_launch_s + 8 * e.conv_row_s + byts / (4.8e12 * e.conv_memory_efficiency)
    assert float(mech.linear_attention_time(h, "gdn", "conv", 4096, 1, 8, 4)) == pytest.approx(want, rel=1e-12)


@needs_data
@pytest.mark.slow
def test_gdn_fit_generalises_to_held_out_head_layouts():
    """Leave-layout-out: the smallest and the largest GDN head layouts per GPU (2 value / 1 key head,
    64 / 16) predicted by a block fitted without their rows. Measured over all 18 layouts held out in
    turn: 7.1% median APE (in sample 7.0%); these two 6.0% and 10.6%."""
    from prfaas_plan.perf.fit_mechanisms import fit_linear, predict_mechanisms

    meas = read_many([str(H200_FILE)])
    meas = meas.select(meas.op == "linear_attention")
    hw = catalog.load_hardware("h200")
    gdn = np.char.startswith(meas.text["kernel"].astype(str), "gdn")
    for heads, kv in ((2, 1), (64, 16)):
        held = gdn & (meas.cols["num_heads"] == heads) & (meas.cols["num_kv_heads"] == kv)
        block = fit_linear(hw, meas.select(~held), "gdn")
        h = hw.model_copy(update={"efficiency": hw.efficiency.model_copy(
            update={"linear_attention": {**hw.efficiency.linear_attention, "gdn": block}})})
        sub = meas.select(held)
        pred = np.full(len(sub), np.nan)
        predict_mechanisms(h, sub, pred)
        ape = float(np.median(np.abs(pred / sub.latency_s - 1.0)))
        print(f"gdn {heads}/{kv} heads held out: median APE {ape:.1%} over {len(sub)} rows")
        assert ape <= 0.12


def test_linear_attention_without_a_fitted_block_is_noted_in_the_output():
    from prfaas_plan.perf.api import kv_throughput

    h = catalog.load_hardware("h200")
    bare = h.model_copy(update={"efficiency": h.efficiency.model_copy(update={"linear_attention": {}})})
    m = catalog.load_model("kimi-linear-48b")
    assert kv_throughput(m, h, 8, [8192]).notes == ()
    notes = kv_throughput(m, bare, 8, [8192]).notes
    assert len(notes) == 1 and "first principles" in notes[0] and "kda" in notes[0]


def test_calibrate_flags_an_engine_parameter_at_its_bound():
    from prfaas_plan.perf.calibration import at_bounds

    e = catalog.load_hardware("h200").efficiency
    assert at_bounds(e) == []  # 0.340 s, 0.0257 s and 1.2 ms: inside (0, 2), (0, 0.2) and (0, 0.02)
    flagged = at_bounds(e.model_copy(update={"forward_overhead_s": 0.197}))
    assert flagged == ["forward_overhead_s=0.197 (bounds 0-0.2)"]


def test_allreduce_hand_worked_ring_and_switch_reduced():
    """1 GiB over 8 H200s: the ring moves 2 x 7/8 x 1 GiB per GPU at the ring efficiency; the
    switch-reduced algorithm (NVLS) sends and receives 1 GiB once at its own efficiency; from the fitted
    switch size up the engine gets the faster. 4 MiB stays on the ring whatever the algorithms' speeds."""
    h = catalog.load_hardware("h200")
    a = h.efficiency.allreduce
    assert a is not None
    b = 2.0**30
    ring = a.latency_s + 2 * 7 / 8 * b / (450e9 * a.bandwidth_efficiency)
    switch = a.latency_s + b / (450e9 * a.switch_bandwidth_efficiency)
    assert b >= a.switch_min_bytes and switch < ring
    assert float(mech.allreduce_time(h, b, 8)) == pytest.approx(switch, rel=1e-12)
    small = 4 * 2.0**20
    want = a.latency_s + 2 * 7 / 8 * small / (450e9 * a.bandwidth_efficiency)
    assert float(mech.allreduce_time(h, small, 8)) == pytest.approx(want, rel=1e-12)
    assert float(mech.allreduce_time(h, b, 1)) == 0.0



def test_allreduce_switch_reduced_only_where_the_switch_reduces():
    """NVLS needs in-network reduction (NVLink SHARP, third-generation NVSwitch on): A100's NVSwitch,
    PCIe (L20) and Infinity Fabric (MI300X) run the ring at every size, even though their borrowed
    all-reduce block carries H200's switch regime."""
    b = 2.0**30
    for name in ("a100", "l20", "mi300x"):
        h = catalog.load_hardware(name)
        a = h.efficiency.allreduce
        assert a is not None and not h.datasheet.switch_reduction
        bw = h.datasheet.scaleup_bandwidth_bytes_per_s
        ring = a.latency_s + 2 * 7 / 8 * b / (bw * a.bandwidth_efficiency)
        assert float(mech.allreduce_time(h, b, 8)) == pytest.approx(ring, rel=1e-12)
    for name in ("h100", "h200", "h20", "b200"):
        assert catalog.load_hardware(name).datasheet.switch_reduction

@needs_data
def test_allreduce_large_8gpu_messages_are_not_over_predicted():
    """The ring alone over-predicted the measured 8-GPU all-reduces of 128 MiB-1 GiB by +38 to +50%
    (they run at ~0.53 of the link as a switch-reduced algorithm); with the switch-reduced mechanism:
    +4 to +12% measured. Bound: every such row within 15%."""
    meas = read_many([str(H200_FILE)])
    meas = meas.select((meas.op == "allreduce") & (meas.cols["tp"] == 8) & (meas.cols["bytes"] >= 2**27))
    err = predict(catalog.load_hardware("h200"), meas) / meas.latency_s - 1.0
    print("8-GPU all-reduce >= 128 MiB:", ", ".join(f"{e:+.0%}" for e in err))
    assert len(err) >= 4 and np.all(np.abs(err) <= 0.15)


def test_perf_and_kv_name_a_missing_linear_attention_block(tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    d = yaml.safe_load((HW_DIR / "h200.yaml").read_text())
    d["efficiency"]["linear_attention"] = {}
    (tmp_path / "gpu.yaml").write_text(yaml.safe_dump(d))
    for cmd in (["perf"], ["kv", "--lengths", "8k"]):
        r = CliRunner().invoke(app, [*cmd, "kimi-linear-48b", "--hardware", str(tmp_path / "gpu.yaml"), "-f", "json"])
        assert r.exit_code == 0, r.output
        notes = json.loads(r.stdout)["notes"]
        assert len(notes) == 1 and "no fitted kda linear-attention block" in notes[0]


def test_calibrate_flags_a_mechanism_parameter_at_its_bound():
    """H20's GDN decode rows (InferSim, host-launched: flat at ~80 us up to batch 32) are fitted by the
    eager step floor plus the state traffic; the additive device launch has nothing left to explain and
    sits at its lower bound 0: the catalog records it and `calibrate` warns."""
    from prfaas_plan.perf.fit_mechanisms import LINEAR_PARAMS, at_bounds

    h20 = catalog.load_hardware("h20").efficiency
    block = h20.linear_attention["gdn"]
    assert h20.fit_at_bounds == [f"linear_attention.gdn.decode_launch_s={block.decode_launch_s:.5g} (bounds 0-0.0005)"]
    assert block.decode_launch_s < 1e-9 and block.eager_step_floor_s > 50e-6
    assert at_bounds("g", block.model_copy(update={"decode_launch_s": 5e-6}), LINEAR_PARAMS["decode"]) == []
    saturated = block.model_copy(update={"decode_launch_s": 5e-6, "decode_memory_efficiency": 1.0})
    assert at_bounds("g", saturated, LINEAR_PARAMS["decode"]) == ["g.decode_memory_efficiency=1 (bounds 0.01-1)"]


@needs_data
def test_eager_step_floor_applies_to_host_launched_rows_only():
    """An InferSim decode row (`gdn:decode (conv+gdn_update)`, timed by triton's do_bench without a CUDA
    graph) at batch 1 reports the host's launch interval; the same step in an aiconfigurator row (one
    kernel) and in serving decode (CUDA graphs: `linear_attention_time`) does not pay it."""
    from prfaas_plan.perf.fit_mechanisms import eager_decode

    hw = catalog.load_hardware("h20")
    e = hw.efficiency.linear_attention["gdn"]
    assert eager_decode("gdn:decode (conv+gdn_update)")
    assert not eager_decode("gdn:fused_recurrent_gated_delta_rule_packed_decode")
    assert not eager_decode("gdn:chunk (conv+kkt+tril+wu+chunk_gdn+chunk_o)")
    meas = read_many([str(H20_FILE)])
    k = meas.text["kernel"].astype(str)
    one = meas.select((meas.op == "linear_attention") & (np.char.find(k, "decode") >= 0) & (meas.cols["batch"] == 1))
    pred = predict(hw, one)
    assert np.allclose(pred, e.eager_step_floor_s)
    device = sum(mech.linear_attention_time(hw, "gdn", kind, 1.0, 1.0, 32.0, 16.0) for kind in ("decode", "conv_update"))
    assert device < 0.2 * e.eager_step_floor_s


@needs_data
def test_moe_fit_reads_gemms_only_from_the_rows():
    """InferSim's H20 MoE rows time the two DeepGEMM grouped GEMMs alone: the fit says so itself (no
    whole-layer traffic parameter, `gemms_only`), so the roofline adds the layer's other kernels; the
    fused-layer rows of the H200 file fit the whole layer. refit_catalog.py asserts this instead of
    setting the flag by hand."""
    from prfaas_plan.perf.fit_mechanisms import fit_moe

    h20 = fit_moe(catalog.load_hardware("h20"), read_many([str(H20_FILE)]), "fp8")
    assert h20.gemms_only and h20.routed_bytes_efficiency is None
    assert catalog.load_hardware("h20").efficiency.moe["fp8"].gemms_only
    assert not catalog.load_hardware("h200").efficiency.moe["fp8"].gemms_only


def test_moe_small_batch_rate_is_per_sm_not_tensor_peak():
    """One token to one of 8 experts (k 4096, n 14336): its row is padded to the 16-row block, so the
    tile work is 6 x 16 x 4096 x 14336 FLOPs over 224 column tiles (all SMs busy at 132 and 66 SMs).
    Compute time = FLOPs x (1 / (peak x efficiency) + 1 / (1 row x SMs x rate)): a GPU with a 6.7x lower
    peak pays only the first term more, one with half the SMs pays the second twice (what a borrowed
    block does on H20: 6.7x less tensor peak, 1.69x fewer SMs)."""
    from prfaas_plan.specs.hardware import MoEEfficiency

    e = MoEEfficiency(compute_efficiency=1.0, memory_efficiency=1.0, launch_s=0.0, routed_work_s_per_mac=0.0,
                      ramp_flops_per_row_sm=1e11, routed_bytes_efficiency=1.0)
    flops = 6 * 16 * 4096 * 14336

    def t(peak, sms):
        args = [np.array([v], dtype=float) for v in (1, 4096, 14336, 8, 1, 1, 1)]
        # bandwidth so large that only compute counts
        return float(mech.moe_core(e, peak, 1e30, sms, 1.0, *args)[0])

    assert t(1e15, 132) == pytest.approx(flops * (1 / 1e15 + 1 / (132 * 1e11)), rel=1e-9)
    assert t(1e15 / 6.7, 132) - t(1e15, 132) == pytest.approx(flops * 5.7 / 1e15, rel=1e-9)
    assert t(1e15, 66) - t(1e15, 132) == pytest.approx(flops / (132 * 1e11), rel=1e-9)


def test_moe_per_sm_rate_is_the_fitted_knee_on_its_own_gpu():
    """The rate the fit stores (`_ramp_rate`) is the knee it fits, reparametrised: on the measuring GPU
    compute time = FLOPs / (peak x efficiency x occupancy) x (1 + knee / rows), the former
    rows / (rows + knee) ramp, at every row count (the 8.442-row knee, 0.7 efficiency, H200's 989 TFLOP/s
    bf16 and 132 SMs; one expert, one row block, so occupancy 1)."""
    from prfaas_plan.perf.fit_mechanisms import _ramp_rate
    from prfaas_plan.specs.hardware import MoEEfficiency

    knee, ce, peak, sms = 8.442, 0.7, 989e12, 132
    e = MoEEfficiency(compute_efficiency=ce, memory_efficiency=1.0, launch_s=0.0, routed_work_s_per_mac=0.0,
                      ramp_flops_per_row_sm=_ramp_rate(knee, peak, ce, sms), routed_bytes_efficiency=1.0)
    for rows in (1, 4, 8, 16, 33, 64):
        args = [np.array([v], dtype=float) for v in (rows, 4096, 33 * 128, 1, 1, 1, 1)]
        flops = 6 * (16 if rows <= 16 else 64) * 4096 * 33 * 128  # padded to the row block
        tiles = np.ceil(rows / (16 if rows <= 16 else 64)) * 66
        t = float(mech.moe_core(e, peak, 1e30, sms, 1.0, *args)[0])
        assert t == pytest.approx(flops / (peak * ce * min(1, tiles / sms)) * (1 + knee / rows), rel=1e-9)


def test_moe_knee_at_a_bound_is_still_flagged():
    """The knee is fitted in rows (bounds 0-4096) but stored as a per-SM rate: `calibrate`'s at-bound
    check converts it back, so a fit that drops the penalty (knee 0, stored null) is flagged as before.
    The shipped H200 knees are inside their bounds and round-trip to the rows they were fitted as
    (int4: 8.442 rows, stored as 7.598e11 FLOP/s per row per SM)."""
    from prfaas_plan.perf.fit_mechanisms import moe_at_bounds

    h = catalog.load_hardware("h200")
    for dt, block in h.efficiency.moe.items():
        assert not [f for f in moe_at_bounds(f"moe.{dt}", h, dt, block) if "ramp_knee_rows" in f]
    int4 = h.efficiency.moe["int4"]
    assert int4.ramp_flops_per_row_sm is not None
    knee = h.peak_flops("bf16") * int4.compute_efficiency / (int4.ramp_flops_per_row_sm * h.datasheet.sm_count)
    assert knee == pytest.approx(8.442, rel=1e-3)  # the ramp_rows the catalog carried before 2026-11-23
    none = int4.model_copy(update={"ramp_flops_per_row_sm": None})
    assert "moe.int4.ramp_knee_rows=0 (bounds 0-4096)" in moe_at_bounds("moe.int4", h, "int4", none)
    big = int4.model_copy(update={"ramp_flops_per_row_sm": int4.ramp_flops_per_row_sm / 1000})
    assert any(f.startswith("moe.int4.ramp_knee_rows=8") for f in moe_at_bounds("moe.int4", h, "int4", big))
