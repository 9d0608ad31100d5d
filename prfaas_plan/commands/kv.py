"""`prfaas kv`: KV throughput of one prefill instance (paper Eq. 1) for a model on a GPU."""

from __future__ import annotations

from pathlib import Path

from prfaas_plan.assemble.calibration import apply_calibration
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.perf.api import KVThroughput, kv_throughput
from prfaas_plan.perf.recipe import resolve_recipe
from prfaas_plan.plan.feasibility import check_weights_fit
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import RecipeOverrides


def load_gpu(cat: Catalog, ref: str, calibration: Path | None) -> HardwareSpec:
    """A GPU entry (name or YAML path), with a calibration file's efficiency block if given."""
    hw = cat.hardware(ref)
    return apply_calibration(hw, calibration) if calibration is not None else hw


def recipe_overrides(weights_dtype: str | None = None, kv_dtype: str | None = None, tp: int | None = None,
                     ep: int | None = None, attention_dp: int | None = None,
                     routing: str | None = None) -> RecipeOverrides:
    """The recipe flags as overrides; an unknown dtype or routing is bad input naming the flag."""
    for flag, v, ok in (("--weights-dtype", weights_dtype, ("bf16", "fp8", "int4", "fp4")),
                        ("--kv-dtype", kv_dtype, ("bf16", "fp8", "fp32")),
                        ("--routing", routing, ("balanced", "power_law"))):
        if v is not None and v not in ok:
            raise PrfaasError(f"{flag} {v!r} is not a known {flag[2:].replace('-', ' ')}",
                              fix=f"use one of {', '.join(ok)}")
    return RecipeOverrides.model_validate({"weights_dtype": weights_dtype, "kv_dtype": kv_dtype, "tp": tp, "ep": ep,
                                           "attention_dp": attention_dp, "routing": routing})


def with_recipe(model: ModelSpec, hw: HardwareSpec, gpus: int, overrides: RecipeOverrides | None,
                where: str = "recipe") -> ModelSpec:
    """`model` served with its recipe adapted to `gpus` and the overrides, checked (layout, GPU, HBM)."""
    return model.with_recipe(resolve_recipe(model, hw, gpus, overrides, where))


def with_attention_dp(model: ModelSpec, attention_dp: int | None, gpus: int) -> ModelSpec:
    """`--attention-dp D` overrides the model's serving recipe (D must divide the instance's GPUs)."""
    if attention_dp is None:
        return model
    if gpus % attention_dp:
        raise PrfaasError(f"--attention-dp {attention_dp} does not divide --gpus {gpus}",
                          fix="use a divisor of the instance's GPU count")
    return model.with_recipe(RecipeOverrides(attention_dp=attention_dp).apply(model.recipe.for_gpus(gpus)))


def run_kv(model: str, hardware: str, gpus: int, lengths: list[int], calibration: Path | None,
           overrides: RecipeOverrides | None = None) -> KVThroughput:
    cat = Catalog()
    hw = load_gpu(cat, hardware, calibration)
    base = cat.model(model)
    if overrides is not None and overrides.attention_dp is not None and gpus % overrides.attention_dp:
        raise PrfaasError(f"--attention-dp {overrides.attention_dp} does not divide --gpus {gpus}",
                          fix="use a divisor of the instance's GPU count")
    m = with_recipe(base, hw, gpus, overrides)
    check_weights_fit(m, hw, gpus, "--gpus")
    return kv_throughput(m, hw, gpus, lengths)
