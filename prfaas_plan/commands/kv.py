"""`prfaas kv`: KV throughput of one prefill instance (paper Eq. 1) for a model on a GPU."""

from __future__ import annotations

from pathlib import Path

from prfaas_plan.assemble.calibration import apply_calibration
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.perf.api import KVThroughput, kv_throughput
from prfaas_plan.plan.feasibility import check_weights_fit
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import RecipeOverrides


def load_gpu(cat: Catalog, ref: str, calibration: Path | None) -> HardwareSpec:
    """A GPU entry (name or YAML path), with a calibration file's efficiency block if given."""
    hw = cat.hardware(ref)
    return apply_calibration(hw, calibration) if calibration is not None else hw


def with_attention_dp(model: ModelSpec, attention_dp: int | None, gpus: int) -> ModelSpec:
    """`--attention-dp D` overrides the model's serving recipe (D must divide the instance's GPUs)."""
    if attention_dp is None:
        return model
    if gpus % attention_dp:
        raise PrfaasError(f"--attention-dp {attention_dp} does not divide --gpus {gpus}",
                          fix="use a divisor of the instance's GPU count")
    return model.with_recipe(RecipeOverrides(attention_dp=attention_dp).apply(model.recipe.for_gpus(gpus)))


def run_kv(model: str, hardware: str, gpus: int, lengths: list[int], calibration: Path | None,
           attention_dp: int | None) -> KVThroughput:
    cat = Catalog()
    m = with_attention_dp(cat.model(model), attention_dp, gpus)
    hw = load_gpu(cat, hardware, calibration)
    check_weights_fit(m, hw, gpus, "--gpus")
    return kv_throughput(m, hw, gpus, lengths)
