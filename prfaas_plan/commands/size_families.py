"""The sizing search's families (`plan.size.Family`) from a scenario and the catalog.

Each GPU type is prepared once per (GPUs per instance, recipe): its served model, prefill latency
and occupancy profiles, price with its source and whether its efficiency block is calibrated
(`Gpu`). A family pairs a PrfaaS GPU (or none) with a local GPU and a link; `route_model`
evaluates a pair on any number of atoms (the search's, or the planner's for the re-plan).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from prfaas_plan.assemble.inputs import Lengths, workload_lengths
from prfaas_plan.assemble.prices import price_or_override
from prfaas_plan.assemble.profiles import decode_rps, fixed_decode_ratio, occupancy_profile, prefill_profile
from prfaas_plan.assemble.scenario import LoadedScenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.perf.kv import kv_bytes
from prfaas_plan.perf.recipe import fallback_note, resolve_recipe
from prfaas_plan.plan.dist import DEFAULT_ATOMS
from prfaas_plan.plan.size import Family
from prfaas_plan.plan.throughput import RouteModel
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import RecipeOverrides
from prfaas_plan.specs.scenario import Cluster, FixedDecode

GpuKey = tuple[str, int, str]  # (GPU, GPUs per instance, recipe)
Prof = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Gpu:
    name: str
    gpi: int
    recipe: str
    layout: str  # the recipe as run, for the report
    model: ModelSpec
    latency: Prof
    occupancy: Prof | None
    usd_per_gpu_hour: float
    price_source: str
    calibrated: bool


def _overrides(loaded: LoadedScenario, h: str, gpi: int, recipe: str) -> RecipeOverrides | None:
    sc = loaded.spec
    own = next((c.recipe for c in (sc.prfaas, sc.local) if c is not None and c.hardware == h), None)
    if recipe == "ep":
        return RecipeOverrides(ep=gpi)
    if recipe == "dp2":
        return RecipeOverrides(attention_dp=2)
    return own


def prepare_gpu(cat: Catalog, loaded: LoadedScenario, span: tuple[float, float], h: str, gpi: int, recipe: str,
                prices: dict[str, float]) -> Gpu:
    """One GPU type served with one recipe on instances of `gpi` GPUs (raises when it cannot run). Its
    profiles span `span`, the planner's full-resolution length range, so that a family re-planned on
    the planner's atoms (or its export, by `plan`) sees exactly the profiles `plan` builds."""
    sc = loaded.spec
    hw = cat.hardware(h)
    base = cat.model(sc.model)
    model = base.with_recipe(resolve_recipe(base, hw, gpi, _overrides(loaded, h, gpi, recipe), f"recipe {recipe}"))
    own = next((c for c in (sc.prfaas, sc.local) if c is not None and c.hardware == h
                and c.gpus_per_instance == gpi), None)
    measured = own.prefill_profile if own is not None and recipe == "scenario" else None
    cl = Cluster(hardware=h, gpus=gpi, gpus_per_instance=gpi)
    lo, hi = span
    lat, _ = prefill_profile(model, hw, cl, lo, hi, measured)
    occ = occupancy_profile(model, hw, cl, lo, hi, lat) if sc.prefill_capacity == "throughput" else None
    usd, src = price_or_override(cat, sc, hw.name, prices, "--price")  # re-raised as is (build_families)
    r = model.recipe
    layout = f"{recipe}: {r.layout()}" + (" (assumed)" if r.assumed else "")
    return Gpu(hw.name, gpi, recipe, layout, model, lat, occ, usd, src, "UNCALIBRATED" not in hw.efficiency.source)


