"""Predicting and fitting the mechanism kernels (`perf.mechanisms`) on measured rows: `moe`,
`mla_prefill_attention`, `mla_decode_attention`, `linear_attention`, `allreduce`.

Every fit minimises a robust (soft-L1) loss of the log-ratio of predicted to measured latency over
kernel rows only: quadratic up to ROBUST_SCALE (10%), linear beyond, so the erratic regimes some
measured sets hold (GDN kernels beyond L2, TLB-bound strided copies) do not pull the fit of the
rest; the statistic the project reports is the median APE.
MoE is fitted on balanced-routing rows; the power-law rows are predicted, not fitted (routing skew is
a stated effect, see `perf.mechanisms`). `leave_shape_out` refits with each whole MoE expert shape
(hidden, expert size, experts, top-k) held out in turn and returns the out-of-sample errors.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.perf import mechanisms as mech
from prfaas_plan.specs.hardware import (
    AllReduceEfficiency,
    HardwareSpec,
    KernelEfficiency,
    LinearAttentionEfficiency,
    MoEEfficiency,
)
from prfaas_plan.specs.measurements import Measurements

Arr = NDArray[np.float64]
MECH_OPS = ("moe", "mla_prefill_attention", "mla_decode_attention", "linear_attention", "allreduce")
BALANCED = "balanced"
ROBUST_SCALE = 0.1


def eager_decode(kernel: str) -> bool:
    """A row that sums a decode step's kernels timed by host-launched back-to-back calls: InferSim's
    `variant:decode (k1+k2)` rows (its kernel_benchmark scripts time with triton.testing.do_bench, no
    CUDA graph), so the step cannot report less than the host's launch interval (`eager_step_floor_s`)."""
    _, _, name = kernel.partition(":")
    return "(" in name and not name.startswith("chunk")


def linear_kernels(kernel: str) -> tuple[str, list[str]]:
    """(variant, kernel kinds summed in the row) from a `kernel` column such as `gdn:chunk_kda`."""
    variant, _, name = kernel.partition(":")
    if "(" in name:  # InferSim rows: one row sums the phase's kernels
        return variant, (["chunk", "conv"] if name.startswith("chunk") else ["decode", "conv_update"])
    if "conv1d_update" in name:
        return variant, ["conv_update"]
    if "conv1d" in name:
        return variant, ["conv"]
    if "decode" in name:
        return variant, ["decode"]
    return variant, ["chunk"]


def group_label(meas: Measurements, i: int) -> str:
    """The op a row is reported under: MoE split by routing, linear attention by variant."""
    op = str(meas.op[i])
    if op == "moe":
        col = meas.text.get("distribution")
        dist = (str(col[i]) if col is not None else "") or BALANCED
        return op if dist == BALANCED else f"moe[{dist}]"
    if op == "linear_attention":
        return f"linear_attention[{linear_kernels(str(meas.text['kernel'][i]))[0]}]"
    if op == "allreduce":
        return "allreduce[graph]" if "graph" in str(meas.text["kernel"][i]) else "allreduce[eager]"
    return op


