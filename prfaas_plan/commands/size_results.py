"""`prfaas size` results: each sized deployment re-planned by the planner at full resolution
(routing pinned, operating point at the target), its figures, trust labels and its export.

Link needed = max(mean egress at the target / 0.7 (`prfaas scale`'s default mean utilisation),
the P99 of the bytes sent in 1-s windows at the target, `plan.scale.burst_p99_bytes`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from prfaas_plan.assemble.inputs import workload_lengths
from prfaas_plan.assemble.scenario import LoadedScenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.commands.size_families import FamilyMeta, route_model
from prfaas_plan.plan.dist import DEFAULT_ATOMS
from prfaas_plan.plan.planner import Plan, PlanInputs, pinned_plan, routing_cut
from prfaas_plan.plan.scale import burst_p99_bytes
from prfaas_plan.plan.size import Demand, Family, Sized, size_all, size_family
from prfaas_plan.plan.throughput import RouteModel, evaluate, stage_grid
from prfaas_plan.specs.scenario import FixedDecode

FULL_ATOMS = DEFAULT_ATOMS  # the planner's resolution, so a re-plan matches `plan`
LINK_TARGET_UTILIZATION = 0.7
REFINE_TRIES = 3
MAX_THRESHOLD = 1e12  # tokens: above every length (nothing offloaded)


@dataclass(frozen=True)
class Result:
    sized: Sized
    family: Family
    meta: FamilyMeta
    plan: Plan
    inputs: PlanInputs
    target_rps: float
    mean_output_tokens: float
    export: dict[str, Any]


def _replan(loaded: LoadedScenario, f: Family, meta: FamilyMeta, s: Sized, d: Demand) -> tuple[Plan, PlanInputs]:
    ln = workload_lengths(loaded.workload, FULL_ATOMS)
    rm = route_model(ln, meta.prfaas, meta.local, meta.link_gbps, loaded.spec.link.usable_fraction, meta.decode_rps)
    slo = loaded.workload.slo
    inp = plan_inputs(f, rm, s, d.burstiness_scv, d.load, slo.ttft_p90_s, slo.decode_tokens_per_s)
    n_prf = s.n_prfaas if rm.t_prfaas is not None else 0
    j = int(np.searchsorted(rm.atoms, inp.routing[0], side="right")) if n_prf and inp.routing else len(rm.atoms)
    lam = evaluate(stage_grid(rm, n_prf, False), s.n_p, s.n_local, rm.decode_rps_per_instance, j).lam
    inp = dataclasses.replace(inp, load=min(d.target_rps / lam, 0.999) if lam > 0 else d.load)
    return pinned_plan(inp), inp


def _ok(p: Plan, d: Demand) -> tuple[float, float]:
    """(throughput shortfall factor, TTFT overshoot factor): 1 or less when the plan serves d."""
    thr = d.target_rps / (d.load * p.max_throughput_rps) if p.max_throughput_rps > 0 else math.inf
    ttft = p.loaded_ttft_s["p90"] / d.ttft_p90_s if d.ttft_p90_s else 0.0
    return thr, ttft


def confirm(loaded: LoadedScenario, f: Family, meta: FamilyMeta, s: Sized, d: Demand,
            mode: str) -> tuple[Sized, Plan, PlanInputs] | None:
    """The deployment as the planner sees it on 20,000 atoms; where the search's coarser atoms
    were optimistic, the family is sized again for a demand raised by the gap."""
    want = d
    for _ in range(REFINE_TRIES):
        p, inp = _replan(loaded, f, meta, s, d)
        thr, ttft = _ok(p, d)
        if thr <= 1 + 1e-9 and ttft <= 1 + 1e-9:
            return s, p, inp
        want = dataclasses.replace(want, target_rps=want.target_rps * max(thr, 1.0) * (1 + 1e-6),
                                   ttft_p90_s=None if want.ttft_p90_s is None else want.ttft_p90_s / max(ttft, 1.0)
                                   / (1 + 1e-6))
        got = size_family(f, want, s.family, mode)
        if not isinstance(got, Sized):
            return None
        s = got
    return None


def run_mode(cat: Catalog, loaded: LoadedScenario, fams: list[Family], metas: list[FamilyMeta], d: Demand,
             mode: str, top: int, rep: Any) -> list[Result]:
    """The `top` cheapest families' deployments for one routing mode, confirmed by the planner."""
    if not fams:
        return []
    res = size_all(fams, d, mode, top)
    out = []
    mean_out = workload_lengths(loaded.workload, 16).mean_out
    for s in res.sized:
        got = confirm(loaded, fams[s.family], metas[s.family], s, d, mode)
        if got is None:
            rep.notes.append(f"{_label(fams[s.family])}: the planner at full resolution did not confirm the "
                             "search's deployment; left out")
            continue
        s2, p, inp = got
        f = fams[s.family]
        out.append(Result(s2, f, metas[s.family], p, inp, d.target_rps, mean_out,
                          export_scenario(loaded, f, metas[s.family], s2, p, d)))
    return sorted(out, key=lambda r: (r.sized.cost_usd_per_hour, r.sized.family))


def threshold_of(f: Family, s: Sized) -> float:
    """The sized threshold in tokens, valid on any atoms: 0 offloads everything; past the largest
    length offloads nothing."""
    N = len(f.route.atoms)
    return 0.0 if s.j == 0 else (float(f.route.boundaries[s.j]) if s.j < N else MAX_THRESHOLD)


def _label(f: Family) -> str:
    return f"{f.prfaas_hardware + ' + ' if f.prfaas_hardware else ''}{f.local_hardware} x {f.gpus_per_instance} ({f.recipe})"


