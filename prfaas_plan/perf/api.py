"""Convenience functions combining KV sizing and the roofline: KV throughput (Eq. 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.perf.kv import kv_layout
from prfaas_plan.perf.mechanisms import linear_block_note
from prfaas_plan.perf.ops import LinearAttentionOp, attention_groups, build_ops, instance_recipe
from prfaas_plan.perf.roofline import prefill_time
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import Recipe


@dataclass(frozen=True)
class KVThroughput:
    model: str
    hardware: str
    gpus: int
    kv_bytes_per_token: float
    fixed_state_bytes: float
    tokens: NDArray[np.float64]
    kv_bytes: NDArray[np.float64]
    prefill_s: NDArray[np.float64]
    kv_gbps: NDArray[np.float64]
    dominant: list[str]
    breakdown: dict[str, NDArray[np.float64]]
    attention_dp: int = 1  # DP-attention groups the prediction assumed (perf.ops)
    recipe: Recipe | None = None  # the instance's recipe (the model's, adapted to `gpus`, with overrides)
    notes: tuple[str, ...] = ()  # approximations the prediction rests on (e.g. no fitted linear-attention block)


def mechanism_notes(model: ModelSpec, hw: HardwareSpec, gpus: int) -> tuple[str, ...]:
    """Lines for the output where a layer is costed without a fitted kernel block on `hw`, and where the
    instance runs a fallback checkpoint because the recipe's own does not fit its HBM."""
    from prfaas_plan.perf.recipe import fallback_note

    variants = sorted({op.variant for op in build_ops(model, gpus) if isinstance(op, LinearAttentionOp)})
    r = instance_recipe(model, gpus)
    notes = [linear_block_note(hw, v) for v in variants] + [fallback_note(r), speculative_note(r)]
    return tuple(n for n in notes if n)


def speculative_note(r: Recipe) -> str:
    """What the figures model of a recipe's speculative decoding (empty when it has none)."""
    sp = r.speculative
    if sp is None:
        return ""
    return (f"the recipe runs {sp.describe()}: every prefill chunk also runs the draft extend "
            f"({sp.draft_extend_layers} MTP layer{'s' if sp.draft_extend_layers > 1 else ''} over its tokens, "
            "kernels only, no per-forward engine overhead); decode speculation is NOT modelled (its acceptance "
            "rate is not known here): decode figures are plain one-token steps without the draft")


def kv_throughput(
    model: ModelSpec, hw: HardwareSpec, gpus: int, tokens: ArrayLike, recipe: Recipe | None = None
) -> KVThroughput:
    """Phi_kv(l) = S_kv(l) / T_prefill(l) for one instance of `gpus` GPUs (Eq. 1); `recipe`
    replaces the model's own serving recipe."""
    if recipe is not None:
        model = model.with_recipe(recipe)
    L = np.atleast_1d(np.asarray(tokens, dtype=float))
    layout = kv_layout(model)
    S = layout.bytes(L)
    pc = prefill_time(model, hw, gpus, L)
    return KVThroughput(
        model.name, hw.name, gpus, layout.full_bytes_per_token, layout.fixed_state_bytes,
        L, S, pc.seconds, 8.0 * S / pc.seconds / 1e9, pc.dominant(), pc.by_class,
        attention_groups(model, gpus), instance_recipe(model, gpus), mechanism_notes(model, hw, gpus),
    )