def predict_mechanisms(hw: HardwareSpec, meas: Measurements, out: Arr) -> None:
    """Fill `out` (seconds) for every mechanism row of `meas` the GPU has a block for."""
    c, eff = meas.cols, hw.efficiency
    for dt in ("bf16", "fp8", "int4"):
        s = (meas.op == "moe") & (meas.dtype == dt)
        if s.any() and dt in eff.moe:
            out[s] = mech.moe_time(hw, dt, *(c[x][s] for x in ("m", "k", "n", "num_experts", "topk", "tp", "ep")))
    for dt in ("bf16", "fp8"):
        s = (meas.op == "mla_prefill_attention") & (meas.dtype == dt)
        if s.any():
            out[s] = mech.mla_prefill_time(hw, c["batch"][s], c["seq_len"][s], 0.0, c["num_heads"][s], dt)
        s = (meas.op == "mla_decode_attention") & (meas.dtype == dt)
        if s.any():
            out[s] = mech.mla_decode_time(hw, c["batch"][s], c["seq_len"][s], c["num_heads"][s], dt)
    lin = np.flatnonzero(meas.op == "linear_attention")
    if len(lin):
        parsed = [linear_kernels(str(k)) for k in meas.text["kernel"][lin]]
        for key in sorted({(v, tuple(k)) for v, k in parsed}):
            rows = lin[[p == (key[0], list(key[1])) for p in parsed]]
            args = (c["m"][rows], c["batch"][rows], c["num_heads"][rows], c["num_kv_heads"][rows],
                    c["head_dim"][rows], c["head_dim"][rows])
            out[rows] = sum((mech.linear_attention_time(hw, key[0], k, *args) for k in key[1]), np.zeros(len(rows)))
            if eager_decode(str(meas.text["kernel"][rows[0]])):
                e = hw.efficiency.linear_attention.get(mech.linear_family(key[0]))  # type: ignore[call-overload]
                out[rows] = np.maximum(out[rows], e.eager_step_floor_s if e is not None else 0.0)
    s = meas.op == "allreduce"
    if s.any():
        graph = np.char.find(meas.text["kernel"][s].astype(str), "graph") >= 0
        out[s] = np.where(graph, mech.allreduce_time(hw, c["bytes"][s], c["tp"][s], True),
                          mech.allreduce_time(hw, c["bytes"][s], c["tp"][s], False))


def _lsq(fun: Any, x0: list[float], lo: list[float], hi: list[float]) -> Arr:
    from scipy.optimize import least_squares

    res = least_squares(fun, x0, bounds=(lo, hi), x_scale="jac", max_nfev=3000, loss="soft_l1", f_scale=ROBUST_SCALE)
    return np.asarray(res.x, dtype=float)


# per fitted block: (field, unit the fit works in, start, lower, upper); the bounds also say which fitted
# values ended at a bound (`at_bounds`)
MOE_PARAMS: list[tuple[str, float, float, float, float]] = [
    ("compute_efficiency", 1.0, 0.5, 0.02, 1.0), ("memory_efficiency", 1.0, 0.8, 0.05, 1.0),
    ("launch_s", 1e-6, 20.0, 0.0, 500.0), ("routed_work_s_per_mac", 1e-15, 0.5, 0.0, 500.0),
    ("ramp_knee_rows", 1.0, 1.0, 0.0, 4096.0), ("routed_bytes_efficiency", 1.0, 0.5, 0.01, 1.0)]
ALLREDUCE_PARAMS: list[tuple[str, float, float, float, float]] = [
    ("latency_s", 1e-6, 5.0, 0.0, 200.0), ("eager_latency_s", 1e-6, 20.0, 0.0, 500.0),
    ("bandwidth_efficiency", 1.0, 0.6, 0.02, 1.0), ("switch_bandwidth_efficiency", 1.0, 0.5, 0.02, 1.0)]
BOUND_TOLERANCE = 1e-3  # of the parameter's start value (its scale): closer to a bound than this is "at" it


def at_bounds(path: str, block: Any, params: list[tuple[str, float, float, float, float]]) -> list[str]:
    """`path.field=value` for each fitted field of `block` at a bound of its fit (calibrate warns: the data
    cannot place it, or it absorbs what the mechanism misses)."""
    out = []
    for name, u, x0, lo, hi in params:
        v = getattr(block, name, None)
        if v is None:
            continue
        x, tol = float(v) / u, BOUND_TOLERANCE * abs(x0)
        if x <= lo + tol or x >= hi - tol:
            out.append(f"{path}.{name}={float(v):g} (bounds {lo * u:g}-{hi * u:g})")
    return out


def _ramp_rate(knee_rows: float, peak: float, ce: float, sms: int) -> float | None:
    """The per-SM small-batch rate of a knee at `knee_rows` rows per expert on the measuring GPU: its
    compute rate halves there (rows x SMs x rate = peak x efficiency); None for no knee."""
    return peak * ce / (knee_rows * sms) if knee_rows > 0 else None


