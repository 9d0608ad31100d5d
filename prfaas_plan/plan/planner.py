"""Assembles a plan: optimum, baselines, TTFT (unloaded and loaded), egress, cost and gains.

Inputs are already-evaluated numbers (`PlanInputs`); `assemble.inputs.build_inputs` makes them from
a scenario file. Returns plain dataclasses; `report/plan.py` renders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from prfaas_plan.plan.latency import pool_wait, thinned_scv, ttft_quantile
from prfaas_plan.plan.slo import SLOCheck, check_slos, goodput_rps, route_sums
from prfaas_plan.plan.throughput import Choice, RouteModel, StageGrid, evaluate, optimise, stage_grid


@dataclass(frozen=True)
class PlanInputs:
    scenario: str
    route: RouteModel
    n_prfaas: int
    n_local: int
    homogeneous_instances: int
    homo_route: RouteModel  # local-type cluster of the same GPU count, prefilling everything
    prfaas_instance_usd_h: float | None
    local_instance_usd_h: float | None
    link_gbps: float
    rtt_s: float
    burstiness_scv: float
    load: float
    paper_approximation: bool = False
    routing: tuple[float, int] | None = None  # pinned (threshold tokens, local prefill instances)
    ttft_p90_slo_s: float | None = None
    decode_tokens_per_s_slo: float | None = None
    tpot_s: float | None = None  # decode time per output token at the planned batch


@dataclass
class Plan:
    label: str
    threshold_tokens: float | None
    offload_fraction: float
    mean_offloaded_tokens: float | None
    instances: dict[str, int]
    stage_throughput_rps: dict[str, float]
    max_throughput_rps: float
    binding: str
    egress_gbps: float
    egress_gbps_at_max: float
    egress_utilization: float
    ttft_s: dict[str, float]
    loaded_ttft_s: dict[str, float]
    cost_usd_per_hour: float | None
    bounds_rps: dict[str, float] = field(default_factory=dict)
    paper_approximation_rps: float | None = None
    exact_rps: float | None = None
    eq7_gap: float | None = None
    eq8_gap: float | None = None
    queue_utilisation: dict[str, float] = field(default_factory=dict)
    slo: list[SLOCheck] = field(default_factory=list)
    goodput_rps: float | None = None  # highest arrival rate meeting the TTFT SLO (None: no TTFT SLO)


@dataclass
class PlanReport:
    scenario: str
    prfaas_pd: Plan | None
    homogeneous_pd: Plan
    naive_heterogeneous: Plan | None
    gains: dict[str, float | None]
    optimiser: str
    notes: list[str]


def _ttft(
    rm: RouteModel, ch: Choice, inp: PlanInputs, lam_op: float
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    j = ch.j
    n = len(rm.atoms)
    local = np.arange(n) < j
    unl = np.empty(n)
    unl[local] = rm.t_local[local]
    if j < n:
        assert rm.t_prfaas is not None
        tp = rm.t_prfaas[~local]
        transfer = rm.kv_bytes[~local] / rm.egress_bytes_per_s if rm.egress_bytes_per_s > 0 else np.inf
        unl[~local] = tp + np.maximum(0.0, transfer - tp) + inp.rtt_s
    unloaded = {"mean": float(unl.mean()), "p90": float(np.quantile(unl, 0.9))}
    p = (n - j) / n
    # queues form on GPU occupancy (capacity); each request then takes its own latency (unloaded)
    pools = {
        "pd_prefill": pool_wait(ch.n_p, lam_op * (1 - p), rm.occ_local[local], thinned_scv(inp.burstiness_scv, 1 - p)),
    }
    if j < n:
        occ = rm.occ_prfaas
        assert occ is not None
        pools["prfaas"] = pool_wait(inp.n_prfaas if inp.n_prfaas else 0, lam_op * p, occ[~local],
                                    thinned_scv(inp.burstiness_scv, p))
    pw = np.where(local, pools["pd_prefill"].p_wait, pools.get("prfaas", pools["pd_prefill"]).p_wait)
    dec = np.where(local, pools["pd_prefill"].decay_per_s, pools.get("prfaas", pools["pd_prefill"]).decay_per_s)
    mw = np.where(local, pools["pd_prefill"].mean_wait_s, pools.get("prfaas", pools["pd_prefill"]).mean_wait_s)
    loaded = {"mean": float(unl.mean() + mw.mean()), "p90": ttft_quantile(unl, pw, dec, 0.9)}
    return unloaded, loaded, {k: v.utilisation for k, v in pools.items()}


def _plan(label: str, rm: RouteModel, ch: Choice, inp: PlanInputs, n_prfaas: int, cost: float | None,
          paper_lam: float | None, exact_lam: float | None, eq_checks: bool) -> Plan:
    n = len(rm.atoms)
    p = (n - ch.j) / n
    lam = ch.lam
    lam_op = inp.load * lam
    mean_kv_long = float(rm.kv_bytes[ch.j:].mean()) if ch.j < n else 0.0
    eg_max = lam * p * mean_kv_long * 8 / 1e9
    eg = inp.load * eg_max
    unl, loaded, util = _ttft(rm, ch, inp, lam_op)
    thr = None
    if 0 < ch.j < n:
        thr = float(rm.boundaries[ch.j])
    eq7 = eq8 = None
    if eq_checks and 0 < ch.j < n:
        b = ch.bounds
        eq7 = (min(b["prfaas_compute"], b["prfaas_egress"]) - b["pd_prefill"]) / lam
        eq8 = (ch.thetas["prfaas"] + ch.thetas["pd_prefill"] - ch.thetas["pd_decode"]) / ch.thetas["pd_decode"]
    slo = check_slos(loaded["p90"], inp.ttft_p90_slo_s, inp.tpot_s, inp.decode_tokens_per_s_slo)
    good = None
    if inp.ttft_p90_slo_s is not None:
        good = goodput_rps(route_sums(rm, inp.rtt_s), inp.burstiness_scv, ch.j, ch.n_p, n_prfaas, lam,
                           inp.ttft_p90_slo_s)
    return Plan(
        label=label, threshold_tokens=thr, offload_fraction=p,
        mean_offloaded_tokens=float(rm.atoms[ch.j:].mean()) if ch.j < n else None,
        instances={"prfaas": n_prfaas, "pd_prefill": ch.n_p, "pd_decode": ch.n_d},
        stage_throughput_rps=dict(ch.thetas), max_throughput_rps=lam, binding=ch.binding,
        egress_gbps=eg, egress_gbps_at_max=eg_max,
        egress_utilization=eg / inp.link_gbps if inp.link_gbps > 0 else math.inf,
        ttft_s=unl, loaded_ttft_s=loaded, cost_usd_per_hour=cost, bounds_rps=ch.bounds,
        paper_approximation_rps=paper_lam, exact_rps=exact_lam, eq7_gap=eq7, eq8_gap=eq8,
        queue_utilisation=util, slo=slo, goodput_rps=good,
    )


def _cost(n_prf: int, n_loc: int, inp: PlanInputs) -> float | None:
    if inp.local_instance_usd_h is None or (n_prf and inp.prfaas_instance_usd_h is None):
        return None
    return n_prf * (inp.prfaas_instance_usd_h or 0.0) + n_loc * inp.local_instance_usd_h


def _choose(g: StageGrid, inp: PlanInputs, notes: list[str]) -> Choice:
    """The PrfaaS-PD configuration: the optimum, or the scenario's pinned routing."""
    rm = inp.route
    if inp.routing is None:
        return optimise(g, inp.n_local, rm.decode_rps_per_instance)
    j = int(np.searchsorted(rm.atoms, inp.routing[0], side="right"))
    notes.append(f"routing pinned by the scenario: threshold {inp.routing[0]:,.0f} tokens, "
                 f"{inp.routing[1]} local prefill instances (not optimised)")
    return evaluate(g, inp.routing[1], inp.n_local, rm.decode_rps_per_instance, j)


