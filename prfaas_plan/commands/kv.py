"""`prfaas kv`: KV throughput of one prefill instance (paper Eq. 1) for a model on a GPU."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.perf.api import KVThroughput, kv_throughput
from prfaas_plan.perf.recipe import resolve_recipe
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import CacheDtype, RecipeOverrides, Routing, WeightDtype


def load_gpu(cat: Catalog, ref: str, calibration: Path | None) -> HardwareSpec:
    """A GPU entry (name or YAML path), with a calibration file's efficiency block if given."""
    hw = cat.hardware(ref)
    if calibration is None:
        return hw
    from prfaas_plan.assemble.calibration import apply_calibration

    return apply_calibration(hw, calibration)


def recipe_overrides(weights_dtype: str | None = None, kv_dtype: str | None = None, tp: int | None = None,
                     ep: int | None = None, attention_dp: int | None = None,
                     routing: str | None = None, chunked_prefill_tokens: int | None = None) -> RecipeOverrides:
    """The recipe flags as overrides; an unknown dtype or routing is bad input naming the flag (the
    accepted values are the recipe schema's own, `specs.recipe`)."""
    for flag, v, ok in (("--weights-dtype", weights_dtype, get_args(WeightDtype)),
                        ("--kv-dtype", kv_dtype, get_args(CacheDtype)),
                        ("--routing", routing, get_args(Routing))):
        if v is not None and v not in ok:
            raise PrfaasError(f"{flag} {v!r} is not a known {flag[2:].replace('-', ' ')}",
                              fix=f"use one of {', '.join(ok)}")
    return RecipeOverrides.model_validate({"weights_dtype": weights_dtype, "kv_dtype": kv_dtype, "tp": tp, "ep": ep,
                                           "attention_dp": attention_dp, "routing": routing,
                                           "chunked_prefill_tokens": chunked_prefill_tokens})


def with_recipe(model: ModelSpec, hw: HardwareSpec, gpus: int, overrides: RecipeOverrides | None,
                where: str = "recipe") -> ModelSpec:
    """`model` served with its recipe adapted to `gpus` and the overrides, checked (layout, GPU, HBM);
    `--attention-dp` that does not divide `--gpus` is refused naming both flags."""
    if overrides is not None and overrides.attention_dp is not None and gpus % overrides.attention_dp:
        raise PrfaasError(f"--attention-dp {overrides.attention_dp} does not divide --gpus {gpus}",
                          fix="use a divisor of the instance's GPU count")
    return model.with_recipe(resolve_recipe(model, hw, gpus, overrides, where))


def run_kv(model: str, hardware: str, gpus: int, lengths: list[int], calibration: Path | None,
           overrides: RecipeOverrides | None = None) -> KVThroughput:
    cat = Catalog()
    hw = load_gpu(cat, hardware, calibration)
    m = with_recipe(cat.model(model), hw, gpus, overrides)
    return kv_throughput(m, hw, gpus, lengths)