def local_decode(cat: Catalog, loaded: LoadedScenario, ln: Lengths, g: Gpu) -> tuple[float, float]:
    """(decode requests/s per instance, TPOT s) of a local GPU; a `fixed` decode capacity is the
    scenario's local GPU's, scaled to another GPU by the roofline step-time ratio."""
    sc, wl = loaded.spec, loaded.workload
    sc_g = sc.model_copy(update={"local": Cluster(hardware=g.name, gpus=g.gpi * 2, gpus_per_instance=g.gpi)})
    rps, info = decode_rps(sc_g, wl, g.model, cat.hardware(g.name), ln.mean_full, ln.mean_out)
    step = float(info["step_time_s"])
    if isinstance(sc.decode, FixedDecode) and (g.name, g.gpi) != (sc.local.hardware, sc.local.gpus_per_instance):
        ratio = fixed_decode_ratio(cat, sc, g.model, cat.hardware(g.name), g.gpi, ln.mean_full + ln.mean_out / 2)
        rps, step = rps * ratio, step / ratio
    return rps, step


def route_model(ln: Lengths, prf: Gpu | None, loc: Gpu, link_gbps: float, usable: float, dec_rps: float) -> RouteModel:
    L = ln.atoms
    kvf: Prof = lambda q: kv_bytes(loc.model, q)  # noqa: E731
    occ: dict[str, Any] = {}
    if loc.occupancy is not None:
        occ = {"s_local": loc.occupancy(L), "local_occupancy": loc.occupancy}
        if prf is not None and prf.occupancy is not None:
            occ |= {"s_prfaas": prf.occupancy(L), "prfaas_occupancy": prf.occupancy}
    return RouteModel(L, ln.bounds, prf.latency(L) if prf else None, loc.latency(L), kvf(L),
                      prf.latency if prf else None, loc.latency, kvf, link_gbps * usable * 1e9 / 8, dec_rps, **occ)


@dataclass(frozen=True)
class FamilyMeta:
    prfaas: Gpu | None
    local: Gpu
    link_gbps: float
    decode_rps: float


def build_families(cat: Catalog, loaded: LoadedScenario, prf: list[str], loc: list[str], links: list[float],
                   gpis: list[int], recipes: list[str], prices: dict[str, float],
                   atoms: int) -> tuple[list[Family], list[FamilyMeta], list[str]]:
    sc = loaded.spec
    ln = workload_lengths(loaded.workload, atoms)
    full = ln if atoms == DEFAULT_ATOMS else workload_lengths(loaded.workload, DEFAULT_ATOMS)
    span = float(full.atoms[0]), float(full.atoms[-1])
    notes: list[str] = []
    gpus: dict[GpuKey, Gpu | None] = {}
    for h in dict.fromkeys(prf + loc):
        for gpi in gpis:
            for r in recipes:
                try:
                    g = gpus[(h, gpi, r)] = prepare_gpu(cat, loaded, span, h, gpi, r, prices)
                    if why := fallback_note(g.model.recipe):
                        notes.append(why)  # which checkpoint this GPU runs, and why
                except PrfaasError as e:
                    if e.where == "--price":
                        raise
                    gpus[(h, gpi, r)] = None
                    notes.append(f"skipped {h} x {gpi} with recipe {r}: {e.message}")
    fams: list[Family] = []
    metas: list[FamilyMeta] = []
    slo_tpot = 1.0 / loaded.workload.slo.decode_tokens_per_s
    for (lh, gpi, r), lg in ((k, v) for k, v in gpus.items() if k[0] in loc and v is not None):
        try:
            drps, tpot = local_decode(cat, loaded, ln, lg)
        except PrfaasError as e:
            notes.append(f"skipped local {lh} x {gpi} ({r}): {e.message}")
            continue
        if tpot > slo_tpot * (1 + 1e-9):
            notes.append(f"skipped local {lh} x {gpi} ({r}): TPOT {tpot * 1e3:.1f} ms misses the decode SLO")
            continue
        for ph in [*prf, None]:
            pg = gpus.get((ph, gpi, r)) if ph else None
            if ph is not None and pg is None:
                continue
            for link in links if ph else links[:1]:
                rm = route_model(ln, pg, lg, link, sc.link.usable_fraction, drps)
                fams.append(Family(ph, lh, gpi, r, link, rm, pg.usd_per_gpu_hour * gpi if pg else 0.0,
                                   lg.usd_per_gpu_hour * gpi, sc.link.rtt_ms / 1e3, tpot))
                metas.append(FamilyMeta(pg, lg, link, drps))
    return fams, metas, list(dict.fromkeys(notes))
