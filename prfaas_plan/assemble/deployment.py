"""A scenario resolved against the catalog: the model and each cluster's GPU spec (calibrated where
a calibration was given, through the `Catalog`), with the checks that the weights fit."""

from __future__ import annotations

from dataclasses import dataclass

from prfaas_plan.catalog import Catalog
from prfaas_plan.perf.recipe import resolve_recipe
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.scenario import ScenarioSpec


@dataclass(frozen=True)
class Deployment:
    """`model` as the local cluster serves it (its recipe, with the cluster's `recipe:` overrides);
    `prfaas_model` as the PrfaaS cluster serves it."""

    model: ModelSpec
    local_hw: HardwareSpec
    prfaas_hw: HardwareSpec | None
    prfaas_model: ModelSpec | None = None

    def recipes(self) -> dict[str, str]:
        """Which recipe each cluster assumed, for the report (says when it is not a published one)."""
        out = {}
        for name, m in (("local", self.model), ("prfaas", self.prfaas_model)):
            if m is not None:
                r = m.recipe
                out[name] = (f"{r.layout()} ({'ASSUMED, no published recipe: ' if r.assumed else ''}{r.source})")
        return out


def resolve_deployment(cat: Catalog, sc: ScenarioSpec, path: str) -> Deployment:
    base = cat.model(sc.model)
    local_hw = cat.hardware(sc.local.hardware)
    gl = sc.local.gpus_per_instance
    model = base.with_recipe(resolve_recipe(base, local_hw, gl, sc.local.recipe, f"{path}: local.recipe"))
    prf_hw = prf_model = None
    if sc.prfaas is not None:
        prf_hw = cat.hardware(sc.prfaas.hardware)
        gp = sc.prfaas.gpus_per_instance
        prf_model = base.with_recipe(resolve_recipe(base, prf_hw, gp, sc.prfaas.recipe, f"{path}: prfaas.recipe"))
    return Deployment(model, local_hw, prf_hw, prf_model)