def describe(r: Result) -> dict[str, Any]:
    """RESULT of the issue's JSON, plus trust labels."""
    s, f, p, m = r.sized, r.family, r.plan, r.meta
    rm = r.inputs.route
    j, _ = routing_cut(p, rm)
    rate_off = r.target_rps * p.offload_fraction
    p99 = burst_p99_bytes(rate_off, rm.kv_bytes[j:], r.inputs.burstiness_scv) * 8 / 1e9 if rate_off > 0 else 0.0
    egress = p.egress_gbps
    return {
        "prfaas_hardware": f.prfaas_hardware, "prfaas_gpus": s.n_prfaas * f.gpus_per_instance,
        "local_hardware": f.local_hardware, "local_gpus": s.n_local * f.gpus_per_instance,
        "gpus_per_instance": f.gpus_per_instance,
        "recipe": {"name": f.recipe, "local": m.local.layout, "prfaas": m.prfaas.layout if m.prfaas else None},
        "instances": dict(p.instances), "threshold_tokens": p.threshold_tokens,
        "offload_fraction": p.offload_fraction, "binding": p.binding,
        "max_throughput_rps": p.max_throughput_rps, "loaded_ttft_s": dict(p.loaded_ttft_s),
        "tpot_s": f.tpot_s, "egress_gbps": {"mean": egress, "p99_1s": p99},
        "link_gbps": f.link_gbps, "link_gbps_needed": max(egress / LINK_TARGET_UTILIZATION, p99),
        "cost_usd_per_hour": s.cost_usd_per_hour,
        "usd_per_million_output_tokens": s.cost_usd_per_hour / (r.target_rps * r.mean_output_tokens * 3600) * 1e6,
        "calibrated": {"prfaas": m.prfaas.calibrated if m.prfaas else None, "local": m.local.calibrated},
        "price_source": {"prfaas": m.prfaas.price_source if m.prfaas else None, "local": m.local.price_source},
        "slo": [dataclasses.asdict(c) for c in p.slo],
    }


def _cluster(g: Any, instances: int, loaded: LoadedScenario) -> dict[str, Any]:
    sc = loaded.spec
    own = next((c for c in (sc.prfaas, sc.local) if c is not None and c.hardware == g.name
                and c.gpus_per_instance == g.gpi), None)
    out: dict[str, Any] = {"hardware": g.name, "gpus": instances * g.gpi, "gpus_per_instance": g.gpi,
                           "price_usd_per_gpu_hour": g.usd_per_gpu_hour, "price_source": g.price_source}
    if own is not None and own.prefill_profile is not None and g.recipe == "scenario":
        out["prefill_profile"] = own.prefill_profile.model_dump(exclude_none=True)
    rec = {"ep": {"ep": g.gpi}, "dp2": {"attention_dp": 2}}.get(g.recipe)
    if rec is None and own is not None and own.recipe is not None:
        rec = own.recipe.model_dump(exclude_none=True)
    if rec:
        out["recipe"] = rec
    return out


def export_scenario(loaded: LoadedScenario, f: Family, m: FamilyMeta, s: Sized, p: Plan, d: Demand) -> dict[str, Any]:
    """The deployment as a scenario `plan` and `simulate` accept: routing pinned, operating load =
    target / Lambda_max (so plan's loaded figures are at the target)."""
    sc = loaded.spec
    data = sc.model_dump(mode="json", exclude_none=True, exclude={"prfaas", "local", "expect", "routing", "link"})
    data["name"] = f"{sc.name}-sized"
    data["description"] = (f"prfaas size: {d.target_rps:g} req/s at load {d.load:g} of {sc.name}, "
                           f"{s.cost_usd_per_hour:g} USD/h; routing pinned as sized")
    if m.prfaas is not None and s.n_prfaas > 0:
        data["prfaas"] = _cluster(m.prfaas, s.n_prfaas, loaded)
    data["local"] = _cluster(m.local, s.n_local, loaded)
    data["link"] = {**sc.link.model_dump(mode="json"), "bandwidth_gbps": f.link_gbps}
    if isinstance(sc.decode, FixedDecode):
        data["decode"] = {"mode": "fixed", "max_batch": sc.decode.max_batch, "step_time_ms": f.tpot_s * 1e3}
    data["load"] = round(min(d.target_rps / p.max_throughput_rps, 0.99), 6)
    data["routing"] = {"threshold_tokens": threshold_of(f, s), "pd_prefill_instances": s.n_p,
                       "source": "prfaas size"}
    return data


def plan_inputs(f: Family, route: RouteModel, s: Sized, scv: float, load: float, slo_t: float | None,
                slo_d: float | None) -> PlanInputs:
    """Planner inputs of a sized deployment, routing pinned, the operating point at the target."""
    thr = threshold_of(f, s)
    return PlanInputs(
        scenario="size", route=route, n_prfaas=s.n_prfaas, n_local=s.n_local, homogeneous_instances=s.n_local,
        homo_route=dataclasses.replace(route, t_prfaas=None, s_prfaas=None, prfaas_profile=None,
                                       prfaas_occupancy=None),
        prfaas_instance_usd_h=f.prfaas_instance_usd_h or None, local_instance_usd_h=f.local_instance_usd_h,
        link_gbps=f.link_gbps, rtt_s=f.rtt_s, burstiness_scv=scv, load=load, routing=(thr, s.n_p),
        ttft_p90_slo_s=slo_t, decode_tokens_per_s_slo=slo_d, tpot_s=f.tpot_s)
