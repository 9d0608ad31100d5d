"""Turns a scenario file (plus `--set` overrides) into the planner's numeric inputs.

This is the edge between files/catalogs and the pure planner: it loads the model and GPUs,
builds the length distribution, evaluates prefill profiles (roofline, or measured points
interpolated piecewise-linearly in length as the paper does) and decode capacity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from prfaas_plan import catalog
from prfaas_plan.errors import InfeasibleError, PrfaasError
from prfaas_plan.perf.kv import kv_bytes
from prfaas_plan.perf.roofline import decode_step_time, prefill_time
from prfaas_plan.plan import dist as D
from prfaas_plan.plan.feasibility import check_weights_fit
from prfaas_plan.plan.planner import PlanInputs
from prfaas_plan.plan.throughput import RouteModel
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.scenario import Cluster, FixedDecode, PrefillProfile, ScenarioSpec
from prfaas_plan.specs.workload import (
    FixedLen,
    HistogramLen,
    LogNormalLen,
    MixtureLen,
    QuantileLen,
    WorkloadSpec,
)

DEFAULT_SCENARIO = "prfaas-paper"
PROFILE_GRID_POINTS = 96


def apply_overrides(data: dict[str, Any], sets: list[str], where: str) -> dict[str, Any]:
    import yaml

    for s in sets:
        if "=" not in s:
            raise PrfaasError(f"--set '{s}' is not PATH=VALUE", fix="e.g. --set link.bandwidth_gbps=50")
        path, raw = s.split("=", 1)
        keys = [k for k in path.strip().split(".") if k]
        if not keys:
            raise PrfaasError(f"--set '{s}' has an empty path")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node: Any = data
        for k in keys[:-1]:
            if not isinstance(node, dict):
                raise PrfaasError(f"--set {path}: '{k}' is not a section", where=where)
            if node.get(k) is None:
                node[k] = {}
            node = node[k]
        if not isinstance(node, dict):
            raise PrfaasError(f"--set {path}: parent is not a section", where=where)
        node[keys[-1]] = value
    return data


def load_scenario(ref: str | None, sets: list[str] | None = None) -> tuple[ScenarioSpec, WorkloadSpec, str]:
    path = catalog.resolve("scenarios", ref or DEFAULT_SCENARIO)
    data = catalog.read_yaml(path)
    if not isinstance(data, dict):
        raise PrfaasError("expected a mapping at the top level", where=str(path))
    data = apply_overrides(data, sets or [], str(path))
    sc = catalog.validate_data(ScenarioSpec, data, str(path))
    if isinstance(sc.workload, str):
        wl = catalog.load("workloads", sc.workload, WorkloadSpec)
    else:
        wl = sc.workload
    return sc, wl, str(path)


def length_dist(spec: Any) -> D.LengthDist:
    if isinstance(spec, LogNormalLen):
        return D.TruncLogNormal(spec.mu, spec.sigma, spec.lo, spec.hi)
    if isinstance(spec, FixedLen):
        return D.Fixed(spec.tokens)
    if isinstance(spec, QuantileLen):
        return D.PiecewiseCDF(tuple(t for _, t in spec.points), tuple(p for p, _ in spec.points))
    if isinstance(spec, HistogramLen):
        c = np.concatenate([[0.0], np.cumsum(spec.counts)])
        return D.PiecewiseCDF(tuple(spec.edges), tuple((c / c[-1]).tolist()))
    if isinstance(spec, MixtureLen):
        return D.Mixture(tuple(length_dist(c.dist) for c in spec.components),
                         tuple(c.weight for c in spec.components))
    raise PrfaasError(f"unsupported length distribution {type(spec).__name__}")


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


def build_inputs(sc: ScenarioSpec, wl: WorkloadSpec, path: str, paper_approximation: bool,
                 load: float | None, atoms: int = D.DEFAULT_ATOMS) -> tuple[PlanInputs, dict[str, Any]]:
    model = catalog.load_model(sc.model)
    local_hw = catalog.load_hardware(sc.local.hardware)
    check_weights_fit(model, local_hw, sc.local.gpus_per_instance, f"{path}: local")
    if wl.prefix_cache.uncached_length is not None:
        din, unc = length_dist(wl.prefix_cache.uncached_length), 1.0
    else:
        din, unc = length_dist(wl.input_length), 1.0 - wl.prefix_cache.cached_fraction
    L = np.maximum(din.discretize(atoms) * unc, 1.0)
    lo, hi = float(L[0]), float(L[-1])
    bounds = np.concatenate([[lo], din.ppf(np.arange(1, atoms) / atoms) * unc, [hi]])
    mean_out = length_dist(wl.output_length).mean
    local_prof, local_src = prefill_profile(model, local_hw, sc.local, lo, hi, sc.local.prefill_profile)
    kvf = lambda q: kv_bytes(model, q)  # noqa: E731
    S = kvf(L)
    mean_full = float(length_dist(wl.input_length).mean)  # decode holds the whole context, cached or not
    drps, dinfo = decode_rps(sc, wl, model, local_hw, mean_full, mean_out)
    egress = sc.link.bandwidth_gbps * sc.link.usable_fraction * 1e9 / 8
    info: dict[str, Any] = {"local_profile": local_src, "decode": dinfo, "model": model.name,
                            "mean_input_tokens": mean_full, "mean_uncached_tokens": float(L.mean()),
                            "mean_output_tokens": mean_out,
                            "atoms": atoms}
    n_prf = 0
    t_prf = None
    prf_prof = None
    prf_price = None
    if sc.prfaas is not None:
        prf_hw = catalog.load_hardware(sc.prfaas.hardware)
        check_weights_fit(model, prf_hw, sc.prfaas.gpus_per_instance, f"{path}: prfaas")
        prf_prof, prf_src = prefill_profile(model, prf_hw, sc.prfaas, lo, hi, sc.prfaas.prefill_profile)
        t_prf = prf_prof(L)
        n_prf = sc.prfaas.instances
        info["prfaas_profile"] = prf_src
        prf_price = _price(sc.prfaas, prf_hw)
    n_local = sc.local.instances
    if n_local < 2 and n_prf == 0:
        raise InfeasibleError("the local cluster needs at least 2 instances (prefill + decode)",
                              where=f"{path}: local.gpus", fix="add GPUs or a prfaas cluster")
    t_loc = local_prof(L)
    rm = RouteModel(L, bounds, t_prf, t_loc, S, prf_prof, local_prof, kvf, egress, drps)
    total_gpus = sc.local.gpus + (sc.prfaas.gpus if sc.prfaas else 0)
    homo_n = total_gpus // sc.local.gpus_per_instance
    homo_rm = RouteModel(L, bounds, None, t_loc, S, None, local_prof, kvf, egress, drps)
    loc_price = _price(sc.local, local_hw)
    inp = PlanInputs(
        scenario=sc.name, route=rm, n_prfaas=n_prf, n_local=n_local, homogeneous_instances=homo_n,
        homo_route=homo_rm,
        prfaas_instance_usd_h=prf_price * sc.prfaas.gpus_per_instance if (prf_price and sc.prfaas) else None,
        local_instance_usd_h=loc_price * sc.local.gpus_per_instance if loc_price else None,
        link_gbps=sc.link.bandwidth_gbps, rtt_s=sc.link.rtt_ms / 1e3,
        burstiness_scv=wl.arrival.burstiness_scv, load=load if load is not None else sc.load,
        paper_approximation=paper_approximation,
    )
    info["prices"] = {
        "prfaas": {"usd_per_gpu_hour": prf_price, "source": _price_src(sc.prfaas, None) if sc.prfaas else None},
        "local": {"usd_per_gpu_hour": loc_price, "source": _price_src(sc.local, local_hw)},
    }
    return inp, info


def _price(cl: Cluster, hw: HardwareSpec) -> float | None:
    if cl.price_usd_per_gpu_hour is not None:
        return cl.price_usd_per_gpu_hour
    return hw.price.usd_per_gpu_hour if hw.price else None


def _price_src(cl: Cluster, hw: HardwareSpec | None) -> str | None:
    if cl.price_usd_per_gpu_hour is not None:
        return cl.price_source or "scenario"
    hwx = hw or catalog.load_hardware(cl.hardware)
    return f"catalog: {hwx.price.source} ({hwx.price.date})" if hwx.price else None



def _cluster_for(sc: ScenarioSpec, hardware: str, instances: int, base: Cluster) -> Cluster:
    """A cluster of `hardware` with the scenario's instance size; the scenario's measured prefill
    profile and price carry over only to a cluster of the same hardware and instance size."""
    same = [c for c in (sc.prfaas, sc.local) if c is not None and c.hardware == hardware
            and c.gpus_per_instance == base.gpus_per_instance]
    src = same[0] if same else None
    prof = next((c.prefill_profile for c in same if c.prefill_profile is not None), None)
    return Cluster(
        hardware=hardware, gpus=base.gpus_per_instance * instances, gpus_per_instance=base.gpus_per_instance,
        price_usd_per_gpu_hour=src.price_usd_per_gpu_hour if src else None,
        price_source=src.price_source if src else None, prefill_profile=prof,
    )


def price_of(sc: ScenarioSpec, hardware: str) -> tuple[float | None, str | None]:
    """Price per GPU-hour of a GPU type and its source: the scenario's own (for a cluster of that
    type) or the catalog's."""
    cl = _cluster_for(sc, hardware, 1, sc.local)
    hw = catalog.load_hardware(hardware)
    src = _price_src(cl, hw)
    return _price(cl, hw), (f"scenario: {src}" if cl.price_usd_per_gpu_hour is not None else src)


