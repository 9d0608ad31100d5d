"""A model as a declarative list of per-GPU operations for one forward pass of an instance.

Parallel layout: the instance's serving recipe (`specs.recipe.Recipe`, the model's published one
unless overridden) on G GPUs:
- attention is tensor-parallel over the recipe's attention TP (heads split; GQA key/value heads
  replicated when TP exceeds them; the MLA latent and the low-rank down-projections replicated on
  every rank); dense FFN layers tensor-parallel over G;
- routed experts: expert_tp x expert_ep = G. Each GPU holds E / expert_ep experts, each split into
  expert_tp column slices (SGLang's default `--tp G` is expert_tp = G; `--ep-size G` is
  expert_ep = G), run as one fused-MoE kernel in the recipe's weights dtype (`FusedMoE`, costed by
  the measured mechanism `perf.mechanisms.moe_time`, so the layout changes the cost); shared
  experts tensor-parallel over G;
- activations are replicated across ranks after each all-reduce, so norms and residual adds run
  on the whole hidden state on every GPU.
- MLA runs in the form the engine runs (`roofline.op_time`): prefill in the per-head MHA form with
  the cached prefix's latents up-projected by kv_b_proj (`Gemm.mla_prefix_rows`), decode absorbed.
- DP attention (recipe attention_dp = D > 1, SGLang's `--enable-dp-attention --dp-size D`):
  attention is tensor-parallel over G / D GPUs within a group; one request's tokens live on one
  group (so a lone prefill computes its attention on G / D GPUs, in chunks of the engine's budget
  / D: SGLang divides --chunked-prefill-size by the DP size) and a decode batch is split
  evenly over the groups; tokens are gathered to every GPU for the experts and scattered back,
  costed as one all-reduce of the hidden state over G (an approximation of SGLang's gather +
  scatter).

Each op has a `count` (how many times per forward: layers of that kind) and a shape that scales
with the tokens of the forward `c` and, for attention, with the cached prefix `P`.
To add an op kind: add a dataclass here and its cost in `roofline.op_time`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from prfaas_plan.perf.mechanisms import linear_family
from prfaas_plan.specs.model import (
    DTYPE_BYTES,
    DenseFFN,
    GQAAttention,
    LinearAttention,
    MLAAttention,
    ModelSpec,
    MoEFFN,
    SWAAttention,
)
from prfaas_plan.specs.recipe import Recipe

# Passes over the hidden state per layer that are pure memory traffic, per token: two RMSNorms
# (read + write = 2 passes each) and two residual adds (read 2 + write 1 = 3 passes each).
NORM_RESIDUAL_PASSES_PER_LAYER = 10
# SiLU-and-multiply on the FFN intermediate: read gate and up, write the product.
ACTIVATION_PASSES = 3
# label prefix of the MTP draft extend's ops (`_mtp_ops`): a forward of its own after the target's
DRAFT_PREFIX = "mtp."


@dataclass(frozen=True)
class Gemm:
    label: str
    cls: str
    count: int
    n: int
    k: int
    rows_per_token: float = 1.0
    dp: int = 1  # DP-attention groups sharing a decode batch (attention-side ops only)
    mla_prefix_rows: bool = False  # MLA kv_b_proj: also up-projects the cached prefix in the MHA form
    weights_dtype: str | None = None  # a layer the checkpoint keeps in another dtype (MTP eh_proj: bf16)


@dataclass(frozen=True)
class FusedMoE:
    """One GPU's share of a routed-expert layer, run as one fused-MoE kernel (gate/up GEMM,
    activation, down GEMM: `perf.mechanisms.moe_time`): E / expert_ep experts on the GPU, each split
    into expert_tp column slices, in the recipe's weights dtype."""

    label: str
    cls: str
    count: int
    hidden: int
    expert_intermediate: int  # one expert's unsharded intermediate size
    num_experts: int
    top_k: int
    expert_tp: int
    expert_ep: int
    weights_dtype: str
    routing: str = "balanced"  # `perf.routing`: balanced (the default) or power_law

    @property
    def experts_per_gpu(self) -> float:
        return self.num_experts / self.expert_ep

    @property
    def gemm_shapes(self) -> list[tuple[int, int]]:
        """(n, k) of this GPU's gate/up and down slices (for the profiler's GEMM suite)."""
        ie = math.ceil(self.expert_intermediate / self.expert_tp)
        return [(2 * ie, self.hidden), (self.hidden, ie)]


