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

from prfaas_plan.assemble.inputs import mix_inputs
from prfaas_plan.assemble.prices import price_or_override, resolve_price_flags
from prfaas_plan.assemble.scenario import LoadedScenario, load_scenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import InfeasibleError, PrfaasError
from prfaas_plan.plan.compare import (
    MAX_MIXES,
    CompareResult,
    Mix,
    count_heterogeneous,
    count_homogeneous,
    lambda_many,
    pareto,
)
from prfaas_plan.plan.planner import PlanInputs
from prfaas_plan.plan.throughput import stage_grid


@dataclass
class _Search:
    """The compare run's context: scenario, GPU types, instance sizes and steps, prices, notes."""

    cat: Catalog
    loaded: LoadedScenario
    prf_types: list[str]
    loc_types: list[str]
    gpi_prf: int
    gpi_loc: int
    step_prf: int = 1
    step_loc: int = 1
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    routes: dict[tuple[str | None, str], PlanInputs | None] = field(default_factory=dict)

    def inst_cost(self, h: str, gpi: int) -> float:
        return float(self.prices[h]["usd_per_gpu_hour"]) * gpi

    def route(self, ph: str | None, lh: str) -> PlanInputs | None:
        """Planner inputs of one GPU pair (memoised); an infeasible pair is skipped with a note."""
        key = (ph, lh)
        if key not in self.routes:
            sc, wl, path = self.loaded.spec, self.loaded.workload, self.loaded.path
            try:
                inp, info = mix_inputs(self.cat, sc, wl, path, ph, lh)
            except InfeasibleError as exc:
                self.notes.append(f"skipped {ph + ' + ' if ph else ''}{lh}: {exc.message}")
                self.routes[key] = None
            else:
                self.routes[key] = inp
                if "decode_scaled" in info:
                    msg = (f"decode on {lh}: the scenario's fixed decode capacity scaled by the roofline "
                           f"step-time ratio {info['decode_scaled']:.2f}")
                    if msg not in self.notes:
                        self.notes.append(msg)
        return self.routes[key]


def _setup(cat: Catalog, loaded: LoadedScenario, prfaas_types: list[str] | None, local_types: list[str] | None,
           gpus_step: int | None, price_overrides: dict[str, float] | None = None) -> _Search:
    sc = loaded.spec
    prf = prfaas_types if prfaas_types is not None else ([sc.prfaas.hardware] if sc.prfaas else [])
    loc = local_types if local_types is not None else [sc.local.hardware]
    s = _Search(cat, loaded, [cat.hardware(h).name for h in prf],  # unknown names fail here, with suggestions
                [cat.hardware(h).name for h in loc], (sc.prfaas or sc.local).gpus_per_instance,
                sc.local.gpus_per_instance)
    if gpus_step is not None:
        for g in (s.gpi_prf, s.gpi_loc):
            if gpus_step % g:
                raise PrfaasError(f"--gpus-step {gpus_step} is not a multiple of the {g}-GPU instance size",
                                  fix=f"use a multiple of {g}")
        s.step_prf, s.step_loc = gpus_step // s.gpi_prf, gpus_step // s.gpi_loc
    given = resolve_price_flags(cat, price_overrides, list(dict.fromkeys(s.prf_types + s.loc_types)))
    for h in dict.fromkeys(s.prf_types + s.loc_types):
        p, src = price_or_override(cat, sc, h, given, str(loaded.path))
        s.prices[h] = {"usd_per_gpu_hour": p, "source": src}
    if len({str(v["source"]).split(":")[0] for v in s.prices.values()}) > 1:
        s.notes.append("prices mix scenario and catalog sources: check they are in the same units "
                       "(the paper scenario's prices are relative)")
    return s


def _budget(s: _Search, budget: float | None) -> float:
    """The given budget, or the scenario's own hourly cost; it must buy at least one instance."""
    own = [c for c in (s.loaded.spec.prfaas, s.loaded.spec.local) if c is not None]
    own_cost = sum(s.prices[c.hardware]["usd_per_gpu_hour"] * c.gpus for c in own) if all(
        c.hardware in s.prices for c in own) else None
    if budget is None:
        if own_cost is None:
            raise PrfaasError("--budget-usd-per-hour is needed: the scenario's own GPUs are not among the compared types",
                              fix="give --budget-usd-per-hour USD (the hourly budget of a mix)")
        budget = float(own_cost)
    if not budget > 0 or not np.isfinite(budget):
        raise PrfaasError(f"--budget-usd-per-hour must be a positive number, got {budget}",
                          fix="give an hourly budget in USD > 0, e.g. --budget-usd-per-hour 500")
    cheapest = min(min(s.inst_cost(h, s.gpi_loc) for h in s.loc_types),
                   min([s.inst_cost(h, s.gpi_prf) for h in s.prf_types] or [np.inf]))
    if budget < cheapest:
        raise PrfaasError(f"budget {budget:g} USD/h is below the price of one instance ({cheapest:g} USD/h)",
                          fix="raise --budget-usd-per-hour")
    return budget


