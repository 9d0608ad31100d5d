"""`prfaas perf`: what one instance of a model does on a GPU (prefill latency and throughput,
decode step, TPOT and throughput), with the recipe it assumed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prfaas_plan.catalog import Catalog
from prfaas_plan.commands.kv import load_gpu, with_recipe
from prfaas_plan.errors import PrfaasError
from prfaas_plan.perf.api import mechanism_notes
from prfaas_plan.perf.instance import PerfResult, decode_perf, prefill_perf
from prfaas_plan.perf.ops import instance_recipe
from prfaas_plan.plan.feasibility import check_weights_fit
from prfaas_plan.specs.model import ModelSpec, MoEFFN
from prfaas_plan.specs.recipe import RecipeOverrides


@dataclass(frozen=True)
class PerfRequest:
    """The flags of `prfaas perf`, as parsed (no arithmetic done on them here)."""

    model: str
    hardware: str = "h200"
    gpus: int = 8
    input_length: int = 4096
    output_length: int = 1024
    decode_batch: int | None = None
    slo_tokens_per_s: float = 40.0
    # --weights-dtype --kv-dtype --tp --ep --attention-dp --routing, and --prefill-batch-tokens (alias
    # --chunked-prefill-size): the recipe's chunked_prefill_tokens, checked and reported with the recipe
    overrides: RecipeOverrides | None = None
    calibration: Path | None = None


def _check(req: PerfRequest) -> None:
    for flag, v in (("--input-length", req.input_length), ("--output-length", req.output_length),
                    ("--decode-batch", req.decode_batch)):
        if v is not None and v < 1:
            raise PrfaasError(f"{flag} must be at least 1, got {v}", fix=f"give {flag} a positive count")
    if not req.slo_tokens_per_s > 0:
        raise PrfaasError(f"--slo-tokens-per-s must be positive, got {req.slo_tokens_per_s}",
                          fix="e.g. --slo-tokens-per-s 40 (the paper's decode SLO)")


def recipe_of(model: ModelSpec, gpus: int) -> dict[str, Any]:
    """The serving recipe the figures assume (the model's, adapted to `gpus`, with overrides), where it
    comes from, and the MoE routing the experts' cost assumes."""
    r = instance_recipe(model, gpus)
    moe = any(isinstance(g.ffn, MoEFFN) for g in model.layers)
    return {"weights_dtype": r.weights_dtype, "kv_dtype": r.kv_dtype, "tp": r.attn_tp,
            "attention_dp": r.attention_dp, "ep": r.expert_ep if moe else None,
            "expert_tp": r.moe_tp if moe else None, "routing": r.routing if moe else None,
            "chunked_prefill_tokens": r.chunked_prefill_tokens, "speculative": r.speculative_data(),
            "source": r.source, "assumed": r.assumed}


def run_perf(req: PerfRequest) -> PerfResult:
    _check(req)
    cat = Catalog()
    hw = load_gpu(cat, req.hardware, req.calibration)
    m = with_recipe(cat.model(req.model), hw, req.gpus, req.overrides)
    free = check_weights_fit(m, hw, req.gpus, "--gpus")
    pre = prefill_perf(m, hw, req.gpus, req.input_length)
    dec = decode_perf(m, hw, req.gpus, req.input_length, req.output_length, free, req.slo_tokens_per_s,
                      req.decode_batch)
    return PerfResult(m.name, hw.name, req.gpus, recipe_of(m, req.gpus), req.slo_tokens_per_s, pre, dec,
                      mechanism_notes(m, hw, req.gpus))