@dataclass(frozen=True)
class AttentionOp:
    label: str
    cls: str
    count: int
    heads: float
    kv_heads: float
    qk_dim: int
    v_dim: int
    window: int | None
    kv_token_bytes: float  # decode: bytes of cache read per context token per GPU
    decode_qk_dim: int  # decode: dims of the dot products (MLA absorbed: latent + rope)
    dp: int = 1
    mla: bool = False  # MLA: the engine's prefill/decode forms (`roofline.op_time`)
    kv_dtype: str = "bf16"


@dataclass(frozen=True)
class LinearAttentionOp:
    """A linear-attention layer's kernels on one GPU (`perf.mechanisms.linear_attention_time`):
    prefill = the chunked recurrence + the short convolution; decode = one recurrent step + the
    convolution update. `heads` value heads and `kv_heads` key heads per GPU."""

    label: str
    cls: str
    count: int
    variant: str  # the fitted kernel family that costs it (`mechanisms.linear_family`): gdn | kda
    heads: float
    kv_heads: float
    key_dim: int
    value_dim: int
    conv: bool
    dp: int = 1


@dataclass(frozen=True)
class Elementwise:
    label: str
    cls: str
    count: int
    bytes_per_token: float
    kernels: int
    dp: int = 1


@dataclass(frozen=True)
class Collective:
    label: str
    cls: str
    count: int
    kind: str  # "allreduce" | "alltoall"
    bytes_per_token: float
    group: int = 0  # GPUs taking part; 0 = the whole instance


Op = Gemm | FusedMoE | AttentionOp | LinearAttentionOp | Elementwise | Collective


def _attention_ops(g_count: int, a: object, hidden: int, G: int, kvb: float, kv_dtype: str) -> list[Op]:
    ops: list[Op] = []
    if isinstance(a, GQAAttention):  # includes SWA
        kv_per_gpu = max(a.num_kv_heads / G, 1.0)
        q_out = a.num_heads * a.head_dim * (2 if a.output_gate else 1)
        qkv_n = math.ceil(q_out / G + kv_per_gpu * (a.head_dim + a.v_dim))
        kind = "swa" if isinstance(a, SWAAttention) else "gqa"
        ops.append(Gemm(f"{kind}.qkv_proj", "gemm", g_count, qkv_n, hidden))
        ops.append(Gemm(f"{kind}.o_proj", "gemm", g_count, hidden, math.ceil(a.num_heads * a.v_dim / G)))
        window = a.window if isinstance(a, SWAAttention) else None
        ops.append(
            AttentionOp(
                f"{kind}.attention", "attention", g_count, a.num_heads / G, kv_per_gpu,
                a.head_dim, a.v_dim, window, kv_per_gpu * (a.head_dim + a.v_dim) * kvb, a.head_dim,
            )
        )
    elif isinstance(a, MLAAttention):
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        if a.q_lora_rank:
            ops.append(Gemm("mla.q_a_proj", "gemm", g_count, a.q_lora_rank, hidden))
            ops.append(Gemm("mla.q_b_proj", "gemm", g_count, math.ceil(a.num_heads * qk / G), a.q_lora_rank))
        else:
            ops.append(Gemm("mla.q_proj", "gemm", g_count, math.ceil(a.num_heads * qk / G), hidden))
        ops.append(Gemm("mla.kv_a_proj", "gemm", g_count, a.kv_lora_rank + a.qk_rope_head_dim, hidden))
        # prefill in the MHA form up-projects the new tokens' and the cached prefix's latents to
        # per-head keys and values (decode's absorbed form multiplies the query instead: the same
        # GEMM size on the new tokens)
        ops.append(
            Gemm("mla.kv_b_proj", "gemm", g_count,
                 math.ceil(a.num_heads * (a.qk_nope_head_dim + a.v_head_dim) / G), a.kv_lora_rank,
                 mla_prefix_rows=True)
        )
        ops.append(Gemm("mla.o_proj", "gemm", g_count, hidden, math.ceil(a.num_heads * a.v_head_dim / G)))
        ops.append(
            AttentionOp(
                "mla.attention", "attention", g_count, a.num_heads / G, a.num_heads / G, qk,
                a.v_head_dim, None, (a.kv_lora_rank + a.qk_rope_head_dim) * kvb,
                a.kv_lora_rank + a.qk_rope_head_dim, mla=True, kv_dtype=kv_dtype,
            )
        )
    elif isinstance(a, LinearAttention):
        ops += _linear_ops(g_count, a, hidden, G)
    return ops


