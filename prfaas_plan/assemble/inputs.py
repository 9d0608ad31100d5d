"""A scenario (plus the catalog) -> the planner's numeric inputs (`plan.planner.PlanInputs`).

`build_inputs` discretises the workload's uncached lengths into atoms, evaluates each cluster's
prefill profile and the local decode capacity (`assemble.profiles`), and prices the instances
(`assemble.prices`). `mix_inputs` does the same for another GPU mix (`prfaas compare`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from prfaas_plan.assemble.deployment import resolve_deployment
from prfaas_plan.assemble.distributions import length_dist
from prfaas_plan.assemble.prices import cluster_for, cluster_price, cluster_price_source
from prfaas_plan.assemble.profiles import decode_rps, fixed_decode_ratio, occupancy_profile, prefill_profile
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import InfeasibleError
from prfaas_plan.perf.kv import kv_bytes
from prfaas_plan.perf.recipe import resolve_recipe
from prfaas_plan.plan import dist as D
from prfaas_plan.plan.planner import PlanInputs
from prfaas_plan.plan.throughput import RouteModel
from prfaas_plan.specs.scenario import FixedDecode, ScenarioSpec
from prfaas_plan.specs.workload import WorkloadSpec


@dataclass(frozen=True)
class Lengths:
    atoms: np.ndarray  # uncached prompt lengths, equal-probability atoms
    bounds: np.ndarray  # the atoms' quantile bounds
    mean_full: float  # mean whole prompt (decode holds the whole context, cached or not)
    mean_out: float


def workload_lengths(wl: WorkloadSpec, atoms: int) -> Lengths:
    if wl.prefix_cache.uncached_length is not None:
        din, unc = length_dist(wl.prefix_cache.uncached_length), 1.0
    else:
        din, unc = length_dist(wl.input_length), 1.0 - wl.prefix_cache.cached_fraction
    L = np.maximum(din.discretize(atoms) * unc, 1.0)
    bounds = np.concatenate([[float(L[0])], din.ppf(np.arange(1, atoms) / atoms) * unc, [float(L[-1])]])
    return Lengths(L, bounds, float(length_dist(wl.input_length).mean), length_dist(wl.output_length).mean)


def _occupancy(sc: ScenarioSpec, dep: Any, L: np.ndarray, local_prof: Any, prf_prof: Any) -> dict[str, Any]:
    """RouteModel's occupancy fields: capacity as steady-state throughput (`perf.serving`), or none
    (capacity = 1 / latency, the paper's Eqs. 3-4) when the scenario says `prefill_capacity: latency`."""
    if sc.prefill_capacity != "throughput":
        return {}
    lo, hi = float(L[0]), float(L[-1])
    occ: dict[str, Any] = {"local_occupancy": occupancy_profile(dep.model, dep.local_hw, sc.local, lo, hi, local_prof)}
    occ["s_local"] = occ["local_occupancy"](L)
    if sc.prfaas is not None and dep.prfaas_hw is not None and prf_prof is not None:
        occ["prfaas_occupancy"] = occupancy_profile(dep.prfaas_model or dep.model, dep.prfaas_hw, sc.prfaas, lo, hi,
                                                    prf_prof)
        occ["s_prfaas"] = occ["prfaas_occupancy"](L)
    return occ


def build_inputs(cat: Catalog, sc: ScenarioSpec, wl: WorkloadSpec, path: str, paper_approximation: bool,
                 load: float | None, atoms: int = D.DEFAULT_ATOMS) -> tuple[PlanInputs, dict[str, Any]]:
    dep = resolve_deployment(cat, sc, path)
    model, local_hw = dep.model, dep.local_hw
    ln = workload_lengths(wl, atoms)
    L = ln.atoms
    lo, hi = float(L[0]), float(L[-1])
    local_prof, local_src = prefill_profile(model, local_hw, sc.local, lo, hi, sc.local.prefill_profile)
    kvf = lambda q: kv_bytes(model, q)  # noqa: E731
    S = kvf(L)
    drps, dinfo = decode_rps(sc, wl, model, local_hw, ln.mean_full, ln.mean_out)
    egress = sc.link.bandwidth_gbps * sc.link.usable_fraction * 1e9 / 8
    info: dict[str, Any] = {"local_profile": local_src, "decode": dinfo, "model": model.name, "recipes": dep.recipes(),
                            "mean_input_tokens": ln.mean_full, "mean_uncached_tokens": float(L.mean()),
                            "mean_output_tokens": ln.mean_out, "atoms": atoms}
    n_prf, t_prf, prf_prof, prf_price = 0, None, None, None
    if sc.prfaas is not None and dep.prfaas_hw is not None:
        prf_prof, info["prfaas_profile"] = prefill_profile(dep.prfaas_model or model, dep.prfaas_hw, sc.prfaas, lo, hi,
                                                           sc.prfaas.prefill_profile)
        t_prf, n_prf = prf_prof(L), sc.prfaas.instances
        prf_price = cluster_price(sc.prfaas, dep.prfaas_hw)
    if sc.local.instances < 2 and n_prf == 0:
        raise InfeasibleError("the local cluster needs at least 2 instances (prefill + decode)",
                              where=f"{path}: local.gpus", fix="add GPUs or a prfaas cluster")
    t_loc = local_prof(L)
    occ = _occupancy(sc, dep, L, local_prof, prf_prof)
    info["prefill_capacity"] = sc.prefill_capacity
    rm = RouteModel(L, ln.bounds, t_prf, t_loc, S, prf_prof, local_prof, kvf, egress, drps, **occ)
    total_gpus = sc.local.gpus + (sc.prfaas.gpus if sc.prfaas else 0)
    homo_rm = RouteModel(L, ln.bounds, None, t_loc, S, None, local_prof, kvf, egress, drps,
                         s_local=occ.get("s_local"), local_occupancy=occ.get("local_occupancy"))
    loc_price = cluster_price(sc.local, local_hw)
    inp = PlanInputs(
        scenario=sc.name, route=rm, n_prfaas=n_prf, n_local=sc.local.instances,
        homogeneous_instances=total_gpus // sc.local.gpus_per_instance, homo_route=homo_rm,
        prfaas_instance_usd_h=prf_price * sc.prfaas.gpus_per_instance if (prf_price and sc.prfaas) else None,
        local_instance_usd_h=loc_price * sc.local.gpus_per_instance if loc_price else None,
        link_gbps=sc.link.bandwidth_gbps, rtt_s=sc.link.rtt_ms / 1e3,
        burstiness_scv=wl.arrival.burstiness_scv, load=load if load is not None else sc.load,
        paper_approximation=paper_approximation,
        routing=(sc.routing.threshold_tokens, sc.routing.pd_prefill_instances) if sc.routing else None,
        ttft_p90_slo_s=wl.slo.ttft_p90_s, decode_tokens_per_s_slo=wl.slo.decode_tokens_per_s,
        tpot_s=float(dinfo["step_time_s"]),
    )
    prf_src = cluster_price_source(sc.prfaas, dep.prfaas_hw) if sc.prfaas and dep.prfaas_hw else None
    info["prices"] = {
        "prfaas": {"usd_per_gpu_hour": prf_price, "source": prf_src},
        "local": {"usd_per_gpu_hour": loc_price, "source": cluster_price_source(sc.local, local_hw)},
    }
    return inp, info


def _scale_decode(inp: PlanInputs, ratio: float) -> PlanInputs:
    """Both routings' decode capacity (the PrfaaS-PD one and the homogeneous baseline's) x `ratio`."""
    return dataclasses.replace(
        inp,
        route=dataclasses.replace(inp.route, decode_rps_per_instance=inp.route.decode_rps_per_instance * ratio),
        homo_route=dataclasses.replace(
            inp.homo_route, decode_rps_per_instance=inp.homo_route.decode_rps_per_instance * ratio),
    )


def mix_inputs(cat: Catalog, sc: ScenarioSpec, wl: WorkloadSpec, path: str, prfaas_hw: str | None, local_hw: str,
               n_prfaas: int = 1, n_local: int = 2, atoms: int = D.DEFAULT_ATOMS) -> tuple[PlanInputs, dict[str, Any]]:
    """Planner inputs for `n_prfaas` PrfaaS instances of `prfaas_hw` (or none) and `n_local` local
    instances of `local_hw`; `prfaas compare` scores every count from the 1 + 2 instance inputs.
    A `fixed` decode capacity is the scenario's local GPU's; on another local GPU its step time is
    scaled by the roofline ratio of decode step times at that batch and the mean context (noted)."""
    base_prf = sc.prfaas or sc.local
    prf = cluster_for(sc, prfaas_hw, n_prfaas, base_prf) if prfaas_hw else None
    loc = cluster_for(sc, local_hw, n_local, sc.local)
    sc2 = sc.model_copy(update={"prfaas": prf, "local": loc})
    inp, info = build_inputs(cat, sc2, wl, path, False, None, atoms)
    if isinstance(sc.decode, FixedDecode) and local_hw != sc.local.hardware:
        base, lhw, g = cat.model(sc.model), cat.hardware(local_hw), loc.gpus_per_instance
        model = base.with_recipe(resolve_recipe(base, lhw, g, loc.recipe, f"{path}: local.recipe"))
        ratio = fixed_decode_ratio(cat, sc, model, lhw, g, info["mean_input_tokens"] + info["mean_output_tokens"] / 2)
        inp = _scale_decode(inp, ratio)
        info["decode_scaled"] = ratio
    info["prices"]["prfaas_instance_usd_h"] = inp.prfaas_instance_usd_h
    info["prices"]["local_instance_usd_h"] = inp.local_instance_usd_h
    return inp, info
