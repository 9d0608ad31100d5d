"""`prfaas scale`: quick mode (one model, GPU and length) or a scenario's routed lengths, turned
into `plan.scale.project` rows. Returns plain data for `report/` to render."""

from __future__ import annotations

from typing import Any

import numpy as np

from prfaas_plan.assemble.inputs import build_inputs
from prfaas_plan.assemble.scenario import load_scenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan.latency import thinned_scv
from prfaas_plan.plan.scale import ScaleRow, project
from prfaas_plan.specs.scenario import ScenarioSpec
from prfaas_plan.specs.workload import WorkloadSpec


def _check_sizes(sizes: list[int], gpi: int) -> None:
    bad = [g for g in sizes if g < gpi]
    if bad:
        raise PrfaasError(f"--gpus: {bad[0]} GPUs is less than one {gpi}-GPU instance",
                          fix=f"use cluster sizes of at least {gpi} GPUs")


def quick(cat: Catalog, model: str, hardware: str, tokens: int, gpi: int, sizes: list[int], scv: float,
          target: float) -> tuple[dict[str, Any], list[ScaleRow]]:
    from prfaas_plan.perf.api import kv_throughput
    from prfaas_plan.perf.recipe import resolve_recipe
    from prfaas_plan.perf.serving import prefill_service_time

    _check_sizes(sizes, gpi)
    base, hw = cat.model(model), cat.hardware(hardware)
    m = base.with_recipe(resolve_recipe(base, hw, gpi, where=f"models/{base.name}.yaml: recipe"))  # the one hw holds
    k = kv_throughput(m, hw, gpi, [tokens])
    S, T = float(k.kv_bytes[0]), float(k.prefill_s[0])
    occ = float(prefill_service_time(m, hw, gpi, [tokens]).seconds[0])
    rows = project(sizes, gpi, S, occ, S, T, None, scv, target, exact=True)
    head = {"mode": "quick", "model": m.name, "hardware": hw.name, "gpus_per_instance": gpi, "tokens": tokens,
            "kv_gbps_per_instance": 8 * S / T / 1e9, "prefill_s": T, "representative_tokens": tokens,
            "link_gbps": None, "recipe": {"weights_dtype": m.recipe.weights_dtype, "source": m.recipe.source},
            "notes": ["roofline prefill time; egress assumes every instance always prefilling (Eq. 2); "
                      "the exact column prices a busy instance by its steady-state occupancy per request "
                      "(forwards filled to the token budget), Eq. 2 by the single-request latency", *k.notes]}
    return head, rows


def scenario(cat: Catalog, sc: ScenarioSpec, wl: WorkloadSpec, path: str, sizes: list[int], threshold: float | None,
             scv: float | None, target: float) -> tuple[dict[str, Any], list[ScaleRow]]:
    """Routes the scenario's workload with the plan's threshold (or `threshold`) and projects the
    routed lengths' egress at every size."""
    from prfaas_plan.plan.planner import make_plan, routing_cut

    if sc.prfaas is None:
        raise PrfaasError(f"{path}: the scenario has no prfaas cluster to project",
                          fix="add a prfaas: block, or use quick mode (--model --hardware --tokens)")
    gpi = sc.prfaas.gpus_per_instance
    _check_sizes(sizes, gpi)
    inp, info = build_inputs(cat, sc, wl, path, False, None)
    rm = inp.route
    assert rm.t_prfaas is not None and rm.prfaas_profile is not None
    if threshold is None:
        plan = make_plan(inp).prfaas_pd
        assert plan is not None
        j, t = routing_cut(plan, rm)
    else:
        t = threshold
        j = int(np.searchsorted(rm.atoms, t, side="right"))
    if j >= len(rm.atoms):
        raise PrfaasError(f"{path}: no request is routed to PrfaaS at threshold {t} tokens",
                          fix="lower --threshold, or check the scenario with `prfaas plan`")
    lbar = float(rm.atoms[j:].mean())
    S_rep = float(rm.kv_profile(np.array([lbar]))[0])
    T_rep = float(rm.prfaas_profile(np.array([lbar]))[0])
    p = (len(rm.atoms) - j) / len(rm.atoms)
    scv_r = thinned_scv(wl.arrival.burstiness_scv if scv is None else scv, p)
    occ = rm.occ_prfaas
    assert occ is not None
    rows = project(sizes, gpi, float(rm.kv_bytes[j:].mean()), float(occ[j:].mean()), S_rep, T_rep,
                   rm.kv_bytes[j:], scv_r, target, exact=True)
    # a plan that offloads every request has no cut (t = -inf): null in JSON, as `plan` writes it
    routed = f"uncached length > {t:,.0f} tokens" if np.isfinite(t) else "every request (the plan offloads all)"
    head = {"mode": "scenario", "scenario": sc.name, "model": info["model"], "hardware": sc.prfaas.hardware,
            "gpus_per_instance": gpi, "threshold_tokens": float(t) if np.isfinite(t) else None, "offload_fraction": p,
            "representative_tokens": lbar,
            "kv_gbps_per_instance": 8 * S_rep / T_rep / 1e9, "prefill_profile": info.get("prfaas_profile"),
            "link_gbps": sc.link.bandwidth_gbps * sc.link.usable_fraction,
            "notes": [f"routed lengths: {routed} ({p:.1%} of requests); "
                      f"arrival SCV after routing {scv_r:.2f}"]}
    return head, rows