def _linear_ops(g_count: int, a: LinearAttention, hidden: int, G: int) -> list[Op]:
    ops: list[Op] = []
    qkv = 2 * a.key_heads * a.key_head_dim + a.num_heads * a.value_head_dim
    if a.variant == "kda":
        # KDA (SGLang kimi_linear.py): q, k, v and beta column-parallel; the decay and output gates
        # are low rank: f_a, g_a (hidden -> head_dim) replicated on every rank, then f_b, g_b
        # (head_dim -> heads x head_dim) column-parallel
        n_in = math.ceil((qkv + a.num_heads) / G) + 2 * a.key_head_dim
        ops.append(Gemm("kda.in_proj", "gemm", g_count, n_in, hidden))
        ops.append(Gemm("kda.fg_b_proj", "gemm", g_count, math.ceil(2 * a.num_heads * a.value_head_dim / G),
                        a.key_head_dim))
    else:
        gates = a.num_heads * a.value_head_dim + 2 * a.num_heads  # output gate + decay/beta
        ops.append(Gemm(f"{a.variant}.in_proj", "gemm", g_count, math.ceil((qkv + gates) / G), hidden))
    ops.append(
        Gemm(f"{a.variant}.out_proj", "gemm", g_count, hidden, math.ceil(a.num_heads * a.value_head_dim / G))
    )
    ops.append(
        LinearAttentionOp(
            f"{a.variant}.recurrence", "linear_attention", g_count, linear_family(a.variant),
            a.num_heads / G, a.key_heads / G, a.key_head_dim, a.value_head_dim, a.conv_kernel > 1,
        )
    )
    return ops


def _ffn_ops(g_count: int, f: object, hidden: int, G: int, act: float, recipe: Recipe) -> list[Op]:
    ops: list[Op] = []
    if isinstance(f, DenseFFN):
        inter = math.ceil(f.intermediate_size / G)
        ops.append(Gemm("dense.gate_up", "gemm", g_count, 2 * inter, hidden))
        ops.append(Gemm("dense.down", "gemm", g_count, hidden, inter))
        ops.append(Elementwise("dense.act", "elementwise", g_count, ACTIVATION_PASSES * inter * act, 1))
        ops.append(Collective("dense.allreduce", "collective", g_count, "allreduce", hidden * act))
    elif isinstance(f, MoEFFN):
        ops.append(Gemm("moe.router", "gemm", g_count, f.num_experts, hidden))
        ops.append(FusedMoE("moe.experts", "moe_gemm", g_count, hidden, f.expert_intermediate_size, f.num_experts,
                            f.top_k, recipe.moe_tp, recipe.expert_ep, recipe.weights_dtype, recipe.routing))
        # activations are replicated on every GPU, so each GPU routes every token to its own experts
        # (or expert slices) and the partial outputs are all-reduced, in both layouts (SGLang's
        # default MoE backends; DeepEP's all-to-all is not modelled)
        ops.append(Collective("moe.allreduce", "collective", g_count, "allreduce", hidden * act))
        if f.num_shared_experts:
            si = math.ceil(f.num_shared_experts * (f.shared_intermediate_size or f.expert_intermediate_size) / G)
            ops.append(Gemm("moe.shared_gate_up", "gemm", g_count, 2 * si, hidden))
            ops.append(Gemm("moe.shared_down", "gemm", g_count, hidden, si))
            ops.append(Elementwise("moe.shared_act", "elementwise", g_count, ACTIVATION_PASSES * si * act, 1))
    return ops


