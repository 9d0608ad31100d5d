"""Operator-level roofline: prefill latency T_prefill(l) and decode step time T_decode(b, ctx).

A prefill of l tokens runs as ceil(l / chunk) forward passes (the engine's chunked prefill; with
DP attention over D groups SGLang gives each group chunk / D tokens: server_args.py divides
--chunked-prefill-size by --dp-size); chunk j processes c_j new tokens over a cached prefix P_j.
Each forward costs the sum over the op list (`perf.ops.build_ops`) of each op's kernel time, every
one from a kernel-fitted cost model: dense GEMMs and GQA/SWA attention from `perf.kernels`; routed
experts, MLA's absorbed form, linear attention and all-reduce from the measured mechanisms
(`perf.mechanisms`). On top of the kernels a prefill pays the engine's latency terms, the only
parameters fitted end to end (`hardware/*.yaml` efficiency block, `perf.calibration.fit_system`):
`forward_overhead_s` per forward, `request_overhead_s` per request, and the host-bound floor of an
eager forward (`host_floor`: it lasts at least layers x `layer_launch_s`, max with its kernels'
time). Decode steps pay none of them. Everything is vectorised over lengths (no Python loop over
requests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.perf import kernels
from prfaas_plan.perf import mechanisms as mech
from prfaas_plan.perf.ops import (
    ACTIVATION_PASSES,
    AttentionOp,
    Collective,
    Elementwise,
    FusedMoE,
    Gemm,
    LinearAttentionOp,
    Op,
    attention_groups,
    build_ops,
    is_draft,
)
from prfaas_plan.perf.routing import routing_imbalance
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import Recipe

Arr = NDArray[np.float64]
# SGLang runs MLA prefill in the MHA form when the cached prefix is empty or at least this long
# (SGLANG_CHUNKED_PREFIX_CACHE_THRESHOLD, default 8192: sglang/srt/environ.py), absorbed otherwise
MLA_MHA_MIN_PREFIX = 8192
MOE_EXTRA_KERNELS = 3  # fused-MoE layer kernels besides its two GEMMs: token alignment, activation, top-k sum
OP_CLASSES = ("gemm", "moe_gemm", "attention", "linear_attention", "elementwise", "collective", "overhead")


def _collective_time(hw: HardwareSpec, op: Collective, c: Arr, gpus: int, decode: bool) -> Arr:
    """All-reduce: the engine's custom all-reduce mechanism (`mechanisms.allreduce_time`; decode
    steps replay a CUDA graph, prefill forwards launch eagerly). All-to-all: bytes over the
    scale-up link plus the collective latency."""
    gpus = op.group or gpus
    if gpus <= 1:
        return np.zeros_like(c)
    if op.kind == "allreduce":
        return mech.allreduce_time(hw, op.bytes_per_token * c, gpus, graph=decode)
    e = hw.efficiency
    bw = hw.datasheet.scaleup_bandwidth_bytes_per_s * e.scaleup_efficiency
    per_gpu = op.bytes_per_token * c * (gpus - 1) / gpus
    return np.asarray(e.collective_latency_s + per_gpu / bw, dtype=float)


def _moe_time(op: FusedMoE, c: Arr, hw: HardwareSpec) -> Arr:
    """The routed experts: the fused-MoE mechanism in the recipe's weights dtype and expert TP x EP,
    under the recipe's routing (`perf.routing`: the busiest GPU's load over its balanced share). A
    block fitted on the two grouped GEMMs alone (`MoEEfficiency.gemms_only`) also pays the fused
    layer's other kernels: token alignment, the activation (read gate and up, write the product) and
    the top-k sum (read the local assignments' outputs, write the hidden state), each a launch plus
    its bytes at copy bandwidth."""
    skew = routing_imbalance(op.routing, c, op.num_experts, op.top_k, op.expert_ep)
    t = mech.moe_time(hw, op.weights_dtype, c * skew, op.hidden, op.expert_intermediate, op.num_experts, op.top_k,
                      op.expert_tp, op.expert_ep)
    block = hw.efficiency.moe.get(mech.moe_compute_dtype(hw, op.weights_dtype))  # type: ignore[call-overload]
    if block is None or not block.gemms_only:
        return t
    assign = c * skew * op.top_k / op.expert_ep
    ie = op.expert_intermediate / op.expert_tp
    byts = mech.ACT_BYTES * (assign * ACTIVATION_PASSES * ie + assign * op.hidden + c * op.hidden)
    mem_bw = hw.datasheet.hbm_bandwidth_bytes_per_s * hw.efficiency.memory_efficiency
    return np.asarray(t + MOE_EXTRA_KERNELS * hw.efficiency.gemm["bf16"].launch_s + byts / mem_bw, dtype=float)


def _attention_time(op: AttentionOp, c: Arr, prefix: Arr, hw: HardwareSpec, decode: bool) -> Arr:
    """Full attention in the form the engine runs. GQA/SWA: FlashAttention prefill, paged decode.
    MLA (SGLang's DeepSeek dispatch, `deepseek_common/attention_backend_handler.py`, FA3 on Hopper):
    a prefill chunk with no cached prefix, or one of at least MLA_MHA_MIN_PREFIX tokens, runs the
    per-head MHA form (qk 192 / v 128 per head, forward_normal / MHA_ONE_SHOT / MHA_CHUNKED_KV); a
    chunk over a shorter prefix, and decode, run the absorbed form (one 576/512 latent KV head:
    `mechanisms.mla_prefill_time`, `mla_decode_time`)."""
    if decode:
        ctx = prefix if op.window is None else np.minimum(prefix, op.window)
        if op.mla:
            return mech.mla_decode_time(hw, c, ctx, op.heads, op.kv_dtype)
        return kernels.decode_attention_time(hw, c, ctx, op.heads, op.kv_token_bytes, op.decode_qk_dim, op.v_dim,
                                             kv_heads=op.kv_heads)
    mha = kernels.prefill_attention_time(hw, 1.0, c, prefix, op.heads, op.kv_heads, op.qk_dim, op.v_dim, op.window)
    if not op.mla:
        return mha
    absorbed = (prefix > 0) & (prefix < MLA_MHA_MIN_PREFIX)
    if not np.any(absorbed):
        return mha
    return np.where(absorbed, mech.mla_prefill_time(hw, 1.0, c, prefix, op.heads, op.kv_dtype), mha)


def _linear_attention_time(op: LinearAttentionOp, c: Arr, hw: HardwareSpec, decode: bool) -> Arr:
    """The measured linear-attention kernels: prefill = chunked recurrence (+ short convolution),
    decode = one recurrent step per sequence (+ convolution update)."""
    v, h, hk, dk, dv = op.variant, op.heads, op.kv_heads, op.key_dim, op.value_dim
    if decode:
        t = mech.linear_attention_time(hw, v, "decode", c, c, h, hk, dk, dv)
        return t + (mech.linear_attention_time(hw, v, "conv_update", c, c, h, hk, dk, dv) if op.conv else 0.0)
    t = mech.linear_attention_time(hw, v, "chunk", c, 1.0, h, hk, dk, dv)
    return t + (mech.linear_attention_time(hw, v, "conv", c, 1.0, h, hk, dk, dv) if op.conv else 0.0)


def op_time(op: Op, c: Arr, prefix: Arr, hw: HardwareSpec, model: ModelSpec, gpus: int, decode: bool) -> Arr:
    """Per-GPU time of one op (all `op.count` layers) for forwards of c tokens over a prefix."""
    gdt = hw.gemm_dtype(model.weights_dtype)
    dp = getattr(op, "dp", 1)  # attention-side ops carry their DP-attention group count
    if decode and not isinstance(op, Collective) and dp > 1:
        c = np.maximum(c / dp, np.minimum(c, 1.0))  # DP attention: each group decodes its share
    mem_bw = hw.datasheet.hbm_bandwidth_bytes_per_s * hw.efficiency.memory_efficiency
    if isinstance(op, Gemm):
        # decode: every sequence of the batch needs its logits (the LM head's rows_per_token = 0
        # means "only the last position" of a prefill)
        rows = np.maximum(c * (1.0 if decode else op.rows_per_token), 1.0)
        if op.mla_prefix_rows and not decode:  # MHA-form MLA: the prefix's latents are up-projected too
            rows = rows + np.where(prefix >= MLA_MHA_MIN_PREFIX, prefix, 0.0)
        t = kernels.gemm_time(hw, hw.gemm_dtype(op.weights_dtype) if op.weights_dtype else gdt, rows, op.n, op.k)
    elif isinstance(op, FusedMoE):
        t = _moe_time(op, c, hw)
    elif isinstance(op, AttentionOp):
        t = _attention_time(op, c, prefix, hw, decode)
    elif isinstance(op, LinearAttentionOp):
        t = _linear_attention_time(op, c, hw, decode)
    elif isinstance(op, Elementwise):
        t = op.kernels * hw.efficiency.gemm["bf16"].launch_s + op.bytes_per_token * c / mem_bw
    else:
        t = _collective_time(hw, op, c, gpus, decode)
    return np.asarray(op.count * t, dtype=float)


def host_floor(model: ModelSpec, hw: HardwareSpec, kernels_s: ArrayLike) -> Arr:
    """What the host-bound floor adds to an eager prefill forward whose target-model kernels take
    `kernels_s`: the forward lasts at least layers x `layer_launch_s` (the host issuing it layer by
    layer), max with its kernels' time. The MTP draft extend's kernels do not hide it: the draft is
    a forward of its own, launched after the target's (it reads the target's hidden states)."""
    host = model.num_hidden_layers * hw.efficiency.layer_launch_s
    return np.asarray(np.maximum(host - np.asarray(kernels_s, dtype=float), 0.0), dtype=float)


@dataclass(frozen=True)
class ForwardCost:
    total: Arr
    by_class: dict[str, Arr]


def forward_time(
    model: ModelSpec, hw: HardwareSpec, gpus: int, c: ArrayLike, prefix: ArrayLike, decode: bool = False,
    ops: list[Op] | None = None, recipe: Recipe | None = None,
) -> ForwardCost:
    """One forward pass of c tokens over `prefix` cached tokens; `recipe` replaces the model's own."""
    if recipe is not None:
        model = model.with_recipe(recipe)
    c_ = np.asarray(c, dtype=float)
    p_ = np.broadcast_to(np.asarray(prefix, dtype=float), c_.shape)
    by: dict[str, Arr] = {k: np.zeros_like(c_) for k in OP_CLASSES}
    target = np.zeros_like(c_)  # the target model's kernels, which alone can hide its host floor
    for op in ops if ops is not None else build_ops(model, gpus, decode=decode):
        t = op_time(op, c_, p_, hw, model, gpus, decode)
        by[op.cls] = by[op.cls] + t
        target = target if is_draft(op) else target + t
    if not decode:  # fitted on prefill; a decode step pays only its kernels (see decode_step_time)
        by["overhead"] = by["overhead"] + hw.efficiency.forward_overhead_s + host_floor(model, hw, target)
    total = sum(by.values(), np.zeros_like(c_))
    return ForwardCost(np.asarray(total, dtype=float), by)


def engine_chunk(model: ModelSpec, hw: HardwareSpec) -> float:
    """The engine's --chunked-prefill-size: the recipe's when its published command sets one, else
    the GPU's default (SGLang's, by GPU memory: `server_args.py`)."""
    return float(model.recipe.chunked_prefill_tokens or hw.efficiency.prefill_chunk_tokens)


def chunk_tokens(model: ModelSpec, hw: HardwareSpec, gpus: int, budget: float | None = None) -> float:
    """Tokens of one request per forward: the engine's chunked-prefill budget (the override, else
    the recipe's, else the GPU's), divided over the DP-attention groups as SGLang does
    (`server_args.py`: chunked_prefill_size //= dp_size when DP attention is on)."""
    return float(budget or engine_chunk(model, hw)) // attention_groups(model, gpus)


# (length, chunk) cells one prefill costing evaluates: each is a row of per-op arrays, so the grid is
# the run's memory and time. The paper scenario at SGLang's 8192-token chunks needs about 3e5; a
# 1-token chunk size made it 71 s (and `kv --lengths 1e8` at 2-token chunks ran for minutes).
MAX_CHUNK_CELLS = 4_000_000


def chunk_count(L: Arr, C: float) -> int:
    """Forwards the longest of the lengths `L` takes in chunks of `C` tokens; a grid of lengths x
    chunks beyond MAX_CHUNK_CELLS is refused before any array is sized from it."""
    J = int(np.ceil(L / C).max())
    if J * len(L) > MAX_CHUNK_CELLS:
        from prfaas_plan.errors import PrfaasError

        raise PrfaasError(
            f"chunked prefill of up to {L.max():,.0f} tokens in {C:,.0f}-token chunks is {J:,} forwards per request, "
            f"{J * len(L):,} chunk costs over {len(L):,} length(s): more than the {MAX_CHUNK_CELLS:,} one run computes",
            fix="use a larger chunked-prefill size (--chunked-prefill-size, --prefill-batch-tokens or a recipe's "
            "chunked_prefill_tokens; SGLang's default is 8192) or shorter lengths")
    return J


@dataclass(frozen=True)
class PrefillCost:
    lengths: Arr
    seconds: Arr
    by_class: dict[str, Arr]

    def dominant(self) -> list[str]:
        names = [k for k in self.by_class]
        stack = np.stack([self.by_class[k] for k in names])
        return [names[i] for i in np.argmax(stack, axis=0)]


def prefill_time(
    model: ModelSpec, hw: HardwareSpec, gpus: int, lengths: ArrayLike, chunk: int | None = None,
    recipe: Recipe | None = None,
) -> PrefillCost:
    """T_prefill(l) of one request alone on one instance, vectorised over lengths; `chunk` is the
    engine's chunked-prefill budget (default the recipe's, else the GPU's; DP attention divides it,
    `chunk_tokens`);
    `recipe` (e.g. the model's recipe with overrides) replaces the model's own."""
    if recipe is not None:
        model = model.with_recipe(recipe)
    L = np.atleast_1d(np.asarray(lengths, dtype=float))
    if np.any(L < 1):
        raise ValueError("prefill lengths must be >= 1 token")
    C = chunk_tokens(model, hw, gpus, chunk)
    J = chunk_count(L, C)
    j = np.arange(J, dtype=float)[None, :]
    prefix = j * C
    c = np.clip(L[:, None] - prefix, 0.0, C)
    mask = c > 0
    cc = np.where(mask, c, 1.0)
    ops = build_ops(model, gpus)
    fc = forward_time(model, hw, gpus, cc, np.where(mask, prefix, 0.0), ops=ops)
    by = {k: np.where(mask, v, 0.0).sum(axis=1) for k, v in fc.by_class.items()}
    by["overhead"] = by["overhead"] + hw.efficiency.request_overhead_s
    total = sum(by.values(), np.zeros_like(L))
    return PrefillCost(L, np.asarray(total, dtype=float), by)


def decode_step_time(
    model: ModelSpec, hw: HardwareSpec, gpus: int, batch: ArrayLike, context: ArrayLike,
    recipe: Recipe | None = None,
) -> ForwardCost:
    """Time of one decode step: `batch` sequences, each with `context` cached tokens.

    The sum of the step's kernels (each with its fitted launch latency), and nothing else: no
    `forward_overhead_s`, which was fitted on end-to-end prefill latencies and absorbs per-chunk
    scheduling of prefill. SGLang replays a decode step as one CUDA graph (`cuda_graph_max_bs` 512
    at TP >= 4 on H200/H20: server_args.py) with the overlap scheduler preparing the next batch
    while the GPU runs, so host-side launch and scheduling costs are hidden. No end-to-end decode
    measurement is available to fit a residual per-step cost, so none is charged (stated here
    and in the README)."""
    return forward_time(model, hw, gpus, batch, context, decode=True, recipe=recipe)
