"""`prfaas compare`: enumerates GPU mixes from a scenario and the catalog, scores them with the pure
`plan.compare.lambda_many`, and picks the Pareto front, the best mix and the best homogeneous one.

Choices where the issue is silent:
- The default budget is the scenario's own hourly cost (its PrfaaS-PD deployment).
- Homogeneous alternatives are every named GPU type (PrfaaS or local list) used alone as a PD
  cluster; heterogeneous mixes need at least one PrfaaS instance and one local instance (a single
  local instance then only decodes; everything is prefilled remotely).
- Each type's measured prefill profile and price in the scenario apply only to that type at the
  scenario's instance size; every other type uses its roofline and catalog price.
- Types whose weights do not fit an instance are skipped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prfaas_plan import catalog
from prfaas_plan.errors import InfeasibleError, PrfaasError
from prfaas_plan.plan.compare import Mix, lambda_many, pareto
from prfaas_plan.plan.throughput import stage_grid
from prfaas_plan.specs.scenario import ScenarioSpec
from prfaas_plan.specs.workload import WorkloadSpec

MAX_MIXES = 200_000


@dataclass
class CompareResult:
    scenario: str
    budget_usd_per_hour: float
    prices: dict[str, dict[str, Any]]
    mixes: list[Mix]
    front: list[Mix]
    best: Mix | None
    best_homogeneous: Mix | None
    scenario_mix: Mix | None
    equal_cost_homogeneous: Mix | None
    gains: dict[str, float | None]
    notes: list[str] = field(default_factory=list)


def run_compare(sc: ScenarioSpec, wl: WorkloadSpec, path: str, prfaas_types: list[str] | None,
                local_types: list[str] | None, budget: float | None, gpus_step: int | None) -> CompareResult:
    from prfaas_plan.scenario_io import mix_inputs, price_of

    prf_types = prfaas_types if prfaas_types is not None else ([sc.prfaas.hardware] if sc.prfaas else [])
    loc_types = local_types if local_types is not None else [sc.local.hardware]
    prf_types = [catalog.load_hardware(h).name for h in prf_types]  # unknown names fail here, with suggestions
    loc_types = [catalog.load_hardware(h).name for h in loc_types]
    notes: list[str] = []
    gpi_prf = (sc.prfaas or sc.local).gpus_per_instance
    gpi_loc = sc.local.gpus_per_instance
    step_prf = step_loc = 1
    if gpus_step is not None:
        for g in (gpi_prf, gpi_loc):
            if gpus_step % g:
                raise PrfaasError(f"--gpus-step {gpus_step} is not a multiple of the {g}-GPU instance size",
                                  fix=f"use a multiple of {g}")
        step_prf, step_loc = gpus_step // gpi_prf, gpus_step // gpi_loc
    prices: dict[str, dict[str, Any]] = {}
    for h in dict.fromkeys(prf_types + loc_types):
        p, src = price_of(sc, h)
        if p is None:
            raise PrfaasError(f"no price for {h}: neither the scenario nor the catalog has one",
                              where=f"{path}",
                              fix=f"set price_usd_per_gpu_hour on a cluster of {h}, or add price: to its catalog entry")
        prices[h] = {"usd_per_gpu_hour": p, "source": src}
    kinds = {str(v["source"]).split(":")[0] for v in prices.values()}
    if len(kinds) > 1:
        notes.append("prices mix scenario and catalog sources: check they are in the same units "
                     "(the paper scenario's prices are relative)")

    # the scenario's own mix, planned by the same code path (and the default budget)
    own = [c for c in (sc.prfaas, sc.local) if c is not None]
    own_cost = sum(prices[c.hardware]["usd_per_gpu_hour"] * c.gpus for c in own) if all(
        c.hardware in prices for c in own) else None
    if budget is None:
        if own_cost is None:
            raise PrfaasError("--budget-usd-per-hour is needed: the scenario's own GPUs are not among the compared types")
        budget = float(own_cost)
    if not budget > 0 or not np.isfinite(budget):
        raise PrfaasError(f"--budget-usd-per-hour must be a positive number, got {budget}")
    inst_cost = {h: prices[h]["usd_per_gpu_hour"] for h in prices}
    cheapest = min(min(inst_cost[h] * gpi_loc for h in loc_types), min(
        [inst_cost[h] * gpi_prf for h in prf_types] or [np.inf]))
    if budget < cheapest:
        raise PrfaasError(f"budget {budget:g} USD/h is below the price of one instance ({cheapest:g} USD/h)",
                          fix="raise --budget-usd-per-hour")

    mixes: list[Mix] = []
    routes: dict[tuple[str | None, str], Any] = {}

    def route(ph: str | None, lh: str) -> Any:
        key = (ph, lh)
        if key not in routes:
            try:
                inp, info = mix_inputs(sc, wl, path, ph, lh)
            except InfeasibleError as exc:
                notes.append(f"skipped {ph + ' + ' if ph else ''}{lh}: {exc.message}")
                routes[key] = None
            else:
                routes[key] = inp
                if "decode_scaled" in info:
                    msg = (f"decode on {lh}: the scenario's fixed decode capacity scaled by the roofline "
                           f"step-time ratio {info['decode_scaled']:.2f}")
                    if msg not in notes:
                        notes.append(msg)
        return routes[key]

    # homogeneous: each type alone as a PD cluster (>= 2 instances)
    for h in dict.fromkeys(loc_types + prf_types):
        gpi = gpi_loc
        c_inst = inst_cost[h] * gpi
        n_max = int(budget // c_inst)
        if n_max < 2:
            continue
        inp = route(None, h)
        if inp is None:
            continue
        n = np.arange(2, n_max + 1, step_loc, dtype=float)
        g1 = stage_grid(inp.route, 0, False)
        lam = lambda_many(g1, np.zeros_like(n), n, inp.route.decode_rps_per_instance)
        mixes += [Mix(None, 0, h, int(k) * gpi, float(k * c_inst), float(v)) for k, v in zip(n, lam, strict=True)]
    # heterogeneous: >= 1 PrfaaS instance and >= 1 local instance
    for ph in prf_types:
        for lh in loc_types:
            cp, cl = inst_cost[ph] * gpi_prf, inst_cost[lh] * gpi_loc
            if cp + cl > budget:
                continue
            inp = route(ph, lh)
            if inp is None:
                continue
            a_all, n_all = [], []
            for a in range(1, int(budget // cp) + 1, step_prf):
                n_max = int((budget - a * cp + 1e-9) // cl)
                if n_max >= 1:
                    ns = np.arange(1, n_max + 1, step_loc)
                    a_all.append(np.full(len(ns), a))
                    n_all.append(ns)
            if not a_all:
                continue
            A, N = np.concatenate(a_all).astype(float), np.concatenate(n_all).astype(float)
            if len(mixes) + len(A) > MAX_MIXES:
                raise PrfaasError(f"more than {MAX_MIXES:,} mixes within the budget",
                                  fix="lower --budget-usd-per-hour or raise --gpus-step")
            g1 = stage_grid(inp.route, 1, False)
            lam = lambda_many(g1, A, N, inp.route.decode_rps_per_instance)
            mixes += [Mix(ph, int(a) * gpi_prf, lh, int(n) * gpi_loc, float(a * cp + n * cl), float(v))
                      for a, n, v in zip(A, N, lam, strict=True)]
    mixes = [m for m in mixes if m.cost_usd_per_hour <= budget * (1 + 1e-9)]
    if not mixes:
        raise PrfaasError(f"no mix fits the budget of {budget:g} USD/h (a PD cluster needs 2 instances)",
                          fix="raise --budget-usd-per-hour")

    def top(ms: list[Mix]) -> Mix | None:
        ms = [m for m in ms if m.max_throughput_rps > 0]
        return max(ms, key=lambda m: (m.max_throughput_rps, -m.cost_usd_per_hour)) if ms else None

    best = top(mixes)
    best_h = top([m for m in mixes if m.homogeneous])
    scn = eq_h = None
    if sc.prfaas is not None and sc.prfaas.hardware in prf_types and sc.local.hardware in loc_types:
        scn = next((m for m in mixes if m.prfaas_hardware == sc.prfaas.hardware and m.prfaas_gpus == sc.prfaas.gpus
                    and m.local_hardware == sc.local.hardware and m.local_gpus == sc.local.gpus), None)
    if scn is not None:
        eq_h = top([m for m in mixes if m.homogeneous and m.local_hardware == sc.local.hardware
                    and m.cost_usd_per_hour <= scn.cost_usd_per_hour * (1 + 1e-9)])
    gains: dict[str, float | None] = {
        "best_vs_best_homogeneous": best.max_throughput_rps / best_h.max_throughput_rps if best and best_h else None,
        "best_per_usd_vs_best_homogeneous_per_usd": (best.rps_per_usd_hour / best_h.rps_per_usd_hour)
        if best and best_h else None,
        "scenario_mix_per_usd_vs_equal_cost_homogeneous": (scn.rps_per_usd_hour / eq_h.rps_per_usd_hour)
        if scn and eq_h else None,
    }
    return CompareResult(sc.name, budget, prices, mixes, pareto(mixes), best, best_h, scn, eq_h, gains, notes)
