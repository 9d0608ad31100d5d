"""Operator-level roofline: prefill latency T_prefill(l) and decode step time T_decode(b, ctx).

A prefill of l tokens runs as ceil(l / chunk) forward passes (the engine's chunked prefill);
chunk j processes c_j new tokens over a cached prefix P_j. Each forward costs the sum over the
op list (`perf.ops.build_ops`) of each op's kernel time (`perf.kernels`), plus a fixed
`forward_overhead_s`; each request adds `request_overhead_s`. Collectives cost
bytes / (scale-up bandwidth x efficiency) + a latency per call. Everything is vectorised over
lengths (no Python loop over requests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.perf import kernels
from prfaas_plan.perf.ops import (
    AttentionOp,
    Collective,
    Elementwise,
    Gemm,
    GroupedGemm,
    LinearAttentionOp,
    Op,
    build_ops,
)
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import DTYPE_BYTES, ModelSpec
from prfaas_plan.specs.recipe import Recipe

Arr = NDArray[np.float64]
OP_CLASSES = ("gemm", "moe_gemm", "attention", "linear_attention", "elementwise", "collective", "overhead")


def _collective_time(hw: HardwareSpec, op: Collective, c: Arr, gpus: int) -> Arr:
    gpus = op.group or gpus
    if gpus <= 1:
        return np.zeros_like(c)
    e = hw.efficiency
    bw = hw.datasheet.scaleup_bandwidth_bytes_per_s * e.scaleup_efficiency
    frac = (gpus - 1) / gpus
    per_gpu = op.bytes_per_token * c * (2.0 * frac if op.kind == "allreduce" else frac)
    return np.asarray(e.collective_latency_s + per_gpu / bw, dtype=float)


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
        t = kernels.gemm_time(hw, gdt, rows, op.n, op.k)
    elif isinstance(op, GroupedGemm):
        # Expected experts on this GPU that receive at least one of the c * top_k assignments.
        p_hit = 1.0 - (1.0 - op.top_k / op.num_experts) ** c
        active = np.maximum(op.experts_per_gpu * p_hit, 1e-9)
        rows = c * op.top_k / op.num_experts * op.experts_per_gpu / active
        t = kernels.gemm_time(hw, gdt, rows * hw.efficiency.moe_effective_rows_factor, op.n, op.k, groups=active)
    elif isinstance(op, AttentionOp):
        if decode:
            ctx = prefix if op.window is None else np.minimum(prefix, op.window)
            t = kernels.decode_attention_time(hw, c, ctx, op.heads, op.kv_token_bytes, op.decode_qk_dim, op.v_dim,
                                             kv_heads=op.kv_heads)
        else:
            t = kernels.prefill_attention_time(
                hw, 1.0, c, prefix, op.heads, op.kv_heads, op.qk_dim, op.v_dim, op.window
            )
    elif isinstance(op, LinearAttentionOp):
        h, dk, dv = op.heads, op.key_dim, op.value_dim
        if decode:  # one recurrent step per sequence: read and write the state
            flops = c * h * 6.0 * dk * dv
            byts = c * h * dk * dv * op.state_bytes * 2.0
        else:  # chunked-parallel form: intra-chunk attention + state update + readout
            flops = c * h * (2.0 * op.chunk * (dk + dv) + 6.0 * dk * dv)
            byts = c * h * 2.0 * (dk + dv) * DTYPE_BYTES[model.activation_dtype]
            byts = byts + np.ceil(c / op.chunk) * h * dk * dv * op.state_bytes * 2.0
        e = hw.efficiency.prefill_attention
        t = e.launch_s + np.maximum(
            flops / (hw.peak_flops("bf16") * e.compute_efficiency), byts / mem_bw
        )
    elif isinstance(op, Elementwise):
        t = op.kernels * hw.efficiency.gemm["bf16"].launch_s + op.bytes_per_token * c / mem_bw
    else:
        t = _collective_time(hw, op, c, gpus)
    return np.asarray(op.count * t, dtype=float)


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
    for op in ops if ops is not None else build_ops(model, gpus):
        by[op.cls] = by[op.cls] + op_time(op, c_, p_, hw, model, gpus, decode)
    if not decode:  # fitted on prefill; a decode step pays only its kernels (see decode_step_time)
        by["overhead"] = by["overhead"] + hw.efficiency.forward_overhead_s
    total = sum(by.values(), np.zeros_like(c_))
    return ForwardCost(np.asarray(total, dtype=float), by)


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
    """T_prefill(l) of one request alone on one instance, vectorised over lengths; `recipe`
    (e.g. the model's recipe with overrides) replaces the model's own."""
    if recipe is not None:
        model = model.with_recipe(recipe)
    L = np.atleast_1d(np.asarray(lengths, dtype=float))
    if np.any(L < 1):
        raise ValueError("prefill lengths must be >= 1 token")
    C = float(chunk or hw.efficiency.prefill_chunk_tokens)
    n_chunks = np.ceil(L / C)
    J = int(n_chunks.max())
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
