"""Resolving and checking the recipe an instance runs: the model's published recipe, adapted to the
instance size, with overrides (CLI flags, a scenario cluster's `recipe:` block), checked against the
model's architecture, the GPU, and HBM. Every problem is a `PrfaasError` naming the field and the fix.
"""

from __future__ import annotations

from prfaas_plan.errors import InfeasibleError, PrfaasError
from prfaas_plan.perf.ops import weight_bytes
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import DTYPE_BYTES, ModelSpec, model_errors
from prfaas_plan.specs.recipe import Recipe, RecipeOverrides, hardware_errors

# Fraction of HBM the serving engine can give to weights + KV (the rest: activations, CUDA graphs,
# NCCL buffers). SGLang's default mem_fraction_static is 0.85-0.9; vLLM's gpu_memory_utilization 0.9.
USABLE_HBM_FRACTION = 0.9

# Where each recipe field is set from the command line, for error messages.
FLAG = {"weights_dtype": "--weights-dtype", "kv_dtype": "--kv-dtype", "attention_tp": "--tp",
        "attention_dp": "--attention-dp", "expert_ep": "--ep", "expert_tp": "--ep", "gpus": "--gpus",
        "chunked_prefill_tokens": "--chunked-prefill-size", "speculative": "the recipe's speculative block"}


def resolve_recipe(
    model: ModelSpec, hw: HardwareSpec, gpus: int, overrides: RecipeOverrides | None = None, where: str = "recipe"
) -> Recipe:
    """The checked recipe of an instance of `gpus` GPUs. `where` prefixes field names in errors
    (e.g. `clusters.prfaas.recipe`)."""
    base = model.recipe.for_gpus(gpus)
    recipe = base
    if overrides is not None and not overrides.is_empty():
        try:
            recipe = overrides.apply(base)
        except ValueError as e:
            msg = _msg(e)
            field = next((f for key, f in (("ep ", "expert_ep"), ("tp ", "attention_tp"), ("attention_dp", "attention_dp"),
                                           ("attention_tp", "attention_tp"), ("expert", "expert_ep")) if key in msg), "")
            raise PrfaasError(f"{model.name}: the recipe overrides do not form a valid layout: {msg}",
                              where=f"{where}.{field} ({FLAG[field]})" if field else where,
                              fix=f"choose degrees that divide the instance's {gpus} GPUs "
                              "(attention TP x DP = GPUs, expert TP x EP = GPUs)") from None
    recipe = fitting_checkpoint(model, hw, recipe)
    check_recipe(model, hw, recipe, where)
    return recipe


def fitting_checkpoint(model: ModelSpec, hw: HardwareSpec, recipe: Recipe) -> Recipe:
    """`recipe`, or, when `hw` cannot serve its weights (they do not fit the instance's HBM, or the GPU
    cannot run their dtype), the same recipe on the first of its `fallback_weights_dtypes` that it can,
    with the reason added to its `source` (an operator deploys the published checkpoint that runs).
    Unchanged when none can: `check_recipe` then reports it."""
    have = usable_hbm_bytes(hw, recipe.gpus)

    def why_not(r: Recipe) -> str | None:
        need = weight_bytes(model, r)
        if need >= have:
            return (f"{r.weights_dtype} weights ({need / 1e9:,.0f} GB) do not fit "
                    f"{r.gpus} x {hw.name} ({have / 1e9:,.0f} GB usable)")
        return next((problem for _, problem, _ in hardware_errors(r, hw)), None)

    why = why_not(recipe)
    if why is None:
        return recipe
    for dtype in recipe.fallback_weights_dtypes:
        alt = recipe.model_copy(update={"weights_dtype": dtype, "fallback_weights_dtypes": ()})
        if why_not(alt) is None:
            return alt.model_copy(update={"source": f"{recipe.source}{FALLBACK_MARK}{why}: running the published "
                                                    f"{dtype} checkpoint"})
    return recipe


FALLBACK_MARK = "; checkpoint fallback: "  # written and read only here (fitting_checkpoint, fallback_note)


def fallback_note(recipe: Recipe) -> str | None:
    """Why the instance runs a fallback checkpoint (`fitting_checkpoint`), for the output's notes; None
    when it runs the recipe's own `weights_dtype`."""
    _, mark, why = recipe.source.partition(FALLBACK_MARK)
    return f"checkpoint: {why}" if mark else None


def usable_hbm_bytes(hw: HardwareSpec, gpus: int) -> float:
    """HBM an instance of `gpus` GPUs gives weights + KV (`USABLE_HBM_FRACTION` of the device total)."""
    return hw.datasheet.hbm_capacity_bytes * gpus * USABLE_HBM_FRACTION


# weights dtypes from the widest: a model that does not fit is pointed only at ones with fewer bytes per weight
WEIGHT_DTYPES = ("bf16", "fp8", "int4", "fp4")


def check_recipe(model: ModelSpec, hw: HardwareSpec, recipe: Recipe, where: str = "recipe") -> None:
    """Raises for the first rule `recipe` breaks: architecture (EP <= experts, TP divides heads),
    GPU (weights dtype it can run) and HBM (the weights fit in the instance)."""
    for field, problem, fix in model_errors(model, recipe) + hardware_errors(recipe, hw):
        raise PrfaasError(f"{model.name}: {problem}", where=f"{where}.{field} ({FLAG.get(field, field)})", fix=fix)
    need = weight_bytes(model, recipe)
    have = usable_hbm_bytes(hw, recipe.gpus)
    if need >= have:
        # every published checkpoint this GPU can run was tried (`fitting_checkpoint`): name them all, and
        # size the fix on the smallest
        ckpts = [recipe] + [r for d in recipe.fallback_weights_dtypes
                            if not hardware_errors(r := recipe.model_copy(update={"weights_dtype": d}), hw)]
        sizes = [(weight_bytes(model, r), r.weights_dtype) for r in ckpts]
        least, dtype = min(sizes)
        per_gpu = hw.datasheet.hbm_capacity_bytes * USABLE_HBM_FRACTION
        lower = [d for d in WEIGHT_DTYPES if DTYPE_BYTES[d] < DTYPE_BYTES[dtype]]
        what = " or ".join(f"{d} ({b / 1e9:,.0f} GB)" for b, d in sizes)
        raise InfeasibleError(
            (f"{model.name} weights in {what} do not fit" if len(sizes) == 1 else
             f"{model.name}: none of its published checkpoints, {what}, fits")
            + f" in {recipe.gpus} x {hw.name} ({have / 1e9:,.0f} GB usable at {USABLE_HBM_FRACTION:.0%} of HBM)",
            where=f"{where}.weights_dtype ({FLAG['weights_dtype']})",
            fix=f"use at least {int(least // per_gpu) + 1} GPUs per instance"
            + (f" (the {dtype} checkpoint)" if len(sizes) > 1 else "") + ", a larger GPU"
            + (f", or lower-precision weights (--weights-dtype {' or '.join(lower)})" if lower else ""),
        )


def _msg(e: ValueError) -> str:
    """The first line of a pydantic/ValueError message, without pydantic's decoration."""
    errs = getattr(e, "errors", None)
    if callable(errs):
        items = errs()
        if items:
            return str(items[0].get("msg", e)).removeprefix("Value error, ")
    return str(e).splitlines()[0]