def pinned_plan(inp: PlanInputs) -> Plan:
    """Only the main plan of inputs whose routing is pinned (exact view; `prfaas size`): the
    PrfaaS-PD configuration, or the homogeneous one when there is no PrfaaS cluster."""
    assert inp.routing is not None
    if inp.n_prfaas > 0 and inp.route.t_prfaas is not None:
        rm, n_loc, n_prf, label = inp.route, inp.n_local, inp.n_prfaas, "PrfaaS-PD"
    else:
        rm, n_loc, n_prf, label = inp.homo_route, inp.homogeneous_instances, 0, "homogeneous PD"
    j = int(np.searchsorted(rm.atoms, inp.routing[0], side="right")) if n_prf else len(rm.atoms)
    ch = evaluate(stage_grid(rm, n_prf, False), inp.routing[1], n_loc, rm.decode_rps_per_instance, j)
    return _plan(label, rm, ch, inp, n_prf, _cost(n_prf, n_loc, inp), None, ch.lam, False)


def _homogeneous_column(inp: PlanInputs) -> Plan:
    """Homogeneous PD: every prefill local, the split optimised (or pinned by the scenario)."""
    paper, hr = inp.paper_approximation, inp.homo_route
    homo_g = stage_grid(hr, 0, paper)
    if inp.routing is not None and inp.n_prfaas == 0:  # a pinned homogeneous split
        ch = evaluate(homo_g, inp.routing[1], inp.homogeneous_instances, hr.decode_rps_per_instance, len(hr.atoms))
    else:
        ch = optimise(homo_g, inp.homogeneous_instances, hr.decode_rps_per_instance, allow_offload=False)
    ex = evaluate(stage_grid(hr, 0, not paper), ch.n_p, inp.homogeneous_instances, hr.decode_rps_per_instance, ch.j)
    return _plan("homogeneous PD", hr, ch, inp, 0, _cost(0, inp.homogeneous_instances, inp),
                 ex.lam if not paper else ch.lam, ch.lam if not paper else ex.lam, False)


