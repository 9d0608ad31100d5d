"""Model catalog schema: a model is a list of layer groups, each an attention kind plus an FFN.

Attention kinds (discriminated by `kind`): `gqa` (MHA/GQA full attention), `mla` (DeepSeek-style
latent attention), `swa` (sliding-window GQA), `linear` (KDA, Gated DeltaNet, Lightning, Mamba2:
a fixed-size recurrent state plus an optional short-convolution state). FFN kinds: `dense`, `moe`.

To add a model: write `models/NAME.yaml` (or run `prfaas models import config.json`), listing the
layer groups with counts that add up to the published `num_hidden_layers`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from prfaas_plan.specs import limits as L
from prfaas_plan.specs.base import Layers, ModelDim, ModelDimOrZero, Name, StrictModel, TokensInt
from prfaas_plan.specs.recipe import DEFAULT_RECIPE_GPUS, CacheDtype, Recipe, chunk_error

DTYPE_BYTES: dict[str, float] = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp32": 4.0, "fp4": 0.5, "int4": 0.5}


class GQAAttention(StrictModel):
    kind: Literal["gqa"] = "gqa"
    num_heads: ModelDim
    num_kv_heads: ModelDim
    head_dim: ModelDim
    v_head_dim: ModelDim | None = None
    output_gate: bool = Field(default=False, description="gated attention: q_proj also emits a gate")

    @property
    def v_dim(self) -> int:
        return self.v_head_dim or self.head_dim

    @model_validator(mode="after")
    def _heads(self) -> GQAAttention:
        if self.num_heads % self.num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        return self


class SWAAttention(GQAAttention):
    kind: Literal["swa"] = "swa"  # type: ignore[assignment]
    window: TokensInt


class MLAAttention(StrictModel):
    kind: Literal["mla"] = "mla"
    num_heads: ModelDim
    kv_lora_rank: ModelDim
    qk_rope_head_dim: ModelDim
    qk_nope_head_dim: ModelDim
    v_head_dim: ModelDim
    q_lora_rank: ModelDim | None = None


class LinearAttention(StrictModel):
    kind: Literal["linear"] = "linear"
    variant: Literal["kda", "gated_deltanet", "lightning", "mamba2"]
    num_heads: ModelDim = Field(description="value heads (state is heads x key_head_dim x value_head_dim)")
    num_key_heads: ModelDim | None = None
    key_head_dim: ModelDim
    value_head_dim: ModelDim
    conv_kernel: ModelDimOrZero = 0
    conv_channels: ModelDimOrZero | None = Field(
        default=None, description="channels of the short convolution; default q,k,v projections"
    )
    state_dtype: CacheDtype = "fp32"
    chunk_size: TokensInt = Field(default=64, description="chunked-parallel prefill block length")

    @property
    def key_heads(self) -> int:
        return self.num_key_heads or self.num_heads

    @property
    def conv_width(self) -> int:
        if self.conv_kernel == 0:
            return 0
        if self.conv_channels is not None:
            return self.conv_channels
        return 2 * self.key_heads * self.key_head_dim + self.num_heads * self.value_head_dim


Attention = Annotated[
    GQAAttention | SWAAttention | MLAAttention | LinearAttention, Field(discriminator="kind")
]


class DenseFFN(StrictModel):
    kind: Literal["dense"] = "dense"
    intermediate_size: ModelDim


class MoEFFN(StrictModel):
    kind: Literal["moe"] = "moe"
    num_experts: ModelDim
    top_k: ModelDim
    expert_intermediate_size: ModelDim
    num_shared_experts: ModelDimOrZero = 0
    shared_intermediate_size: ModelDim | None = None

    @model_validator(mode="after")
    def _k(self) -> MoEFFN:
        if self.top_k > self.num_experts:
            raise ValueError("top_k cannot exceed num_experts")
        return self


FFN = Annotated[DenseFFN | MoEFFN, Field(discriminator="kind")]


class LayerGroup(StrictModel):
    count: Layers
    attention: Attention
    ffn: FFN
    note: str | None = None


class MTPLayers(StrictModel):
    """The checkpoint's multi-token-prediction (MTP / NextN) modules, the draft of speculative
    decoding: each fuses the token embedding with the previous hidden state (`eh_proj`, 2 x hidden ->
    hidden, with enorm / hnorm before and a final norm after) and runs one decoder layer of this
    shape; the LM head is shared with the model."""

    count: Layers = Field(description="MTP modules the checkpoint ships")
    attention: Attention
    ffn: FFN
    note: str | None = None


class ModelSpec(StrictModel):
    name: Name
    display_name: Name
    source: str
    hidden_size: ModelDim
    vocab_size: ModelDim
    num_hidden_layers: Layers
    recipe: Recipe = Field(description="published serving recipe of an instance (weights and KV dtypes, layout)")
    activation_dtype: Literal["bf16"] = "bf16"
    published_total_params: float | None = Field(default=None, gt=0, le=L.MAX_PARAMS, allow_inf_nan=False)
    tie_word_embeddings: bool = False
    layers: list[LayerGroup] = Field(min_length=1, max_length=L.MAX_LAYERS)
    mtp: MTPLayers | None = Field(default=None, description="the checkpoint's MTP draft layers (costed only "
                                  "when the recipe enables speculative decoding)")
    notes: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_recipe(cls, data: Any) -> Any:
        """A model file without `recipe:` (a user file, `prfaas models import`) may give the
        checkpoint's `weights_dtype` / `kv_dtype` at the top level: they become an assumed recipe
        with SGLang's defaults (`--tp 8`: attention and experts tensor-parallel over 8 GPUs)."""
        if not isinstance(data, dict):
            return data
        top = {k: data[k] for k in ("weights_dtype", "kv_dtype") if k in data}
        if "recipe" in data:
            if top:
                raise ValueError(f"{', '.join(top)} belong inside `recipe:` when the model has a recipe")
            return data
        rest = {k: v for k, v in data.items() if k not in top}
        rest["recipe"] = {
            "weights_dtype": top.get("weights_dtype", "bf16"), "kv_dtype": top.get("kv_dtype", "bf16"),
            "attention_tp": DEFAULT_RECIPE_GPUS, "expert_tp": DEFAULT_RECIPE_GPUS, "expert_ep": 1, "assumed": True,
            "source": "assumed: no published recipe in the model file; SGLang defaults (--tp 8: attention and "
                      "experts tensor-parallel over 8 GPUs) with the checkpoint's dtypes",
        }
        return rest

    @property
    def weights_dtype(self) -> str:
        return self.recipe.weights_dtype

    @property
    def kv_dtype(self) -> str:
        return self.recipe.kv_dtype

    def with_recipe(self, recipe: Recipe) -> ModelSpec:
        """This model served with another recipe (validated against the architecture)."""
        return ModelSpec.model_validate({**self.model_dump(exclude={"recipe"}), "recipe": recipe.model_dump()})

    @model_validator(mode="after")
    def _layer_count(self) -> ModelSpec:
        total = sum(g.count for g in self.layers)
        if total != self.num_hidden_layers:
            raise ValueError(
                f"layer groups add up to {total} layers but num_hidden_layers is "
                f"{self.num_hidden_layers}"
            )
        errs = model_errors(self, self.recipe)
        if errs:
            field, problem, fix = errs[0]
            raise ValueError(f"recipe.{field}: {problem}; fix: {fix}")
        return self