def instance_recipe(model: ModelSpec, gpus: int, recipe: Recipe | None = None) -> Recipe:
    """The recipe an instance of `gpus` GPUs runs: `recipe` if given, else the model's own, adapted
    to the instance size (`Recipe.for_gpus`)."""
    return (recipe or model.recipe).for_gpus(gpus)


def attention_groups(model: ModelSpec, gpus: int, recipe: Recipe | None = None) -> int:
    """DP-attention groups on an instance of `gpus` GPUs under its recipe."""
    return instance_recipe(model, gpus, recipe).attention_dp


def _mtp_ops(model: ModelSpec, gpus: int, r: Recipe) -> list[Op]:
    """The draft model's extend over a prefill chunk's tokens (recipe `speculative`, `specs.recipe.
    Speculative`): per draft layer, enorm + hnorm on the embedding and the hidden state, `eh_proj`
    (2 x hidden -> hidden, an unsharded bf16 nn.Linear on every GPU in SGLang's MTP modules), one
    decoder layer of the MTP shape under the same layout as the model's own layers, the final norm,
    and the shared LM head on each request's last position. Its kernels are charged; no per-forward
    engine overhead or host floor of its own is (module `perf.roofline`: `forward_overhead_s` is
    fitted on whole-model forwards, and no measurement separates a one-layer draft forward's host
    work), and its kernels do not hide the target forward's floor (`roofline.host_floor`)."""
    spec, mtp = r.speculative, model.mtp
    if spec is None or mtp is None:
        return []
    n, hidden = spec.draft_extend_layers, model.hidden_size
    act = DTYPE_BYTES[model.activation_dtype]
    dp, ga = r.attention_dp, r.attn_tp
    att = _attention_ops(n, mtp.attention, hidden, ga, DTYPE_BYTES[r.kv_dtype], r.kv_dtype)
    ops: list[Op] = [Elementwise("mtp.enorm_hnorm", "elementwise", n, 4 * hidden * act, 2, dp=dp),
                     Gemm("mtp.eh_proj", "gemm", n, hidden, 2 * hidden, dp=dp, weights_dtype="bf16")]
    ops += [dataclasses.replace(o, label=f"mtp.{o.label}", dp=dp) for o in att]  # type: ignore[arg-type]
    ops += [dataclasses.replace(o, label=f"mtp.{o.label}") for o in _ffn_ops(n, mtp.ffn, hidden, gpus, act, r)]
    ops.append(Elementwise("mtp.norm_residual", "elementwise", n,
                           (NORM_RESIDUAL_PASSES_PER_LAYER + 2) * hidden * act, 5))
    ops.append(Collective("mtp.attn.allreduce", "collective", n, "allreduce", hidden * act, group=ga))
    if dp > 1:
        ops.append(Collective("mtp.dp.gather_scatter", "collective", n, "allreduce", hidden * act))
    ops.append(Gemm("mtp.lm_head", "gemm", n, math.ceil(model.vocab_size / gpus), hidden, rows_per_token=0.0))
    return ops


def is_draft(op: Op) -> bool:
    """Whether `op` belongs to the MTP draft extend (`_mtp_ops`), not to the target model's forward."""
    return op.label.startswith(DRAFT_PREFIX)


