"""Feasibility checks shared by commands: does the model fit an instance?"""

from __future__ import annotations

from prfaas_plan.perf.ops import instance_recipe, weight_bytes
from prfaas_plan.perf.recipe import check_recipe, usable_hbm_bytes
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec


def check_weights_fit(model: ModelSpec, hw: HardwareSpec, gpus: int, field: str) -> float:
    """HBM bytes left for KV after the weights of the recipe `model` runs on `gpus` x `hw`; raises what
    `perf.recipe.check_recipe` raises (one home for the fit rule and its message) if it cannot run."""
    r = instance_recipe(model, gpus)
    check_recipe(model, hw, r, field)
    return usable_hbm_bytes(hw, gpus) - weight_bytes(model, r)
