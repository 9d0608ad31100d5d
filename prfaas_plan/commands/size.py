"""`prfaas size`: the cheapest deployment that serves a target rate within the scenario's SLOs.

Builds one `plan.size.Family` per (PrfaaS GPU or none, local GPU, GPUs per instance, recipe, link):
each GPU's prefill profile is evaluated once per (GPUs per instance, recipe) and shared by every
pair. Runs the pure search (`plan.size.size_all`) for PrfaaS-PD and the two baselines, then re-plans
each reported deployment with the planner at full resolution (20,000 atoms, routing pinned) so every
figure printed is the planner's; `export_scenario` writes the chosen one as a scenario.

Choices where the issue is silent:
- Recipes: the scenario's (its cluster `recipe:` block, else the model's published one), plus
  expert-parallel (`ep` = GPUs per instance) and 2-way DP attention where the model and GPU allow
  them (`--recipes` picks); a measured prefill profile in the scenario applies only to its own GPU,
  instance size and recipe.
- A `fixed` decode capacity (the scenario's local GPU) is scaled to another local GPU by the
  roofline decode step-time ratio, and its TPOT with it; a family whose TPOT misses the decode SLO
  is skipped with a note.
- The search runs on `SEARCH_ATOMS` atoms; when the full-resolution re-plan misses the target or
  the SLO (discretisation), the family is sized again with the demand raised by the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prfaas_plan.assemble.prices import resolve_price_flags
from prfaas_plan.assemble.scenario import load_scenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.commands.size_families import build_families
from prfaas_plan.commands.size_results import describe, run_mode
from prfaas_plan.errors import InfeasibleError, PrfaasError
from prfaas_plan.plan.size import MAX_SEARCH_SIZE, Demand, Family, search_size, size_all
from prfaas_plan.specs.limits import MAX_CLUSTER_GPUS

SEARCH_ATOMS = 1000
RECIPE_CHOICES = ("scenario", "ep", "dp2")


@dataclass(frozen=True)
class SizeRequest:
    scenario: str | None
    sets: list[str]
    target_rps: float
    prfaas_types: list[str] | None  # None: the scenario's; ["all"]: every calibrated catalog GPU
    local_types: list[str] | None
    prices: dict[str, float]
    link_gbps: list[float] | None
    gpus_per_instance: list[int] | None
    recipes: list[str]
    top: int = 5
    max_gpus: int = 512
    target_from: str = "--target-rps"  # what set target_rps (a trace's busiest window names its file)


@dataclass
class SizeReport:
    scenario: str
    target_rps: float
    load: float
    slo: dict[str, float | None]
    best: dict[str, Any] | None
    candidates: list[dict[str, Any]]
    baselines: dict[str, dict[str, Any] | None]
    notes: list[str] = field(default_factory=list)
    export: dict[str, Any] | None = None  # the chosen deployment as scenario data
    search_size: float = 0.0


def _types(cat: Catalog, given: list[str] | None, default: list[str], flag: str) -> list[str]:
    if given is None:
        return default
    if [g.lower() for g in given] == ["all"]:
        return [h for h in cat.names("hardware") if "UNCALIBRATED" not in cat.hardware(h).efficiency.source
                and cat.hardware(h).vendor != "cpu"]
    return [cat.hardware(h).name for h in given]  # unknown names fail here, with suggestions


def _check_request(req: SizeRequest) -> None:
    import math

    if not (req.target_rps > 0 and math.isfinite(req.target_rps)):
        raise PrfaasError(f"--target-rps {req.target_rps:g}: the target must be a positive number of requests/s",
                          fix="e.g. --target-rps 2.5, or --trace F --peak-window 60")
    if not 1 <= req.top <= 1000:
        raise PrfaasError(f"--top {req.top}: must be between 1 and 1000", fix="e.g. --top 5")
    if not 1 <= req.max_gpus <= MAX_CLUSTER_GPUS:
        raise PrfaasError(f"--max-gpus {req.max_gpus}: must be between 1 and {MAX_CLUSTER_GPUS}",
                          fix="e.g. --max-gpus 512")
    bad = [r for r in req.recipes if r not in RECIPE_CHOICES]
    if bad or not req.recipes:
        raise PrfaasError(f"--recipes {','.join(req.recipes)}: unknown recipe {', '.join(bad)}",
                          fix=f"choose among {','.join(RECIPE_CHOICES)}")


def size_scenario(req: SizeRequest, export: Any = None) -> SizeReport:
    """`prfaas size`; `export` (a path, written by the caller) is checked before any work."""
    _check_request(req)
    if export is not None:
        from prfaas_plan.io.files import check_output

        check_output(export, "--export")
    cat = Catalog()
    loaded = load_scenario(cat, req.scenario, req.sets)
    sc = loaded.spec
    prf = _types(cat, req.prfaas_types, [sc.prfaas.hardware] if sc.prfaas else [], "--prfaas-hardware")
    loc = _types(cat, req.local_types, [sc.local.hardware], "--local-hardware")
    links = req.link_gbps or [sc.link.bandwidth_gbps]
    gpis = req.gpus_per_instance or [sc.local.gpus_per_instance]
    n_fam = (len(prf) + 1) * len(loc) * len(links) * len(gpis) * len(req.recipes)
    est = n_fam * (SEARCH_ATOMS + 1) * (req.max_gpus // min(gpis) + 1) * (req.max_gpus // min(gpis))
    if est > MAX_SEARCH_SIZE:
        raise PrfaasError(
            f"the search would cover {est:.3g} configurations ({n_fam} GPU pair/recipe/link families up to "
            f"{req.max_gpus} GPUs per cluster), more than the limit of {MAX_SEARCH_SIZE:.3g}",
            fix="narrow it: fewer --prfaas-hardware/--local-hardware types, fewer --recipes or --link-gbps "
            "values, a lower --max-gpus, or larger --gpus-per-instance")
    prices = resolve_price_flags(cat, req.prices, list(dict.fromkeys(prf + loc)))
    fams, metas, notes = build_families(cat, loaded, prf, loc, links, gpis, req.recipes, prices, SEARCH_ATOMS)
    slo_t = loaded.workload.slo.ttft_p90_s
    demand = Demand(req.target_rps, sc.load, loaded.workload.arrival.burstiness_scv, slo_t, req.max_gpus)
    if not fams:
        raise InfeasibleError("no GPU pair can serve the model: " + "; ".join(notes),
                              fix="choose other GPU types, more GPUs per instance or other recipes")
    rep = SizeReport(sc.name, req.target_rps, sc.load,
                     {"ttft_p90_s": slo_t, "decode_tokens_per_s": loaded.workload.slo.decode_tokens_per_s},
                     None, [], {}, notes, None, search_size(fams, demand))
    main = run_mode(cat, loaded, fams, metas, demand, "prfaas", req.top, rep)
    if main:
        rep.candidates = [describe(r) for r in main]
        rep.best = rep.candidates[0]
        rep.export = main[0].export
    else:
        raise _unreachable(fams, demand, rep, req.target_from)
    homo_i = [i for i, f in enumerate(fams) if f.prfaas_hardware is None]
    het_i = [i for i, f in enumerate(fams) if f.prfaas_hardware is not None]
    homo = run_mode(cat, loaded, [fams[i] for i in homo_i], [metas[i] for i in homo_i], demand, "prfaas", 1, rep)
    naive = run_mode(cat, loaded, [fams[i] for i in het_i], [metas[i] for i in het_i], demand, "naive", 1, rep)
    rep.baselines = {"homogeneous_pd": describe(homo[0]) if homo else None,
                     "naive_heterogeneous": describe(naive[0]) if naive else None}
    return rep


def _unreachable(fams: list[Family], demand: Demand, rep: SizeReport, target_from: str = "--target-rps") -> PrfaasError:
    """No family serves the demand: say which requirement binds and by how much."""
    res = size_all(fams, demand, top=1)
    thr = [u for u in res.unmet if u.binding in ("throughput", "egress")]
    ttft = [u for u in res.unmet if u.binding == "ttft_p90"]
    if ttft:
        best = min(u.best for u in ttft)
        return InfeasibleError(
            f"no deployment meets the P90 TTFT SLO of {demand.ttft_p90_s:g} s at {demand.target_rps:g} req/s: "
            f"the best unloaded P90 TTFT is {best:.3g} s ({best / (demand.ttft_p90_s or 1) - 1:+.0%})"
            + ("; " + "; ".join(rep.notes) if rep.notes else ""),
            where="workload.slo.ttft_p90_s",
            fix=f"raise the SLO above {best:.3g} s, or add faster GPU types (--prfaas-hardware all)")
    cap = max((u.best for u in thr), default=0.0)
    kind = "egress" if thr and all(u.binding == "egress" for u in thr) else "throughput"
    return InfeasibleError(
        f"no deployment within {demand.max_gpus_per_cluster} GPUs per cluster serves {demand.target_rps:g} req/s "
        f"at load {demand.load:g}: the largest serves {cap:.3g} req/s ({kind} binds; target "
        f"{demand.target_rps / cap - 1 if cap > 0 else float('inf'):+.0%} above it)",
        where=target_from,
        fix=("lower --target-rps" if target_from == "--target-rps" else "use a longer --peak-window (a lower peak rate)")
        + ", raise --max-gpus" + (", or a wider --link-gbps" if kind == "egress" else ""))




def target_source(trace: Any, window_s: float) -> str:
    """What a refusal names as the target's origin: the flag, or the trace and its window."""
    return "--target-rps" if trace is None else f"{trace} (busiest {window_s:g}-s window)"