def _homogeneous(s: _Search, budget: float) -> list[Mix]:
    """Each type alone as a PD cluster (>= 2 instances)."""
    mixes: list[Mix] = []
    for h in dict.fromkeys(s.loc_types + s.prf_types):
        c_inst = s.inst_cost(h, s.gpi_loc)
        n_max = int(budget // c_inst)
        if n_max < 2:
            continue
        inp = s.route(None, h)
        if inp is None:
            continue
        n = np.arange(2, n_max + 1, s.step_loc, dtype=float)
        lam = lambda_many(stage_grid(inp.route, 0, False), np.zeros_like(n), n, inp.route.decode_rps_per_instance)
        mixes += [Mix(None, 0, h, int(k) * s.gpi_loc, float(k * c_inst), float(v)) for k, v in zip(n, lam, strict=True)]
    return mixes


def _counts(cp: float, cl: float, budget: float, step_prf: int, step_loc: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (PrfaaS instances, local instances) >= (1, 1) within the budget."""
    a_all, n_all = [], []
    for a in range(1, int(budget // cp) + 1, step_prf):
        n_max = int((budget - a * cp + 1e-9) // cl)
        if n_max >= 1:
            ns = np.arange(1, n_max + 1, step_loc)
            a_all.append(np.full(len(ns), a))
            n_all.append(ns)
    if not a_all:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(a_all).astype(float), np.concatenate(n_all).astype(float)


def _heterogeneous(s: _Search, budget: float, n_before: int) -> list[Mix]:
    """>= 1 PrfaaS instance and >= 1 local instance, every GPU pair."""
    mixes: list[Mix] = []
    for ph in s.prf_types:
        for lh in s.loc_types:
            cp, cl = s.inst_cost(ph, s.gpi_prf), s.inst_cost(lh, s.gpi_loc)
            if cp + cl > budget:
                continue
            inp = s.route(ph, lh)
            if inp is None:
                continue
            A, N = _counts(cp, cl, budget, s.step_prf, s.step_loc)
            if not len(A):
                continue
            if n_before + len(mixes) + len(A) > MAX_MIXES:
                raise PrfaasError(f"more than {MAX_MIXES:,} mixes within the budget",
                                  fix="lower --budget-usd-per-hour or raise --gpus-step")
            lam = lambda_many(stage_grid(inp.route, 1, False), A, N, inp.route.decode_rps_per_instance)
            mixes += [Mix(ph, int(a) * s.gpi_prf, lh, int(n) * s.gpi_loc, float(a * cp + n * cl), float(v))
                      for a, n, v in zip(A, N, lam, strict=True)]
    return mixes


def _check_count(s: _Search, budget: float, given: bool = True) -> None:
    """Count the mixes arithmetically before any is built: a large budget is refused, not allocated.
    `given`: the budget came from --budget-usd-per-hour (else it is the scenario's own cost)."""
    n = sum(count_homogeneous(budget, s.inst_cost(h, s.gpi_loc), s.step_loc) for h in dict.fromkeys(s.loc_types + s.prf_types))
    for ph in s.prf_types:
        for lh in s.loc_types:
            n += count_heterogeneous(budget, s.inst_cost(ph, s.gpi_prf), s.inst_cost(lh, s.gpi_loc), s.step_prf, s.step_loc)
            if n > MAX_MIXES:
                break
    if n > MAX_MIXES:
        what = (f"--budget-usd-per-hour {budget:g}" if given else
                f"the default budget, the scenario's own cost of {budget:g} USD/h (no --budget-usd-per-hour given)")
        raise PrfaasError(f"{what}: more than {MAX_MIXES:,} mixes within the budget",
                          fix=f"{'lower' if given else 'give a smaller'} --budget-usd-per-hour or raise --gpus-step "
                          "(e.g. --gpus-step 64)")


def _top(ms: list[Mix]) -> Mix | None:
    ms = [m for m in ms if m.max_throughput_rps > 0]
    return max(ms, key=lambda m: (m.max_throughput_rps, -m.cost_usd_per_hour)) if ms else None


def _result(s: _Search, budget: float, mixes: list[Mix]) -> CompareResult:
    sc = s.loaded.spec
    best, best_h = _top(mixes), _top([m for m in mixes if m.homogeneous])
    scn = eq_h = None
    if sc.prfaas is not None and sc.prfaas.hardware in s.prf_types and sc.local.hardware in s.loc_types:
        scn = next((m for m in mixes if m.prfaas_hardware == sc.prfaas.hardware and m.prfaas_gpus == sc.prfaas.gpus
                    and m.local_hardware == sc.local.hardware and m.local_gpus == sc.local.gpus), None)
    if scn is not None:
        eq_h = _top([m for m in mixes if m.homogeneous and m.local_hardware == sc.local.hardware
                     and m.cost_usd_per_hour <= scn.cost_usd_per_hour * (1 + 1e-9)])
    gains: dict[str, float | None] = {
        "best_vs_best_homogeneous": best.max_throughput_rps / best_h.max_throughput_rps if best and best_h else None,
        "best_per_usd_vs_best_homogeneous_per_usd": (best.rps_per_usd_hour / best_h.rps_per_usd_hour)
        if best and best_h else None,
        "scenario_mix_per_usd_vs_equal_cost_homogeneous": (scn.rps_per_usd_hour / eq_h.rps_per_usd_hour)
        if scn and eq_h else None,
    }
    return CompareResult(sc.name, budget, s.prices, mixes, pareto(mixes), best, best_h, scn, eq_h, gains, s.notes)


def _trust(s: _Search) -> dict[str, dict[str, Any]]:
    """Per GPU: is its efficiency block calibrated on measurements, and where does its price come from."""
    out: dict[str, dict[str, Any]] = {}
    for h, p in s.prices.items():
        eff = s.cat.hardware(h).efficiency.source
        src = str(p["source"])
        kind = "--price" if src == "--price" else "scenario" if src.startswith("scenario") else "catalog"
        out[h] = {"calibrated": "uncalibrated" not in eff.lower(), "price_kind": kind}
    return out


def _details(s: _Search, mixes: list[Mix]) -> dict[Mix, dict[str, Any]]:
    """Threshold, split, binding stage and unloaded TTFT of each shown mix: the planner on the
    pair's inputs with the mix's instance counts (the same optimum `lambda_many` scored)."""
    import dataclasses

    from prfaas_plan.plan.planner import main_plan

    out: dict[Mix, dict[str, Any]] = {}
    for m in dict.fromkeys(mixes):
        inp = s.route(m.prfaas_hardware, m.local_hardware)
        if inp is None:
            continue
        n_prf, n_loc = m.prfaas_gpus // s.gpi_prf, m.local_gpus // s.gpi_loc
        homo = max(2, (m.prfaas_gpus + m.local_gpus) // s.gpi_loc)  # the planner's same-GPU-count baseline
        if n_prf and inp.route.t_prfaas is None:
            continue
        p = main_plan(dataclasses.replace(inp, n_prfaas=n_prf, n_local=n_loc, homogeneous_instances=homo))
        out[m] = {"threshold_tokens": p.threshold_tokens, "pd_prefill_instances": p.instances["pd_prefill"],
                  "pd_decode_instances": p.instances["pd_decode"], "binding": p.binding,
                  "ttft_mean_s": p.ttft_s["mean"], "ttft_p90_s": p.ttft_s["p90"],
                  "loaded_ttft_p90_s": p.loaded_ttft_s["p90"], "goodput_rps": p.goodput_rps,
                  "slo_missed": [f"{c.name} {c.actual:.3g} vs {c.limit:g}" for c in p.slo if not c.met]}
    return out


def run_compare(cat: Catalog, loaded: LoadedScenario, prfaas_types: list[str] | None, local_types: list[str] | None,
                budget: float | None, gpus_step: int | None, price_overrides: dict[str, float] | None = None,
                top: int | None = None) -> CompareResult:
    s = _setup(cat, loaded, prfaas_types, local_types, gpus_step, price_overrides)
    given = budget is not None
    budget = _budget(s, budget)
    _check_count(s, budget, given)
    mixes = _homogeneous(s, budget)
    mixes += _heterogeneous(s, budget, len(mixes))
    mixes = [m for m in mixes if m.cost_usd_per_hour <= budget * (1 + 1e-9)]
    if not mixes:
        skipped = [n for n in s.notes if n.startswith("skipped ")]
        if skipped:  # the pairs the budget buys cannot serve the scenario: the budget is not the reason
            raise PrfaasError("no compared GPU pair can serve the scenario: " + "; ".join(skipped[:3])
                              + (f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""),
                              fix="compare GPUs that can hold the model (--prfaas-hardware / --local-hardware), or change "
                                  "the scenario's recipe or gpus_per_instance")
        raise PrfaasError(f"no mix fits the budget of {budget:g} USD/h (a PD cluster needs 2 instances)",
                          fix="raise --budget-usd-per-hour")
    res = _result(s, budget, mixes)
    res.trust = _trust(s)
    if top is not None:
        res.top = sorted(mixes, key=lambda m: (-m.max_throughput_rps, m.cost_usd_per_hour))[:top]
    shown = [*res.front, *res.top, *[m for m in (res.best, res.best_homogeneous, res.scenario_mix,
                                                 res.equal_cost_homogeneous) if m is not None]]
    res.details = _details(s, shown)
    det = res.details.get(res.best, {}) if res.best is not None else {}
    if det.get("slo_missed"):
        res.notes.append(f"the best mix misses the workload's SLO at the operating load ({'; '.join(det['slo_missed'])}); "
                         f"its goodput is {det['goodput_rps'] or 0:.3g} req/s: "
                         "`prfaas size` finds the cheapest mix that meets it")
    return res


def compare_scenario(scenario: str | None, sets: list[str], prfaas_types: list[str] | None,
                     local_types: list[str] | None, budget: float | None, gpus_step: int | None,
                     price_overrides: dict[str, float] | None = None, top: int | None = None) -> CompareResult:
    """`prfaas compare` from the command line's arguments."""
    cat = Catalog()
    return run_compare(cat, load_scenario(cat, scenario, sets), prfaas_types, local_types, budget, gpus_step,
                       price_overrides, top)