def run_scale(scenario_ref: str | None, sets: list[str], sizes: list[int], model: str | None, hardware: str | None,
              tokens: list[int] | None, gpus_per_instance: int | None, burstiness_scv: float | None,
              threshold: float | None, target_utilization: float) -> dict[str, Any]:
    """Quick mode when any of model / hardware / tokens is given (all three then needed), else scenario mode.
    A flag of the other mode is refused, not ignored. Returns the report's data: the header fields,
    "target_utilization", "rows" and "notes"."""
    cat = Catalog()
    if model is not None or hardware is not None or tokens is not None:
        if scenario_ref is not None:
            raise PrfaasError("give either a SCENARIO or --model/--hardware/--tokens, not both",
                              fix="drop the SCENARIO (quick mode) or the three flags (scenario mode)")
        scenario_only = [f for f, given in (("--threshold", threshold is not None), ("--set", bool(sets))) if given]
        if scenario_only:
            raise PrfaasError(f"{' and '.join(scenario_only)} only appl{'y' if len(scenario_only) > 1 else 'ies'} in "
                              "scenario mode; quick mode "
                              "(--model/--hardware/--tokens) has no scenario and no routing threshold",
                              fix=f"drop {' and '.join(scenario_only)}, or give a SCENARIO instead of the three flags")
        if model is None or hardware is None or tokens is None:
            missing = [f for f, v in (("--model", model), ("--hardware", hardware), ("--tokens", tokens)) if v is None]
            raise PrfaasError(f"quick mode needs {', '.join(missing)}",
                              fix="e.g. prfaas scale --model minimax-m2.5 --hardware h200 --tokens 32k")
        if len(tokens) != 1:
            raise PrfaasError("--tokens takes one length in quick mode", fix="e.g. --tokens 32k")
        head, rows = quick(cat, model, hardware, tokens[0], 8 if gpus_per_instance is None else gpus_per_instance,
                           sizes, 1.0 if burstiness_scv is None else burstiness_scv, target_utilization)
    else:
        if gpus_per_instance is not None:
            raise PrfaasError("--gpus-per-instance only applies in quick mode: a scenario's prfaas cluster "
                              "sets its own (prfaas.gpus_per_instance)",
                              fix="drop --gpus-per-instance, or use --set prfaas.gpus_per_instance=N")
        ld = load_scenario(cat, scenario_ref, sets)
        head, rows = scenario(cat, ld.spec, ld.workload, ld.path, sizes, threshold, burstiness_scv, target_utilization)
    notes = head.pop("notes") + [
        f"link needed = max(mean egress / {target_utilization:g} target utilisation, P99 1-s burst)"]
    return {**head, "target_utilization": target_utilization, "rows": [r.__dict__ for r in rows], "notes": notes}