def build_ops(model: ModelSpec, gpus: int, recipe: Recipe | None = None, decode: bool = False) -> list[Op]:
    """Per-GPU op list of one forward pass of `model` on an instance of `gpus` GPUs; a prefill
    forward (decode=False) also carries the draft model's extend when the recipe runs speculative
    decoding (`_mtp_ops`; decode speculation is not modelled)."""
    r = instance_recipe(model, gpus, recipe)
    hidden = model.hidden_size
    act = DTYPE_BYTES[model.activation_dtype]
    kvb = DTYPE_BYTES[r.kv_dtype]
    dp = r.attention_dp
    ga = r.attn_tp  # attention tensor-parallel degree
    ops: list[Op] = []
    for g in model.layers:
        att = _attention_ops(g.count, g.attention, hidden, ga, kvb, r.kv_dtype)
        ops += [dataclasses.replace(o, dp=dp) for o in att] if dp > 1 else att  # type: ignore[arg-type]  # all have dp
        ops += _ffn_ops(g.count, g.ffn, hidden, gpus, act, r)
        ops.append(
            Elementwise("norm_residual", "elementwise", g.count, NORM_RESIDUAL_PASSES_PER_LAYER * hidden * act, 4)
        )
        ops.append(Collective("attn.allreduce", "collective", g.count, "allreduce", hidden * act, group=ga))
        if dp > 1:
            ops.append(Collective("dp.gather_scatter", "collective", g.count, "allreduce", hidden * act))
    # LM head: only the last position of a prefill needs logits (rows_per_token=0 -> one row).
    ops.append(Gemm("lm_head", "gemm", 1, math.ceil(model.vocab_size / gpus), hidden, rows_per_token=0.0))
    return ops if decode else ops + _mtp_ops(model, gpus, r)


def _layer_params(h: int, a: object, f: object) -> float:
    """Parameters of one decoder layer (attention + FFN; norms ignored)."""
    if isinstance(a, GQAAttention):
        q = a.num_heads * a.head_dim * (2 if a.output_gate else 1)
        p = h * (q + a.num_kv_heads * (a.head_dim + a.v_dim)) + a.num_heads * a.v_dim * h
    elif isinstance(a, MLAAttention):
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        q = (h * a.q_lora_rank + a.q_lora_rank * a.num_heads * qk) if a.q_lora_rank else h * a.num_heads * qk
        p = q + h * (a.kv_lora_rank + a.qk_rope_head_dim)
        p += a.kv_lora_rank * a.num_heads * (a.qk_nope_head_dim + a.v_head_dim) + a.num_heads * a.v_head_dim * h
    else:
        assert isinstance(a, LinearAttention)
        qkv = 2 * a.key_heads * a.key_head_dim + a.num_heads * a.value_head_dim
        proj = a.num_heads * a.value_head_dim
        if a.variant == "kda":  # low-rank decay and output gates (see _attention_ops)
            p = h * (qkv + a.num_heads + 2 * a.key_head_dim) + 2 * a.key_head_dim * proj + proj * h
        else:
            p = h * (qkv + proj + 2 * a.num_heads) + proj * h
    if isinstance(f, DenseFFN):
        p += 3 * h * f.intermediate_size
    else:
        assert isinstance(f, MoEFFN)
        p += f.num_experts * 3 * h * f.expert_intermediate_size + h * f.num_experts
        p += f.num_shared_experts * 3 * h * (f.shared_intermediate_size or f.expert_intermediate_size)
    return float(p)


def param_count(model: ModelSpec) -> float:
    """Parameters implied by the layer list (embeddings included; norms and MTP layers ignored)."""
    h = model.hidden_size
    total = float(model.vocab_size * h * (1 if model.tie_word_embeddings else 2))
    return total + sum(g.count * _layer_params(h, g.attention, g.ffn) for g in model.layers)


def weight_bytes(model: ModelSpec, recipe: Recipe | None = None) -> float:
    """Bytes of weights: linear layers in the recipe's `weights_dtype`, embeddings and LM head in bf16;
    with speculative decoding also the MTP draft layers the engine loads (their eh_proj in bf16)."""
    r = recipe or model.recipe
    wd = r.weights_dtype
    h = model.hidden_size
    emb = model.vocab_size * h * (1 if model.tie_word_embeddings else 2)
    total = (param_count(model) - emb) * DTYPE_BYTES[wd] + emb * 2.0
    if r.speculative is not None and model.mtp is not None:
        n = r.speculative.draft_extend_layers
        total += n * (_layer_params(h, model.mtp.attention, model.mtp.ffn) * DTYPE_BYTES[wd] + 2 * h * h * 2.0)
    return total