def moe_at_bounds(path: str, hw: HardwareSpec, dt: str, e: MoEEfficiency) -> list[str]:
    """`at_bounds` for a fused-MoE block: the knee is fitted in rows but stored as a per-SM rate, so it is
    checked as the knee it was fitted as (rows x SMs x rate = peak x efficiency; no penalty = knee 0)."""
    r = e.ramp_flops_per_row_sm
    knee = _moe_peak(hw, dt) * e.compute_efficiency / (r * hw.datasheet.sm_count) if r else 0.0
    return at_bounds(path, SimpleNamespace(**dict(e), ramp_knee_rows=knee), MOE_PARAMS)


def _moe_peak(hw: HardwareSpec, dt: str) -> float:
    return hw.peak_flops("fp8" if dt == "fp8" else "bf16")


def _round4(v: float | None) -> float | None:
    return None if v is None else float(f"{v:.4g}")


def _moe_block(p: Arr, peak: float, sms: int) -> MoEEfficiency:
    return MoEEfficiency.model_construct(compute_efficiency=float(p[0]), memory_efficiency=float(p[1]),
                                         launch_s=float(p[2]) * 1e-6, routed_work_s_per_mac=float(p[3]) * 1e-15,
                                         ramp_flops_per_row_sm=_ramp_rate(float(p[4]), peak, float(p[0]), sms),
                                         routed_bytes_efficiency=float(p[5]) if len(p) > 5 else None)


def fit_moe(hw: HardwareSpec, meas: Measurements, dt: str) -> MoEEfficiency:
    """The fused-MoE block of one weights dtype, on its balanced-routing rows. Rows that time only the
    grouped GEMMs (InferSim's DeepGEMM rows: no activation, no top-k sum) fit no whole-layer traffic."""
    dist = meas.text.get("distribution", np.array([""] * len(meas)))
    s = (meas.op == "moe") & (meas.dtype == dt) & ((dist == BALANCED) | (dist == ""))
    cols = [meas.cols[x][s] for x in ("m", "k", "n", "num_experts", "topk", "tp", "ep")]
    y = meas.latency_s[s]
    kern = meas.text.get("kernel", np.full(len(meas), ""))[s].astype(str)
    gemm_only = bool(np.all(np.char.find(kern, "grouped_gemm") >= 0))
    ds = hw.datasheet
    peak = _moe_peak(hw, dt)

    def f(p: Arr) -> Arr:
        t = mech.moe_core(_moe_block(p, peak, ds.sm_count), peak, ds.hbm_bandwidth_bytes_per_s, ds.sm_count,
                          mech.WEIGHT_BYTES[dt], *cols)
        return np.asarray(np.log(t / y), dtype=float)

    n = 5 if gemm_only else 6
    x = _lsq(f, [p[2] for p in MOE_PARAMS[:n]], [p[3] for p in MOE_PARAMS[:n]], [p[4] for p in MOE_PARAMS[:n]])
    return MoEEfficiency(compute_efficiency=round(float(x[0]), 4), memory_efficiency=round(float(x[1]), 4),
                         launch_s=round(float(x[2]) * 1e-6, 9), routed_work_s_per_mac=float(f"{x[3] * 1e-15:.4g}"),
                         ramp_flops_per_row_sm=_round4(_ramp_rate(round(float(x[4]), 3), peak, round(float(x[0]), 4),
                                                                  ds.sm_count)),
                         routed_bytes_efficiency=None if gemm_only else round(float(x[5]), 4), gemms_only=gemm_only)