def target_from_trace(trace: Any, window_s: float, target_rps: float | None) -> float:
    """--target-rps, or the request rate of the trace's busiest `window_s`-second window (consecutive
    windows from the first arrival)."""
    if (trace is None) == (target_rps is None):
        raise PrfaasError("give exactly one of --target-rps and --trace",
                          fix="e.g. --target-rps 2.5, or --trace F --peak-window 60")
    if trace is None:
        return float(target_rps)  # type: ignore[arg-type]
    import numpy as np

    from prfaas_plan.io.traces import read_trace

    t = read_trace(Catalog().trace(Path(trace))).arrival_s
    if len(t) == 0:
        raise PrfaasError("the trace has no requests", where=str(trace), fix="give a trace with requests")
    span = float(t.max() - t.min())
    if span < window_s:
        raise PrfaasError(f"--peak-window {window_s:g} s is longer than the trace's {span:g} s of arrivals "
                          f"({len(t)} request(s)): its busiest window would count the quiet time after the last "
                          "arrival", where=str(trace),
                          fix=f"give --peak-window at most {span:g} s, or --target-rps R" if span > 0
                          else "give a trace with arrivals at two or more times, or --target-rps R")
    # bins counted by np.unique, not bincount: a sparse trace (two arrivals 1e8 s apart) in 1-ms windows
    # would allocate one counter per empty window
    _, counts = np.unique(((t - t.min()) // window_s).astype(np.int64), return_counts=True)
    return float(counts.max()) / window_s


def write_export(rep: SizeReport, path: Any) -> None:
    """The chosen deployment as a scenario file, written atomically."""
    import yaml

    from prfaas_plan.io.files import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(rep.export, sort_keys=False), "--export")


__all__ = ["SizeReport", "SizeRequest", "size_scenario", "target_from_trace", "target_source", "write_export"]
