"""Predicting measured kernels, fitting a GPU's efficiency parameters, and error statistics.

The fit minimises the squared log-ratio of predicted to measured latency (a relative error, so a
2 us kernel and a 20 ms kernel weigh the same), per op class and dtype, with scipy's bounded
least squares. System-level parameters (per-request and per-forward overheads, collective
efficiency) are not kernel measurements; they are fit separately (`fit_system`) on end-to-end
prefill latencies and are kept as they are by `fit_kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.perf import kernels
from prfaas_plan.perf.fit_mechanisms import fit_mechanisms, group_label, predict_mechanisms
from prfaas_plan.perf.floors import below_floor
from prfaas_plan.specs.hardware import (
    Efficiency,
    GemmEfficiency,
    HardwareSpec,
    KernelEfficiency,
)
from prfaas_plan.specs.measurements import Measurements

Arr = NDArray[np.float64]


def predict(hw: HardwareSpec, meas: Measurements) -> Arr:
    """Roofline prediction (seconds) for every measured row."""
    out = np.full(len(meas), np.nan)
    c = meas.cols
    for dt in np.unique(meas.dtype):
        sel = (meas.op == "gemm") & (meas.dtype == dt)
        if sel.any():
            out[sel] = kernels.gemm_time(hw, str(dt), c["m"][sel], c["n"][sel], c["k"][sel])
    for dt in np.unique(meas.dtype):  # attention activations and caches in the row's dtype
        ab = kernels.DTYPE_OPERAND_BYTES.get(str(dt), kernels.OUTPUT_BYTES)
        sel = (meas.op == "prefill_attention") & (meas.dtype == dt)
        if sel.any():
            hd = c["head_dim"][sel]
            out[sel] = kernels.prefill_attention_time(
                hw, c["batch"][sel], c["seq_len"][sel], 0.0, c["num_heads"][sel],
                c["num_kv_heads"][sel], hd, hd, act_bytes=ab, dtype=str(dt),
            )
        sel = (meas.op == "decode_attention") & (meas.dtype == dt)
        if sel.any():
            hd = c["head_dim"][sel]
            out[sel] = kernels.decode_attention_time(
                hw, c["batch"][sel], c["seq_len"][sel], c["num_heads"][sel],
                c["num_kv_heads"][sel] * 2 * hd * ab, hd, hd, dtype=str(dt), kv_heads=c["num_kv_heads"][sel],
            )
    sel = meas.op == "copy"
    if sel.any():
        out[sel] = kernels.copy_time(hw, c["bytes"][sel])
    predict_mechanisms(hw, meas, out)
    return out


@dataclass(frozen=True)
class GroupStats:
    op: str
    dtype: str
    count: int
    mape: float
    median_ape: float
    p90_ape: float
    bias: float


def error_stats(pred: Arr, meas: Measurements) -> tuple[list[GroupStats], dict[str, float]]:
    """Errors per (op, dtype); MoE rows are split by routing, linear attention by variant, all-reduce
    by launch mode (`fit_mechanisms.group_label`). Rows without a prediction (a mechanism the GPU has
    no block for) are left out."""
    ok = np.isfinite(pred)
    pred, meas = pred[ok], meas.select(ok)
    rel = pred / meas.latency_s - 1.0
    ape = np.abs(rel)
    groups: list[GroupStats] = []
    ops = np.array([group_label(meas, i) for i in range(len(meas))])
    keys = sorted(set(zip(ops.tolist(), meas.dtype.tolist(), strict=True)))
    for op, dt in keys:
        s = (ops == op) & (meas.dtype == dt)
        groups.append(
            GroupStats(
                op, dt, int(s.sum()), float(ape[s].mean()), float(np.median(ape[s])),
                float(np.percentile(ape[s], 90)), float(np.median(rel[s])),
            )
        )
    overall = {"mape": float(ape.mean()), "median_ape": float(np.median(ape))}
    return groups, overall


def shape_label(meas: Measurements, i: int) -> str:
    c = meas.cols
    if meas.op[i] == "gemm":
        return f"{c['m'][i]:.0f}x{c['n'][i]:.0f}x{c['k'][i]:.0f}"
    if meas.op[i] in ("copy", "allreduce"):
        return f"{c['bytes'][i] / 2**20:.3f} MiB" + (f" x{c['tp'][i]:.0f}" if meas.op[i] == "allreduce" else "")
    if meas.op[i] == "moe":
        return (f"m{c['m'][i]:.0f} k{c['k'][i]:.0f} n{c['n'][i]:.0f} E{c['num_experts'][i]:.0f}/{c['topk'][i]:.0f} "
                f"tp{c['tp'][i]:.0f} ep{c['ep'][i]:.0f}")
    if meas.op[i] == "linear_attention":
        return f"{meas.text['kernel'][i]} m{c['m'][i]:.0f} b{c['batch'][i]:.0f} h{c['num_heads'][i]:.0f}"
    return (f"b{c['batch'][i]:.0f} s{c['seq_len'][i]:.0f} h{c['num_heads'][i]:.0f}/{c['num_kv_heads'][i]:.0f}"
            f"x{c['head_dim'][i]:.0f}")


def worst_rows(pred: Arr, meas: Measurements, n: int = 5) -> list[dict[str, Any]]:
    """The `n` rows with the largest absolute relative error (row = data line in its file)."""
    rel = np.where(np.isfinite(pred), pred / meas.latency_s - 1.0, 0.0)
    idx = np.argsort(-np.abs(rel), kind="stable")[:n]
    return [{"op": str(meas.op[i]), "dtype": str(meas.dtype[i]), "shape": shape_label(meas, int(i)),
             "measured_ms": float(meas.latency_s[i] * 1e3), "predicted_ms": float(pred[i] * 1e3),
             "error": float(rel[i])} for i in idx]


def _start(prior: float, default: float) -> float:
    """Where a fit starts a parameter whose lower bound is 0: the prior (the catalog's value, so a
    refit on unchanged data starts where it ended), or `default` when the prior is at or near 0,
    where a max() the parameter enters has no gradient."""
    return prior if prior > 1e-3 * default else default


KEEP_START_REL = 1e-4  # a fit must lower the cost by more than this fraction to leave its start


def _lsq(fun: Any, x0: list[float], lo: list[float], hi: list[float]) -> Arr:
    """Bounded least squares from `x0` (the catalog's current values when refitting). The start is
    kept unless the fit lowers the cost by more than KEEP_START_REL: the solver's stopping tolerance
    on these kinked (max/min) models, with the 4-digit rounding of what is stored, otherwise made
    `benchmarks/refit_catalog.py` alternate between near-equal points (H20's prefill attention:
    7.13 vs 7.04 us launch) or creep along flat directions (H100's compute-bound prefill attention's
    memory efficiency), so a rerun on unchanged data changed the catalog."""
    from scipy.optimize import least_squares

    res = least_squares(fun, x0, bounds=(lo, hi), x_scale="jac", max_nfev=4000)
    start = np.clip(np.asarray(x0, dtype=float), lo, hi)
    with np.errstate(all="ignore"):
        r0 = np.asarray(fun(start), dtype=float)
    c0 = 0.5 * float(np.sum(r0 * r0))
    if np.isfinite(c0) and res.cost >= c0 * (1.0 - KEEP_START_REL):
        return start
    return np.asarray(res.x, dtype=float)


def _fit_gemm(hw: HardwareSpec, meas: Measurements, dt: str, prior: GemmEfficiency) -> GemmEfficiency:
    s = (meas.op == "gemm") & (meas.dtype == dt)
    m, n, k = (meas.cols[x][s] for x in ("m", "n", "k"))
    y = meas.latency_s[s]
    ds = hw.datasheet
    quant = dt == "fp8"

    def model(p: Arr) -> Arr:
        return kernels.gemm_core(
            m, n, k, np.ones_like(m), peak=hw.peak_flops(dt), bw=ds.hbm_bandwidth_bytes_per_s,
            sms=ds.sm_count, operand_bytes=kernels.DTYPE_OPERAND_BYTES.get(dt, 2.0),
            compute_eff=p[0], memory_eff=p[1], launch_s=p[2] * 1e-6, sat_tiles_per_sm=p[3],
            quant_eff=p[4] if quant else None,
        )

    x0 = [prior.compute_efficiency, prior.memory_efficiency, _start(prior.launch_s * 1e6, 1.0),
          prior.saturation_tiles_per_sm, prior.activation_quant_efficiency or 0.5]
    x = _lsq(lambda p: np.log(model(p) / y), x0, [0.02, 0.02, 0.0, 0.01, 0.02], [1.0, 1.0, 200.0, 100.0, 2.0])
    return GemmEfficiency(
        compute_efficiency=round(float(x[0]), 4), memory_efficiency=round(float(x[1]), 4),
        launch_s=round(float(x[2]) * 1e-6, 9), saturation_tiles_per_sm=round(float(x[3]), 4),
        activation_quant_efficiency=round(float(x[4]), 4) if quant else None,
    )


def _fit_attention(hw: HardwareSpec, meas: Measurements, op: str, prior: KernelEfficiency) -> KernelEfficiency:
    """Compute and memory efficiency and launch latency; decode attention also its per-work-item
    cost, prefill attention its occupancy ramp (saturation tiles per SM)."""
    s = meas.op == op
    sub = meas.select(s)
    y = sub.latency_s
    items = op == "decode_attention"

    def with_params(p: Arr) -> HardwareSpec:
        ke = KernelEfficiency.model_construct(
            compute_efficiency=float(p[0]), memory_efficiency=float(p[1]), launch_s=float(p[2]) * 1e-6,
            work_item_s=float(p[3]) * 1e-6 if items else 0.0,
            saturation_tiles_per_sm=0.0 if items else float(p[3]),
        )
        return hw.model_copy(update={"efficiency": hw.efficiency.model_copy(update={op: ke})})

    x0 = [prior.compute_efficiency, prior.memory_efficiency, _start(prior.launch_s * 1e6, 1.0)]
    lo, hi = [0.02, 0.02, 0.0], [1.0, 1.0, 500.0]
    if items:
        x0, lo, hi = x0 + [_start(prior.work_item_s * 1e6, 0.5)], lo + [0.0], hi + [100.0]
    else:
        x0, lo, hi = x0 + [_start(prior.saturation_tiles_per_sm, 0.5)], lo + [0.0], hi + [20.0]
    x = _lsq(lambda p: np.log(predict(with_params(p), sub) / y), x0, lo, hi)
    return KernelEfficiency(
        compute_efficiency=round(float(x[0]), 4), memory_efficiency=round(float(x[1]), 4),
        launch_s=round(float(x[2]) * 1e-6, 9), work_item_s=round(float(x[3]) * 1e-6, 9) if items else 0.0,
        saturation_tiles_per_sm=0.0 if items else round(float(x[3]), 4),
    )


def _fit_copy(hw: HardwareSpec, meas: Measurements) -> float:
    s = meas.op == "copy"
    b, y = meas.cols["bytes"][s], meas.latency_s[s]
    launch = hw.efficiency.gemm["bf16"].launch_s
    bw = hw.datasheet.hbm_bandwidth_bytes_per_s
    x = _lsq(lambda p: np.log((launch + 2 * b / (bw * p[0])) / y), [hw.efficiency.memory_efficiency], [0.02], [1.0])
    return round(float(x[0]), 4)


# shapes named in `source` when rows below the physical floor are left out: a file of 20,000 such rows
# wrote a 355 kB source (every label), printed whole in titles and heading for the YAML size limit
FLOOR_LABELS = 10


def fit_kernels(hw: HardwareSpec, meas: Measurements, source: str) -> Efficiency:
    """Refit every kernel class present in `meas`; classes without data keep their priors. Rows
    measured faster than the GPU's physical floor (`perf.floors`) are left out and named in `source`."""
    bad = below_floor(hw, meas)
    if bad.any():
        idx = np.flatnonzero(bad)
        more = f" and {len(idx) - FLOOR_LABELS} more (prfaas validate lists them)" if len(idx) > FLOOR_LABELS else ""
        source += (f" ({len(idx)} row(s) faster than the physical floor left out: "
                   + ", ".join(shape_label(meas, int(i)) for i in idx[:FLOOR_LABELS]) + more + ")")
        meas = meas.select(~bad)
    eff = hw.efficiency
    gemm = dict(eff.gemm)
    for dt in sorted(set(meas.dtype[meas.op == "gemm"].tolist())):
        gemm[dt] = _fit_gemm(hw, meas, dt, gemm.get(dt) or eff.gemm["bf16"])
    upd: dict[str, Any] = {"gemm": gemm, "source": source}
    for op in ("prefill_attention", "decode_attention"):
        if (meas.op == op).sum() >= 3:
            upd[op] = _fit_attention(hw, meas, op, getattr(eff, op))
    upd.update(fit_mechanisms(hw, meas))
    hw_new = hw.model_copy(update={"efficiency": eff.model_copy(update=upd)})
    if (meas.op == "copy").sum() >= 1:
        upd["memory_efficiency"] = _fit_copy(hw_new, meas)
        hw_new = hw.model_copy(update={"efficiency": eff.model_copy(update=upd)})
    groups, overall = error_stats(predict(hw_new, meas), meas)
    upd["fit_residuals"] = {f"{g.op}/{g.dtype}/median_ape": round(g.median_ape, 4) for g in groups}
    upd["fit_residuals"]["overall/median_ape"] = round(overall["median_ape"], 4)
    # model_copy skips validation; re-validate the dumped block so a bad fit cannot slip through
    return Efficiency.model_validate(eff.model_copy(update=upd).model_dump())


@dataclass(frozen=True)
class PrefillTarget:
    """A measured end-to-end prefill latency of one model on one instance.

    `tokens` is one length, or several with `weights` (summing to 1) when the measurement is a
    mean over a length distribution (e.g. a mean TTFT): the prediction is then sum(w * T(l)).
    """

    model: Any  # ModelSpec
    gpus: int
    tokens: Any  # float or array of lengths
    seconds: float
    label: str
    weights: Any = None  # None or array like tokens


SYSTEM_PARAMS = ("request_overhead_s", "forward_overhead_s", "layer_launch_s")
SYSTEM_BOUNDS = {"request_overhead_s": (0.0, 2.0), "forward_overhead_s": (0.0, 0.2), "layer_launch_s": (0.0, 0.02)}


def at_bounds(eff: Efficiency, params: tuple[str, ...] = SYSTEM_PARAMS, rel: float = 0.02) -> list[str]:
    """The fitted engine parameters within `rel` of a bound of their fit (`calibrate` flags them: a value
    at its bound absorbs something the kernel models miss, or the data cannot place it)."""
    out = []
    for k in params:
        lo, hi = SYSTEM_BOUNDS[k]
        v = float(getattr(eff, k))
        if v <= lo + rel * (hi - lo) or v >= hi - rel * (hi - lo):
            out.append(f"{k}={v:g} (bounds {lo:g}-{hi:g})")
    return out


def fit_system(
    hw: HardwareSpec, targets: list[PrefillTarget], params: tuple[str, ...] = SYSTEM_PARAMS
) -> tuple[Efficiency, Arr]:
    """Fit the engine-level parameters on end-to-end prefill latencies (relative error).

    `params` chooses which of SYSTEM_PARAMS are free (the rest keep the block's values).
    Returns the new efficiency block and the relative residuals (pred / measured - 1) per target.
    """
    from prfaas_plan.perf.roofline import prefill_time

    y = np.array([t.seconds for t in targets])

    bounds = SYSTEM_BOUNDS

    def with_params(p: Arr) -> HardwareSpec:
        eff = hw.efficiency.model_copy(update=dict(zip(params, map(float, p), strict=True)))
        return hw.model_copy(update={"efficiency": eff})

    def one(t: PrefillTarget, h: HardwareSpec) -> float:
        sec = prefill_time(t.model, h, t.gpus, np.atleast_1d(t.tokens)).seconds
        w = np.ones(1) if t.weights is None else np.asarray(t.weights, dtype=float)
        return float(np.dot(w, sec))

    def pred(p: Arr) -> Arr:
        h = with_params(p)
        return np.array([one(t, h) for t in targets])

    # at layer_launch_s = 0 the max() it enters has no gradient: start it where it can bind (1 ms a layer)
    x0 = [max(getattr(hw.efficiency, k), 1e-3) if k == "layer_launch_s" else getattr(hw.efficiency, k) for k in params]
    lo, hi = [bounds[k][0] for k in params], [bounds[k][1] for k in params]
    x = _lsq(lambda p: np.log(pred(p) / y), x0, lo, hi)
    x = np.array([round(float(v), 4) for v in x])
    rel = pred(x) / y - 1.0
    return with_params(x).efficiency, rel


def fit_host_cpu(meas: Measurements, meta: dict[str, Any] | None = None) -> HardwareSpec:
    """`host_cpu_spec` with its kernels fitted. The roofline runs bf16 models through the bf16
    GEMM entry; on a CPU that is the fp32 BLAS path, so bf16 = the fitted fp32 entry."""
    hw = host_cpu_spec(meas, meta)
    eff = fit_kernels(hw, meas, "prfaas calibrate --hardware cpu on " + ", ".join(Path(f).name for f in meas.files))
    gemm = dict(eff.gemm)
    gemm["bf16"] = gemm.get("fp32", gemm["bf16"])
    eff = eff.model_copy(update={"gemm": gemm, "source": eff.source + " (bf16 GEMMs = the fitted fp32 entry; "
                                 "engine overheads not fitted: zero)"})
    return hw.model_copy(update={"efficiency": eff})


def host_cpu_spec(meas: Measurements, meta: dict[str, Any] | None = None) -> HardwareSpec:
    """A hardware entry for the measuring host's CPU, from its own measurements (`prfaas profile
    --device cpu`): peak FLOP/s = the achieved rate of the largest measured GEMM, memory bandwidth =
    that of the largest copy (read + write). Compute units = cores and capacity = memory, from
    `meta` (the profiler's sidecar, or this machine's facts). Efficiencies start neutral and are
    then fitted by `fit_kernels`; engine-level parameters are zero (no end-to-end CPU prefill
    measurements exist to fit them).
    """
    import os

    from prfaas_plan.errors import PrfaasError

    meta = meta or {}
    c = meas.cols
    g = np.flatnonzero(meas.op == "gemm")
    cp = np.flatnonzero(meas.op == "copy")
    if len(g) == 0 or len(cp) == 0:
        raise PrfaasError("--hardware cpu needs GEMM and copy rows to take the peaks from",
                          where=", ".join(meas.files), fix="profile with `prfaas profile --device cpu`")
    flops = 2 * c["m"][g] * c["n"][g] * c["k"][g]
    i = g[int(np.argmax(flops))]
    peak = float(flops.max() / meas.latency_s[i])
    j = cp[int(np.argmax(c["bytes"][cp]))]
    bw = float(2 * c["bytes"][j] / meas.latency_s[j])
    cores = int(meta.get("cores") or os.cpu_count() or 1)
    mem = float(meta.get("memory_bytes") or 0.0)
    if mem <= 0:
        raise PrfaasError("--hardware cpu: the host's memory size is unknown",
                          fix="keep the profiler's NAME.meta.yaml next to NAME.csv")
    src = (f"measured by prfaas profile: peak = largest GEMM ({int(c['m'][i])}x{int(c['n'][i])}x{int(c['k'][i])}, "
           f"{peak / 1e9:.1f} GFLOP/s), bandwidth = largest copy ({c['bytes'][j] / 2**20:.0f} MiB, {bw / 1e9:.1f} GB/s); "
           f"compute units = {cores} cores; scale-up and NIC figures are placeholders (one host)")
    neutral_g = GemmEfficiency(compute_efficiency=0.9, memory_efficiency=0.9, launch_s=5e-6, saturation_tiles_per_sm=1.0)
    neutral_k = KernelEfficiency(compute_efficiency=0.5, memory_efficiency=0.5, launch_s=20e-6)
    eff = Efficiency(
        source="neutral prior", gemm={"bf16": neutral_g, "fp32": neutral_g}, prefill_attention=neutral_k,
        decode_attention=neutral_k, memory_efficiency=1.0, scaleup_efficiency=1.0, collective_latency_s=0.0,
        request_overhead_s=0.0, forward_overhead_s=0.0, prefill_chunk_tokens=8192,
    )
    return HardwareSpec.model_validate({
        "name": "cpu", "display_name": str(meta.get("device_name") or "host CPU"), "vendor": "cpu",
        "datasheet": {
            "bf16_dense_flops_per_s": peak, "fp32_flops_per_s": peak, "hbm_capacity_bytes": mem,
            "hbm_bandwidth_bytes_per_s": bw, "scaleup_bandwidth_bytes_per_s": bw, "nic_bandwidth_gbps": 10.0,
            "sm_count": cores, "max_gpus_per_scaleup_domain": 1, "source": src,
        },
        "efficiency": eff.model_dump(),
    })