def model_errors(model: ModelSpec, recipe: Recipe) -> list[tuple[str, str, str]]:
    """(field, problem, fix) for every rule `recipe` breaks on `model`'s architecture."""
    spec = recipe.speculative
    if spec is not None and model.mtp is None:
        return [("speculative", "speculative decoding needs the model's MTP draft layers and the model file has "
                 "no `mtp:` block", "add the checkpoint's `mtp:` layers to the model file, or drop `speculative`")]
    if spec is not None and model.mtp is not None and spec.draft_extend_layers > model.mtp.count:
        return [("speculative", f"multi-layer MTP with {spec.num_steps} steps needs {spec.num_steps} MTP layers; "
                 f"the checkpoint has {model.mtp.count}", f"use num_steps <= {model.mtp.count}")]
    chunk = chunk_error(recipe.chunked_prefill_tokens, recipe.attention_dp)
    errs: list[tuple[str, str, str]] = [chunk] if chunk else []
    tp = recipe.attn_tp
    for g in model.layers:
        a, f = g.attention, g.ffn
        heads = a.num_heads if isinstance(a, GQAAttention | MLAAttention | LinearAttention) else 0
        if heads and heads % tp:
            divisors = [d for d in (1, 2, 4, 8, 16, 32, 64) if heads % d == 0 and recipe.gpus % d == 0]
            errs.append(("attention_tp", f"attention TP {tp} does not divide the {heads} attention heads",
                         f"use an attention TP that divides {heads} (e.g. {max(divisors)}), with attention_dp = "
                         f"gpus / TP"))
            break
    for g in model.layers:
        f = g.ffn
        if isinstance(f, MoEFFN) and recipe.expert_ep > f.num_experts:
            errs.append(("expert_ep", f"EP {recipe.expert_ep} exceeds the {f.num_experts} routed experts",
                         f"use an EP of at most {f.num_experts}"))
            break
        if isinstance(f, MoEFFN) and f.num_experts % recipe.expert_ep:
            errs.append(("expert_ep", f"EP {recipe.expert_ep} does not divide the {f.num_experts} routed experts",
                         "use an EP that divides the number of experts"))
            break
    return errs
