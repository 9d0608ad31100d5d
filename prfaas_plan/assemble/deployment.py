"""A scenario resolved against the catalog: the model and each cluster's GPU spec (calibrated where
a calibration was given, through the `Catalog`), with the checks that the weights fit."""

from __future__ import annotations

from dataclasses import dataclass

from prfaas_plan.catalog import Catalog
from prfaas_plan.plan.feasibility import check_weights_fit
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.scenario import ScenarioSpec


@dataclass(frozen=True)
class Deployment:
    model: ModelSpec
    local_hw: HardwareSpec
    prfaas_hw: HardwareSpec | None


def resolve_deployment(cat: Catalog, sc: ScenarioSpec, path: str) -> Deployment:
    model = cat.model(sc.model)
    local_hw = cat.hardware(sc.local.hardware)
    check_weights_fit(model, local_hw, sc.local.gpus_per_instance, f"{path}: local")
    prf_hw = None
    if sc.prfaas is not None:
        prf_hw = cat.hardware(sc.prfaas.hardware)
        check_weights_fit(model, prf_hw, sc.prfaas.gpus_per_instance, f"{path}: prfaas")
    return Deployment(model, local_hw, prf_hw)