def _fit_mla(hw: HardwareSpec, meas: Measurements, op: str, prior: KernelEfficiency, dt: str) -> KernelEfficiency:
    sub = meas.select(meas.op == op)
    y = sub.latency_s
    decode = op == "mla_decode_attention"

    def block(p: Arr) -> KernelEfficiency:
        return KernelEfficiency.model_construct(
            compute_efficiency=float(p[0]), memory_efficiency=float(p[1]), launch_s=float(p[2]) * 1e-6,
            work_item_s=float(p[3]) * 1e-6 if decode else 0.0, saturation_tiles_per_sm=0.0 if decode else float(p[3]))

    def f(p: Arr) -> Arr:
        h = hw.model_copy(update={"efficiency": hw.efficiency.model_copy(
            update={op: {**getattr(hw.efficiency, op), dt: block(p)}})})
        out = np.full(len(sub), np.nan)
        predict_mechanisms(h, sub, out)
        return np.asarray(np.log(out / y), dtype=float)

    x0 = [prior.compute_efficiency, prior.memory_efficiency, max(prior.launch_s * 1e6, 1.0),
          max(prior.work_item_s * 1e6, 0.5) if decode else max(prior.saturation_tiles_per_sm, 0.3)]
    x = _lsq(f, x0, [0.02, 0.02, 0.0, 0.0], [1.0, 1.0, 500.0, 100.0 if decode else 20.0])
    return KernelEfficiency(
        compute_efficiency=round(float(x[0]), 4), memory_efficiency=round(float(x[1]), 4),
        launch_s=round(float(x[2]) * 1e-6, 9), work_item_s=round(float(x[3]) * 1e-6, 9) if decode else 0.0,
        saturation_tiles_per_sm=0.0 if decode else round(float(x[3]), 4))


# per kernel kind: (field, unit the fit works in, start, lower, upper)
LINEAR_PARAMS: dict[str, list[tuple[str, float, float, float, float]]] = {
    "chunk": [("chunk_launch_s", 1e-6, 20.0, 0.0, 500.0), ("chunk_row_s", 1e-6, 0.2, 0.0, 10.0),
              ("chunk_item_s", 1e-6, 10.0, 0.0, 1000.0), ("state_step_s", 1e-6, 1.0, 0.0, 100.0),
              ("state_cache_bytes", 2.0**20, 64.0, 1.0, 1e5), ("state_spill_efficiency", 1.0, 0.1, 1e-3, 1.0)],
    "conv": [("conv_launch_s", 1e-6, 2.0, 0.0, 500.0), ("conv_row_s", 1e-6, 0.2, 0.0, 10.0),
             ("conv_memory_efficiency", 1.0, 0.5, 0.01, 1.0), ("conv_strided_bytes", 2.0**20, 256.0, 1.0, 1e6),
             ("conv_spill_efficiency", 1.0, 0.2, 0.01, 1.0)],
    "conv_update": [("conv_update_launch_s", 1e-6, 2.0, 0.0, 500.0),
                    ("conv_update_memory_efficiency", 1.0, 0.5, 0.01, 1.0)],
    "decode": [("decode_launch_s", 1e-6, 4.0, 0.0, 500.0), ("decode_memory_efficiency", 1.0, 0.7, 0.01, 1.0)],
}
# a kernel kind with fewer rows (and more than two parameters) is not fitted: it keeps the prior block's values
# (on H20, h200's block: its chunk kind has 2 rows, whose 32- and 64-head latencies are identical; rescaling
# h200's block on them made H20's 64K chunk 2x faster than H200's, implausible with 78 SMs and 148 TFLOP/s)
FULL_FIT_ROWS = 30
# fitted with the decode kind when at least 3 of its rows are host-launched (`eager_decode`)
EAGER_FLOOR_PARAM = ("eager_step_floor_s", 1e-6, 50.0, 0.0, 500.0)