def _prfaas_columns(inp: PlanInputs, notes: list[str], naive_too: bool) -> tuple[Plan, Plan | None]:
    """PrfaaS-PD (threshold and split optimised, or pinned) and, if asked, the naive heterogeneous
    baseline (every prefill on PrfaaS, every local instance decodes)."""
    rm, paper = inp.route, inp.paper_approximation
    g, g_other = stage_grid(rm, inp.n_prfaas, paper), stage_grid(rm, inp.n_prfaas, not paper)
    ch = _choose(g, inp, notes)
    other = evaluate(g_other, ch.n_p, inp.n_local, rm.decode_rps_per_instance, ch.j)
    cost = _cost(inp.n_prfaas, inp.n_local, inp)
    prf = _plan("PrfaaS-PD", rm, ch, inp, inp.n_prfaas, cost,
                other.lam if not paper else ch.lam, ch.lam if not paper else other.lam, True)
    if not naive_too:
        return prf, None
    nv = evaluate(g, 0, inp.n_local, rm.decode_rps_per_instance, 0)
    nv_other = evaluate(g_other, 0, inp.n_local, rm.decode_rps_per_instance, 0)
    naive = _plan("naive heterogeneous", rm, nv, inp, inp.n_prfaas, cost,
                  nv_other.lam if not paper else nv.lam, nv.lam if not paper else nv_other.lam, False)
    return prf, naive


def main_plan(inp: PlanInputs) -> Plan:
    """Only the main column, exactly as `make_plan` computes it: PrfaaS-PD when the inputs have a
    PrfaaS cluster, else homogeneous PD (`prfaas compare` details each shown mix with it)."""
    if inp.n_prfaas > 0 and inp.route.t_prfaas is not None:
        return _prfaas_columns(inp, [], naive_too=False)[0]
    return _homogeneous_column(inp)


def make_plan(inp: PlanInputs) -> PlanReport:
    paper = inp.paper_approximation
    notes: list[str] = []
    homo = _homogeneous_column(inp)
    prf = naive = None
    if inp.n_prfaas > 0 and inp.route.t_prfaas is not None:
        prf, naive = _prfaas_columns(inp, notes, naive_too=True)
    else:
        notes.append("no PrfaaS cluster in the scenario: only homogeneous PD is planned")
    gains: dict[str, float | None] = {"vs_homogeneous_pd": None, "vs_naive_heterogeneous": None,
                                      "equal_cost_vs_homogeneous_pd": None}
    if prf is not None and naive is not None:  # a baseline serving nothing has no finite gain: None
        homo_lam, naive_lam = homo.max_throughput_rps, naive.max_throughput_rps
        gains["vs_homogeneous_pd"] = prf.max_throughput_rps / homo_lam if homo_lam > 0 else None
        gains["vs_naive_heterogeneous"] = prf.max_throughput_rps / naive_lam if naive_lam > 0 else None
        if prf.cost_usd_per_hour and homo.cost_usd_per_hour and homo_lam > 0:
            gains["equal_cost_vs_homogeneous_pd"] = (prf.max_throughput_rps / prf.cost_usd_per_hour) / (
                homo_lam / homo.cost_usd_per_hour)
    for label, plan in (("homogeneous PD", homo), ("naive heterogeneous", naive)):
        if plan is not None and not plan.max_throughput_rps > 0:
            notes.append(f"{label} serves nothing with these instances (a PD cluster needs a prefill and a "
                         "decode instance): its gain is not defined")
    return PlanReport(
        inp.scenario, prf, homo, naive, gains,
        "paper approximation (representative lengths)" if paper else "exact (conditional expectations)",
        notes,
    )


def routing_cut(plan: Plan, rm: RouteModel) -> tuple[int, float]:
    """The plan's route as (threshold atom index j, threshold tokens): atoms j.. go to PrfaaS.
    The threshold is -inf when everything is offloaded and +inf when nothing is."""
    n = len(rm.atoms)
    j = n - int(round(plan.offload_fraction * n))
    t = -math.inf if j == 0 else (math.inf if j == n else float(rm.boundaries[j]))
    return j, t
