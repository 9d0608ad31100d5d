"""Predicting measured kernels, fitting a GPU's efficiency parameters, and error statistics.

The fit minimises the squared log-ratio of predicted to measured latency (a relative error, so a
2 us kernel and a 20 ms kernel weigh the same), per op class and dtype, with scipy's bounded
least squares. System-level parameters (per-request and per-forward overheads, collective
efficiency) are not kernel measurements; they are fit separately (`fit_system`) on end-to-end
prefill latencies and are kept as they are by `fit_kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.measurements import Measurements
from prfaas_plan.perf import kernels
from prfaas_plan.specs.hardware import (
    Efficiency,
    GemmEfficiency,
    HardwareSpec,
    KernelEfficiency,
)

Arr = NDArray[np.float64]
ACT_BYTES = 2.0


def predict(hw: HardwareSpec, meas: Measurements) -> Arr:
    """Roofline prediction (seconds) for every measured row."""
    out = np.full(len(meas), np.nan)
    c = meas.cols
    for dt in np.unique(meas.dtype):
        sel = (meas.op == "gemm") & (meas.dtype == dt)
        if sel.any():
            out[sel] = kernels.gemm_time(hw, str(dt), c["m"][sel], c["n"][sel], c["k"][sel])
    sel = meas.op == "prefill_attention"
    if sel.any():
        hd = c["head_dim"][sel]
        out[sel] = kernels.prefill_attention_time(
            hw, c["batch"][sel], c["seq_len"][sel], 0.0, c["num_heads"][sel],
            c["num_kv_heads"][sel], hd, hd,
        )
    sel = meas.op == "decode_attention"
    if sel.any():
        hd = c["head_dim"][sel]
        out[sel] = kernels.decode_attention_time(
            hw, c["batch"][sel], c["seq_len"][sel], c["num_heads"][sel],
            c["num_kv_heads"][sel] * 2 * hd * ACT_BYTES, hd, hd,
        )
    sel = meas.op == "copy"
    if sel.any():
        out[sel] = kernels.copy_time(hw, c["bytes"][sel])
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
    rel = pred / meas.latency_s - 1.0
    ape = np.abs(rel)
    groups: list[GroupStats] = []
    keys = sorted(set(zip(meas.op.tolist(), meas.dtype.tolist(), strict=True)))
    for op, dt in keys:
        s = (meas.op == op) & (meas.dtype == dt)
        groups.append(
            GroupStats(
                op, dt, int(s.sum()), float(ape[s].mean()), float(np.median(ape[s])),
                float(np.percentile(ape[s], 90)), float(np.median(rel[s])),
            )
        )
    overall = {"mape": float(ape.mean()), "median_ape": float(np.median(ape))}
    return groups, overall


def _lsq(fun: Any, x0: list[float], lo: list[float], hi: list[float]) -> Arr:
    from scipy.optimize import least_squares

    res = least_squares(fun, x0, bounds=(lo, hi), x_scale="jac", max_nfev=4000)
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

    x0 = [prior.compute_efficiency, prior.memory_efficiency, max(prior.launch_s * 1e6, 1.0),
          prior.saturation_tiles_per_sm, prior.activation_quant_efficiency or 0.5]
    x = _lsq(lambda p: np.log(model(p) / y), x0, [0.02, 0.02, 0.0, 0.01, 0.02], [1.0, 1.0, 200.0, 100.0, 2.0])
    return GemmEfficiency(
        compute_efficiency=round(float(x[0]), 4), memory_efficiency=round(float(x[1]), 4),
        launch_s=round(float(x[2]) * 1e-6, 9), saturation_tiles_per_sm=round(float(x[3]), 4),
        activation_quant_efficiency=round(float(x[4]), 4) if quant else None,
    )


def _fit_attention(hw: HardwareSpec, meas: Measurements, op: str, prior: KernelEfficiency) -> KernelEfficiency:
    s = meas.op == op
    sub = meas.select(s)
    y = sub.latency_s

    def with_params(p: Arr) -> HardwareSpec:
        ke = KernelEfficiency.model_construct(
            compute_efficiency=float(p[0]), memory_efficiency=float(p[1]), launch_s=float(p[2]) * 1e-6
        )
        return hw.model_copy(update={"efficiency": hw.efficiency.model_copy(update={op: ke})})

    x0 = [prior.compute_efficiency, prior.memory_efficiency, max(prior.launch_s * 1e6, 1.0)]
    x = _lsq(lambda p: np.log(predict(with_params(p), sub) / y), x0, [0.02, 0.02, 0.0], [1.0, 1.0, 500.0])
    return KernelEfficiency(
        compute_efficiency=round(float(x[0]), 4), memory_efficiency=round(float(x[1]), 4),
        launch_s=round(float(x[2]) * 1e-6, 9),
    )


def _fit_copy(hw: HardwareSpec, meas: Measurements) -> float:
    s = meas.op == "copy"
    b, y = meas.cols["bytes"][s], meas.latency_s[s]
    launch = hw.efficiency.gemm["bf16"].launch_s
    bw = hw.datasheet.hbm_bandwidth_bytes_per_s
    x = _lsq(lambda p: np.log((launch + 2 * b / (bw * p[0])) / y), [hw.efficiency.memory_efficiency], [0.02], [1.0])
    return round(float(x[0]), 4)


def fit_kernels(hw: HardwareSpec, meas: Measurements, source: str) -> Efficiency:
    """Refit every kernel class present in `meas`; classes without data keep their priors."""
    eff = hw.efficiency
    gemm = dict(eff.gemm)
    for dt in sorted(set(meas.dtype[meas.op == "gemm"].tolist())):
        gemm[dt] = _fit_gemm(hw, meas, dt, gemm.get(dt) or eff.gemm["bf16"])
    upd: dict[str, Any] = {"gemm": gemm, "source": source}
    for op in ("prefill_attention", "decode_attention"):
        if (meas.op == op).sum() >= 3:
            upd[op] = _fit_attention(hw, meas, op, getattr(eff, op))
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


SYSTEM_PARAMS = ("request_overhead_s", "forward_overhead_s", "moe_effective_rows_factor")


def fit_system(
    hw: HardwareSpec, targets: list[PrefillTarget], params: tuple[str, ...] = SYSTEM_PARAMS
) -> tuple[Efficiency, Arr]:
    """Fit the engine-level parameters on end-to-end prefill latencies (relative error).

    `params` chooses which of SYSTEM_PARAMS are free (the rest keep the block's values).
    Returns the new efficiency block and the relative residuals (pred / measured - 1) per target.
    """
    from prfaas_plan.perf.roofline import prefill_time

    y = np.array([t.seconds for t in targets])

    bounds = {"request_overhead_s": (0.0, 2.0), "forward_overhead_s": (0.0, 0.2), "moe_effective_rows_factor": (1.0, 8.0)}

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

    x0 = [getattr(hw.efficiency, k) for k in params]
    lo, hi = [bounds[k][0] for k in params], [bounds[k][1] for k in params]
    x = _lsq(lambda p: np.log(pred(p) / y), x0, lo, hi)
    x = np.array([round(float(v), 4) for v in x])
    rel = pred(x) / y - 1.0
    return with_params(x).efficiency, rel