def _linear_plan(meas: Measurements, variant: str) -> tuple[Arr, list[Any]]:
    """Rows of `variant` and the free parameters (field, unit, start, lo, hi). Free
    parameters start from fixed values (not the catalog's), so a refit reproduces its own result."""
    idx = [i for i in np.flatnonzero(meas.op == "linear_attention")
           if linear_kernels(str(meas.text["kernel"][i]))[0] == variant]
    mains = [linear_kernels(str(meas.text["kernel"][i]))[1][0] for i in idx]
    free: list[Any] = []
    for kind, params in LINEAR_PARAMS.items():
        n = mains.count(kind)
        if n >= FULL_FIT_ROWS or (n >= 3 and len(params) <= 2):
            free += list(params)
    if sum(eager_decode(str(meas.text["kernel"][i])) for i in idx) >= 3 and LINEAR_PARAMS["decode"][0] in free:
        free.append(EAGER_FLOOR_PARAM)
    return np.asarray(idx, dtype=int), free


def fit_linear(hw: HardwareSpec, meas: Measurements, variant: str) -> LinearAttentionEfficiency:
    """One variant's linear-attention block on all its rows (each row's kernels summed). A row that
    sums several kernels (InferSim) informs its main kernel only; the others keep the prior block's
    values, and so do kernel kinds with fewer than FULL_FIT_ROWS rows."""
    old = hw.efficiency.linear_attention.get(variant)  # type: ignore[call-overload]
    prior = old.model_dump() if old is not None else {}
    for name, u, x0, *_ in (p for ps in LINEAR_PARAMS.values() for p in ps):
        prior[name] = prior.get(name) or x0 * u
    idx, free = _linear_plan(meas, variant)
    sub = meas.select(np.isin(np.arange(len(meas)), idx))
    y = sub.latency_s

    def values(p: Arr) -> dict[str, float]:
        vals = dict(prior)
        for fr, x in zip(free, p, strict=True):
            vals[fr[0]] = float(x) * fr[1]
        return vals

    def f(p: Arr) -> Arr:
        lin = dict(hw.efficiency.linear_attention)
        lin[variant] = LinearAttentionEfficiency.model_construct(None, **values(p))  # type: ignore[index]
        h = hw.model_copy(update={"efficiency": hw.efficiency.model_copy(update={"linear_attention": lin})})
        out = np.full(len(sub), np.nan)
        predict_mechanisms(h, sub, out)
        return np.asarray(np.log(out / y), dtype=float)

    x = _lsq(f, [fr[2] for fr in free], [fr[3] for fr in free], [fr[4] for fr in free]) if free else np.zeros(0)
    return LinearAttentionEfficiency(**{k: float(f"{v:.5g}") for k, v in values(x).items()})


SWITCH_SIZES_MIB = (8, 16, 32, 64, 128, 256)  # grid for the switch-reduced algorithm's smallest message


def fit_allreduce(hw: HardwareSpec, meas: Measurements) -> AllReduceEfficiency:
    """Latencies (graph, eager), ring and switch-reduced efficiencies fitted for each switch size on the
    grid; the size with the smallest robust loss is kept."""
    s = meas.op == "allreduce"
    b, g, y = meas.cols["bytes"][s], meas.cols["tp"][s], meas.latency_s[s]
    graph = np.char.find(meas.text["kernel"][s].astype(str), "graph") >= 0
    bw = hw.datasheet.scaleup_bandwidth_bytes_per_s
    best: tuple[float, float, Arr] | None = None
    for mib in SWITCH_SIZES_MIB:
        def f(p: Arr, sw: float = mib * 2.0**20) -> Arr:
            t = mech.allreduce_core(np.where(graph, p[0], p[1]) * 1e-6, p[2], sw, p[3], bw, b, g)
            return np.asarray(np.log(t / y), dtype=float)

        x = _lsq(f, [p[2] for p in ALLREDUCE_PARAMS], [p[3] for p in ALLREDUCE_PARAMS], [p[4] for p in ALLREDUCE_PARAMS])
        r = f(x) / ROBUST_SCALE
        loss = float(np.sum(np.sqrt(1.0 + r * r) - 1.0))  # the soft-L1 loss the fit minimised
        if best is None or loss < best[0] - 1e-9:
            best = (loss, mib * 2.0**20, x)
    assert best is not None
    _, sw, x = best
    return AllReduceEfficiency(latency_s=round(float(x[0]) * 1e-6, 9), eager_latency_s=round(float(x[1]) * 1e-6, 9),
                               bandwidth_efficiency=round(float(x[2]), 4), switch_min_bytes=sw,
                               switch_bandwidth_efficiency=round(float(x[3]), 4))


