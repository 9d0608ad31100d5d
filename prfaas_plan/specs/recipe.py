"""Serving recipe: how one instance runs a model (SGLang launch flags as data).

A recipe states the weights checkpoint people deploy (`weights_dtype`), the KV-cache type, and the
parallel layout of an instance of `gpus` GPUs:
- attention: `attention_tp` x `attention_dp` = gpus (SGLang `--tp G --dp D --enable-dp-attention`:
  D groups of TP G/D; without DP attention D = 1);
- routed experts: `expert_tp` x `expert_ep` = gpus (SGLang's default `--tp G` tensor-splits every
  expert over the G GPUs: expert_tp = G, expert_ep = 1; `--ep-size G` spreads whole experts:
  expert_tp = 1, expert_ep = G).

Engine settings the published command states are recipe data too: `chunked_prefill_tokens`
(SGLang `--chunked-prefill-size`; default the GPU's `prefill_chunk_tokens`, SGLang's own default)
and `speculative` (EAGLE / NEXTN speculative decoding with the checkpoint's MTP layers as the draft:
every prefill chunk also runs the draft model's extend over the same tokens, `perf.ops.build_ops`).

Every catalog model carries its published recipe with a `source:`; a model file without one gets
SGLang's defaults for its checkpoint, marked `assumed: true` (reports say so). `RecipeOverrides`
replaces parts of it (CLI flags, a scenario's `recipe:` block). Rules that need the model
(EP <= experts, TP divides heads: `specs.model.model_errors`) and the GPU (weights dtype it can
run: `hardware_errors` here) are checked separately; "the model fits in HBM" needs the weight size and lives in
`perf.recipe.check_recipe`.

To add a layout knob: add the field here, validate it in `_layout`, use it in `perf.ops.build_ops`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from prfaas_plan.specs.base import InstanceGpus, StrictModel, TokensInt

if TYPE_CHECKING:
    from prfaas_plan.specs.hardware import HardwareSpec

WeightDtype = Literal["bf16", "fp8", "fp4", "int4"]
Routing = Literal["balanced", "power_law"]
CacheDtype = Literal["bf16", "fp8", "fp32"]
DEFAULT_RECIPE_GPUS = 8
SpecAlgorithm = Literal["eagle", "nextn"]


class Speculative(StrictModel):
    """Speculative decoding with the model's own MTP layers as the draft (SGLang
    `--speculative-algorithm EAGLE|NEXTN --speculative-num-steps N`). In SGLang's EAGLE workers the
    prefill (extend) of every request also runs the draft model's extend over the same tokens, each
    chunk: one MTP layer (`eagle_worker`), or, with multi-layer MTP (`--enable-mtp`, upstream
    `--enable-multi-layer-eagle`: `multi_layer_eagle_worker_v2._draft_extend_for_prefill`), one
    forward per step, each through its own MTP layer. Decode speculation is not modelled (its
    acceptance rate is not data the planner has): decode figures are plain one-token steps."""

    algorithm: SpecAlgorithm = Field(description="SGLang --speculative-algorithm (NEXTN is EAGLE with MTP layers)")
    num_steps: int = Field(ge=1, le=16, description="--speculative-num-steps: draft steps per decode round")
    multi_layer: bool = Field(default=False, description="each draft step runs its own MTP layer (MiMo's "
                              "--enable-mtp / --enable-multi-layer-eagle); else one MTP layer is reused")

    @property
    def draft_extend_layers(self) -> int:
        """MTP layers the draft extend of one prefill chunk runs over its tokens."""
        return self.num_steps if self.multi_layer else 1

    def describe(self) -> str:
        return (f"{self.algorithm.upper()} speculative decoding, {self.num_steps} steps"
                f"{' (one MTP layer per step)' if self.multi_layer else ''}")


class Recipe(StrictModel):
    """One instance's serving recipe (see the module docstring)."""

    gpus: InstanceGpus = Field(default=DEFAULT_RECIPE_GPUS, description="GPUs of the instance the recipe is for")
    weights_dtype: WeightDtype = Field(description="weights of the checkpoint deployed (fp8 = block-scaled fp8 "
                                       "weights and activations, W8A8; int4 = int4 weights with bf16 activations, "
                                       "W4A16, the Marlin kernels SGLang runs)")
    fallback_weights_dtypes: tuple[WeightDtype, ...] = Field(
        default=(), description="other published checkpoints of the model, in order of preference: an instance "
        "whose HBM cannot hold `weights_dtype` runs the first of these that fits (reports say which and why); "
        "an explicit --weights-dtype or recipe override turns this off")
    kv_dtype: CacheDtype = Field(default="bf16", description="KV-cache element type (--kv-cache-dtype)")
    attention_tp: InstanceGpus | None = Field(default=None, description="attention tensor-parallel degree within a "
                                        "DP group; default gpus / attention_dp")
    attention_dp: InstanceGpus = Field(default=1, description="DP-attention groups (--dp-size with --enable-dp-attention)")
    expert_tp: InstanceGpus | None = Field(default=None, description="routed experts tensor-split over this many GPUs; "
                                     "default gpus / expert_ep")
    expert_ep: InstanceGpus = Field(default=1, description="routed experts spread over this many GPUs (--ep-size)")
    chunked_prefill_tokens: TokensInt | None = Field(
        default=None, description="the engine's --chunked-prefill-size when the published command sets it "
        "(SGLang divides it over DP-attention groups); default the GPU's prefill_chunk_tokens")
    speculative: Speculative | None = Field(default=None, description="speculative decoding with the "
                                            "checkpoint's MTP layers, when the published command enables it")
    routing: Routing = Field(default="balanced", description="MoE routing the experts' cost assumes: balanced "
                             "(the planner's default) or power_law (the measured skew, alpha 1.01: the busiest EP "
                             "rank's load, `perf.routing`)")
    source: str = Field(description="where the recipe is published, or why it is assumed")
    assumed: bool = Field(default=False, description="true when no published recipe exists: the planner's "
                          "assumption, stated in reports")

    @model_validator(mode="after")
    def _layout(self) -> Recipe:
        g = self.gpus
        if self.weights_dtype in self.fallback_weights_dtypes or len(set(self.fallback_weights_dtypes)) < len(
                self.fallback_weights_dtypes):
            raise ValueError(f"fallback_weights_dtypes {list(self.fallback_weights_dtypes)} must list other "
                             f"checkpoints than weights_dtype {self.weights_dtype!r}, each once")
        if g % self.attention_dp:
            raise ValueError(f"attention_dp {self.attention_dp} must divide gpus {g}")
        if self.attention_tp is not None and self.attention_tp * self.attention_dp != g:
            raise ValueError(f"attention_tp x attention_dp = {self.attention_tp} x {self.attention_dp} must equal "
                             f"gpus {g}")
        if g % self.expert_ep:
            raise ValueError(f"expert_ep {self.expert_ep} must divide gpus {g}")
        if self.expert_tp is not None and self.expert_tp * self.expert_ep != g:
            raise ValueError(f"expert_tp x expert_ep = {self.expert_tp} x {self.expert_ep} must equal gpus {g}")
        return self

    @property
    def attn_tp(self) -> int:
        return self.attention_tp or self.gpus // self.attention_dp

    @property
    def moe_tp(self) -> int:
        return self.expert_tp or self.gpus // self.expert_ep

    def layout(self) -> str:
        """One line for reports: `fp8 weights, bf16 KV, attention TP 4 x DP 2, experts TP 1 x EP 8, balanced
        routing`."""
        return (f"{self.weights_dtype} weights, {self.kv_dtype} KV, attention TP {self.attn_tp}"
                + (f" x DP {self.attention_dp}" if self.attention_dp > 1 else "")
                + f", experts TP {self.moe_tp} x EP {self.expert_ep}, {self.routing.replace('_', '-')} routing"
                + (f", chunked prefill {self.chunked_prefill_tokens}" if self.chunked_prefill_tokens else "")
                + (f", {self.speculative.describe()}" if self.speculative else ""))

    def speculative_data(self) -> dict[str, object] | None:
        """The speculative-decoding part as JSON data (None when the recipe has none)."""
        sp = self.speculative
        if sp is None:
            return None
        return {**sp.model_dump(), "draft_extend_layers": sp.draft_extend_layers}

    def for_gpus(self, gpus: int) -> Recipe:
        """The same recipe on an instance of `gpus` GPUs: DP groups and the expert split keep their
        kind (pure EP stays pure EP, pure TP stays pure TP; a mixed split keeps its EP degree where
        it divides), each reduced to a divisor of `gpus`."""
        if gpus == self.gpus:
            return self
        dp = _gcd(self.attention_dp, gpus)
        if self.expert_ep == self.gpus:
            ep = gpus
        elif self.expert_ep == 1:
            ep = 1
        else:
            ep = _gcd(self.expert_ep, gpus)
        return self.model_copy(update={"gpus": gpus, "attention_dp": dp, "attention_tp": gpus // dp,
                                       "expert_ep": ep, "expert_tp": gpus // ep})


def chunk_error(tokens: int | None, attention_dp: int,
                field: str = "chunked_prefill_tokens") -> tuple[str, str, str] | None:
    """(field, problem, fix) when a chunked-prefill budget leaves a DP-attention group without a token:
    SGLang divides the budget over the groups (`server_args.py`: chunked_prefill_size //= dp_size), so
    fewer tokens than groups is a chunk of 0 tokens, a forward that never finishes a prompt."""
    if tokens is None or tokens >= attention_dp:
        return None
    return (field, f"a chunked-prefill size of {tokens} token(s) leaves each of the {attention_dp} DP-attention "
            "groups less than one token (SGLang divides it over the groups)",
            f"use at least {attention_dp} tokens (SGLang's default is 8192, e.g. 16k)")


def _gcd(a: int, b: int) -> int:
    import math

    return math.gcd(max(a, 1), b)


class RecipeOverrides(StrictModel):
    """Parts of a recipe to replace (CLI flags `--weights-dtype --kv-dtype --tp --ep --attention-dp
    --chunked-prefill-size`, or a scenario cluster's `recipe:` block). `tp` is the attention TP degree; `ep` the expert-parallel
    degree (the experts' TP becomes gpus / ep)."""

    weights_dtype: WeightDtype | None = None
    kv_dtype: CacheDtype | None = None
    tp: InstanceGpus | None = Field(default=None, description="attention tensor-parallel degree")
    ep: InstanceGpus | None = Field(default=None, description="expert-parallel degree")
    attention_dp: InstanceGpus | None = None
    routing: Routing | None = Field(default=None, description="MoE routing: balanced or power_law")
    chunked_prefill_tokens: TokensInt | None = Field(default=None, description="engine chunked-prefill size "
                                                     "(SGLang --chunked-prefill-size)")

    def is_empty(self) -> bool:
        return all(v is None for v in self.model_dump().values())

    def apply(self, recipe: Recipe) -> Recipe:
        """`recipe` with these parts replaced; raises ValueError (naming the field) if the result is
        not a valid layout for recipe.gpus."""
        g = recipe.gpus
        upd: dict[str, object] = {}
        if self.weights_dtype is not None:
            upd["weights_dtype"], upd["fallback_weights_dtypes"] = self.weights_dtype, ()
        if self.kv_dtype is not None:
            upd["kv_dtype"] = self.kv_dtype
        if self.routing is not None:
            upd["routing"] = self.routing
        if self.chunked_prefill_tokens is not None:
            upd["chunked_prefill_tokens"] = self.chunked_prefill_tokens
        dp = self.attention_dp if self.attention_dp is not None else recipe.attention_dp
        tp = self.tp if self.tp is not None else (None if self.attention_dp is not None else recipe.attention_tp)
        if self.tp is not None and self.attention_dp is None:
            if g % self.tp:
                raise ValueError(f"tp {self.tp} must divide the instance's {g} GPUs")
            dp = g // self.tp
        upd["attention_dp"], upd["attention_tp"] = dp, tp
        if self.ep is not None:
            if g % self.ep:
                raise ValueError(f"ep {self.ep} must divide the instance's {g} GPUs")
            upd["expert_ep"], upd["expert_tp"] = self.ep, g // self.ep
        src = ", ".join(f"{k}={v}" for k, v in self.model_dump().items() if v is not None)
        upd["source"] = f"{recipe.source}; overridden: {src}" if src else recipe.source
        return Recipe.model_validate({**recipe.model_dump(), **upd})


def hardware_errors(recipe: Recipe, hw: HardwareSpec) -> list[tuple[str, str, str]]:
    """(field, problem, fix) where `hw` cannot run the recipe's weights: fp8 checkpoints need fp8
    tensor cores (Hopper, Ada, Blackwell, MI300); bf16 / int4 (W4A16) / fp4 (upcast) run anywhere."""
    if recipe.weights_dtype == "fp8" and hw.datasheet.fp8_dense_flops_per_s is None:
        return [("weights_dtype", f"{hw.name} has no fp8 tensor cores, so it cannot run fp8 weights",
                 "use --weights-dtype bf16 (or int4), or a GPU with fp8")]
    return []