def mix_inputs(sc: ScenarioSpec, wl: WorkloadSpec, path: str, prfaas_hw: str | None, local_hw: str,
               n_prfaas: int = 1, n_local: int = 2, atoms: int = D.DEFAULT_ATOMS) -> tuple[PlanInputs, dict[str, Any]]:
    """Planner inputs for `n_prfaas` PrfaaS instances of `prfaas_hw` (or none) and `n_local` local
    instances of `local_hw`; `prfaas compare` scores every count from the 1 + 2 instance inputs.
    A `fixed` decode capacity is the scenario's local GPU's; on another local GPU its step time is
    scaled by the roofline ratio of decode step times at that batch and the mean context (noted)."""
    base_prf = sc.prfaas or sc.local
    prf = _cluster_for(sc, prfaas_hw, n_prfaas, base_prf) if prfaas_hw else None
    loc = _cluster_for(sc, local_hw, n_local, sc.local)
    sc2 = sc.model_copy(update={"prfaas": prf, "local": loc})
    inp, info = build_inputs(sc2, wl, path, False, None, atoms)
    if isinstance(sc.decode, FixedDecode) and local_hw != sc.local.hardware:
        model = catalog.load_model(sc.model)
        g = sc.local.gpus_per_instance
        ctx = info["mean_input_tokens"] + info["mean_output_tokens"] / 2
        t_ref = decode_step_time(model, catalog.load_hardware(sc.local.hardware), g, [sc.decode.max_batch], ctx).total[0]
        t_new = decode_step_time(model, catalog.load_hardware(local_hw), g, [sc.decode.max_batch], ctx).total[0]
        ratio = float(t_ref / t_new)
        inp = dataclasses.replace(  # both routings: the PrfaaS-PD one and the homogeneous baseline's
            inp,
            route=dataclasses.replace(inp.route, decode_rps_per_instance=inp.route.decode_rps_per_instance * ratio),
            homo_route=dataclasses.replace(
                inp.homo_route, decode_rps_per_instance=inp.homo_route.decode_rps_per_instance * ratio),
        )
        info["decode_scaled"] = ratio
    info["prices"]["prfaas_instance_usd_h"] = inp.prfaas_instance_usd_h
    info["prices"]["local_instance_usd_h"] = inp.local_instance_usd_h
    return inp, info