def fit_mechanisms(hw: HardwareSpec, meas: Measurements) -> dict[str, Any]:
    """Efficiency-block updates for every mechanism with rows in `meas` (others keep their blocks)."""
    eff = hw.efficiency
    upd: dict[str, Any] = {}
    flags: list[str] = []
    moe = dict(eff.moe)
    for dt in ("bf16", "fp8", "int4"):
        if ((meas.op == "moe") & (meas.dtype == dt)).sum() >= 5:
            moe[dt] = fit_moe(hw, meas, dt)
            flags += moe_at_bounds(f"moe.{dt}", hw, dt, moe[dt])
    if moe:
        upd["moe"] = moe
    for op, prior in (("mla_prefill_attention", eff.prefill_attention), ("mla_decode_attention", eff.decode_attention)):
        blocks = dict(getattr(eff, op))
        for dt in ("bf16", "fp8"):
            if ((meas.op == op) & (meas.dtype == dt)).sum() >= 5:
                blocks[dt] = _fit_mla(hw, meas.select(meas.dtype == dt), op, prior, dt)  # start: the GPU's MHA block
        if blocks:
            upd[op] = blocks
    lin = dict(eff.linear_attention)
    for variant in ("gdn", "kda"):
        n = sum(1 for i in np.flatnonzero(meas.op == "linear_attention")
                if linear_kernels(str(meas.text["kernel"][i]))[0] == variant)
        if n >= 7:
            lin[variant] = fit_linear(hw, meas, variant)
            flags += at_bounds(f"linear_attention.{variant}", lin[variant], _linear_plan(meas, variant)[1])
    if lin:
        upd["linear_attention"] = lin
    if (meas.op == "allreduce").sum() >= 3:
        upd["allreduce"] = fit_allreduce(hw, meas)
        flags += at_bounds("allreduce", upd["allreduce"], ALLREDUCE_PARAMS)
    upd["fit_at_bounds"] = flags or None
    return upd


def moe_shapes(meas: Measurements) -> list[tuple[float, float, float, float]]:
    s = meas.op == "moe"
    c = meas.cols
    return sorted(set(zip(c["k"][s], c["n"][s], c["num_experts"][s], c["topk"][s], strict=True)))


def leave_shape_out(hw: HardwareSpec, meas: Measurements) -> dict[str, Arr]:
    """Out-of-sample relative errors of the MoE fit per dtype: each whole expert shape predicted by a
    block fitted on the other shapes' rows (balanced routing)."""
    c = meas.cols
    out: dict[str, list[Arr]] = {}
    dist = meas.text.get("distribution", np.array([""] * len(meas)))
    for shape in moe_shapes(meas):
        this = (meas.op == "moe") & (c["k"] == shape[0]) & (c["n"] == shape[1]) & (c["num_experts"] == shape[2]) & \
            (c["topk"] == shape[3]) & ((dist == BALANCED) | (dist == ""))
        for dt in sorted(set(meas.dtype[this].tolist())):
            held = this & (meas.dtype == dt)
            rest = meas.select(~held)
            if ((rest.op == "moe") & (rest.dtype == dt)).sum() < 5:
                continue
            h = hw.model_copy(update={"efficiency": hw.efficiency.model_copy(
                update={"moe": {**hw.efficiency.moe, dt: fit_moe(hw, rest, dt)}})})
            sub = meas.select(held)
            pred = np.full(len(sub), np.nan)
            predict_mechanisms(h, sub, pred)
            out.setdefault(dt, []).append(pred / sub.latency_s - 1.0)
    return {k: np.concatenate(v) for k, v in out.items()}
