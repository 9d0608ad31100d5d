"""Stage service models of a resolved deployment: prefill time as a function of length (roofline,
or measured points interpolated piecewise-linearly in length as the paper does), the GPU occupancy
per request of a busy prefill instance (capacity, `perf.serving`), and the local cluster's decode
capacity (fixed step time, or the roofline's largest batch within the SLO)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import InfeasibleError
from prfaas_plan.perf.kv import kv_bytes
from prfaas_plan.perf.recipe import resolve_recipe
from prfaas_plan.perf.roofline import decode_step_time, prefill_time
from prfaas_plan.plan.feasibility import check_weights_fit
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.scenario import Cluster, FixedDecode, PrefillProfile, ScenarioSpec
from prfaas_plan.specs.workload import WorkloadSpec

PROFILE_GRID_POINTS = 96


def interp_profile(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Piecewise-linear in length, extended linearly beyond the end points (never below 0)."""

    def f(q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        out = np.interp(q, x, y)
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        hi_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        out = np.where(q < x[0], y[0] + (q - x[0]) * lo_slope, out)
        out = np.where(q > x[-1], y[-1] + (q - x[-1]) * hi_slope, out)
        return np.maximum(out, 1e-6)

    return f


def prefill_profile(model: ModelSpec, hw: HardwareSpec, cl: Cluster, lo: float, hi: float,
                    measured: PrefillProfile | None) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    if measured is not None:
        pts = measured.points
        return (interp_profile(np.array([p.tokens for p in pts]), np.array([p.seconds for p in pts])),
                f"measured ({measured.source})")
    grid = np.unique(np.round(np.geomspace(max(1.0, lo), max(hi, lo + 1), PROFILE_GRID_POINTS)))
    if len(grid) < 2:
        grid = np.array([max(1.0, lo), max(1.0, lo) + 1])
    t = prefill_time(model, hw, cl.gpus_per_instance, grid).seconds
    return interp_profile(grid, t), f"roofline ({hw.efficiency.source})"


def occupancy_profile(model: ModelSpec, hw: HardwareSpec, cl: Cluster, lo: float, hi: float,
                      latency: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """S(l), the GPU time a request occupies on a saturated instance (`perf.serving`), on the same
    grid as the latency profile; a measured latency profile is converted by the roofline's ratio."""
    from prfaas_plan.perf.serving import occupancy_from_latency

    grid = np.unique(np.round(np.geomspace(max(1.0, lo), max(hi, lo + 1), PROFILE_GRID_POINTS)))
    if len(grid) < 2:
        grid = np.array([max(1.0, lo), max(1.0, lo) + 1])
    s = occupancy_from_latency(model, hw, cl.gpus_per_instance, grid, latency(grid))
    return interp_profile(grid, s)


def decode_rps(sc: ScenarioSpec, wl: WorkloadSpec, model: ModelSpec, hw: HardwareSpec,
               mean_in: float, mean_out: float) -> tuple[float, dict[str, Any]]:
    d = sc.decode
    if isinstance(d, FixedDecode):
        step = d.step_time_ms / 1e3
        if 1.0 / step < wl.slo.decode_tokens_per_s:
            raise InfeasibleError(
                f"decode step {d.step_time_ms} ms gives {1 / step:.1f} tokens/s per request, below the "
                f"SLO of {wl.slo.decode_tokens_per_s} tokens/s", where="decode.step_time_ms",
                fix="lower the step time or the SLO",
            )
        return d.max_batch / (step * mean_out), {"mode": "fixed", "max_batch": d.max_batch, "step_time_s": step}
    g = sc.local.gpus_per_instance
    free = check_weights_fit(model, hw, g, "local.hardware")
    ctx = mean_in + mean_out / 2
    b = np.arange(1, d.max_batch_limit + 1, dtype=float)
    t = decode_step_time(model, hw, g, b, ctx).total
    kv = float(kv_bytes(model, [ctx])[0])
    ok = (t <= 1.0 / wl.slo.decode_tokens_per_s) & (b * kv <= free)
    if not ok.any():
        raise InfeasibleError(
            f"no decode batch meets {wl.slo.decode_tokens_per_s} tokens/s per request on "
            f"{g} x {hw.name} (one sequence takes {t[0] * 1e3:.1f} ms per step, or its KV does not fit)",
            where="workload.slo.decode_tokens_per_s", fix="relax the SLO or use more GPUs per instance",
        )
    k = int(np.nonzero(ok)[0].max())
    return float(b[k] / (t[k] * mean_out)), {"mode": "roofline", "max_batch": int(b[k]), "step_time_s": float(t[k])}


def fixed_decode_ratio(cat: Catalog, sc: ScenarioSpec, model: ModelSpec, hw: HardwareSpec, gpus: int,
                       ctx: float) -> float:
    """How much faster `gpus` x `hw` serving `model` decodes than the scenario's local GPU, for a `fixed`
    decode capacity measured there: the ratio of roofline decode step times at its batch and context
    `ctx`. Each side runs the checkpoint its own recipe resolves to on its GPU (`perf.recipe`), so a
    GPU whose HBM holds only a smaller checkpoint is not costed with the reference's."""
    d = sc.decode
    assert isinstance(d, FixedDecode)
    base, ref_hw, ref_g = cat.model(sc.model), cat.hardware(sc.local.hardware), sc.local.gpus_per_instance
    ref_model = base.with_recipe(resolve_recipe(base, ref_hw, ref_g, sc.local.recipe, "local.recipe"))
    ref = decode_step_time(ref_model, ref_hw, ref_g, [d.max_batch], ctx).total[0]
    new = decode_step_time(model, hw, gpus, [d.max_batch], ctx).total[0]
    return float(ref / new)
