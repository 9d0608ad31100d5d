"""Feasibility checks shared by commands: does the model fit an instance?"""

from __future__ import annotations

from prfaas_plan.errors import InfeasibleError
from prfaas_plan.perf.ops import weight_bytes
from prfaas_plan.perf.recipe import USABLE_HBM_FRACTION, usable_hbm_bytes
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec


def check_weights_fit(model: ModelSpec, hw: HardwareSpec, gpus: int, field: str) -> float:
    """Returns HBM bytes left for KV after weights; raises if the weights do not fit."""
    need = weight_bytes(model)
    have = usable_hbm_bytes(hw, gpus)
    if need >= have:
        min_gpus = int(need // (hw.datasheet.hbm_capacity_bytes * USABLE_HBM_FRACTION)) + 1
        raise InfeasibleError(
            f"{model.name} weights ({need / 1e9:,.0f} GB) do not fit in {gpus} x {hw.name} "
            f"({have / 1e9:,.0f} GB usable at {USABLE_HBM_FRACTION:.0%} of HBM)",
            where=field,
            fix=f"use at least {min_gpus} GPUs per instance, a larger GPU, or lower-precision weights",
        )
    return have - need
