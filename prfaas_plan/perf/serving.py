"""Steady-state serving throughput of one prefill instance: GPU time per request under load.

Latency and capacity are different quantities. `roofline.prefill_time` is the latency of one
request alone (TTFT): every chunk is its own forward, and the request pays `request_overhead_s`
(tokenisation, scheduling, the first-token path) and one `forward_overhead_s` per chunk. A busy
instance instead runs forwards filled to the engine's token budget B (SGLang's chunked prefill:
`--chunked-prefill-size`, default 8192 tokens on 80-160 GB GPUs such as H100, H20 and H200,
16384 above: sglang/srt/server_args.py) and overlaps the per-request overhead with other
requests' compute. The GPU time a request of l tokens occupies in that steady state is

    S(l) = sum over its chunks j of [ c_j / B x (F_tok(B) + forward_overhead_s + H_j) + A_j ]

- F_tok(B): the token-proportional ops (GEMMs, experts, norms, collectives) of a forward of B
  tokens, shared by the requests in it in proportion to their tokens;
- H_j: the host-bound floor of that (eager) forward, `roofline.host_floor`: what layers x
  layer_launch_s exceeds its target-model kernels by (F_tok(B) and the attention of the sequences
  in it), shared like F_tok; zero whenever a full forward's kernels outlast the host (at the
  8192-token budget on H200 and H20 for every catalog model but Qwen3-30B-A3B's short requests on
  H200, < 1%; it binds on faster GPUs, B200/GB200, and at small budgets);
- A_j: the request's own attention (and linear-attention) work for chunk j of c_j tokens over its
  cached prefix P_j. Short requests (l <= B) are packed n = B / l to a forward, so their attention
  runs as one batched kernel of n sequences (costed exactly as one sequence with n times the
  heads: tiles, FLOPs and bytes are per (sequence, head)); a long request's chunks each run alone.
- DP attention (D groups): the groups hold different requests and run concurrently, so the
  attention-side ops of a forward carry 1 / D of its tokens and sequences per GPU; a long request
  is chunked at B / D tokens (SGLang divides the chunked-prefill budget by the DP size).
- No `request_overhead_s`: it is latency that does not occupy the GPU.

1 / S(l) is the instance's request rate for requests of length l, and l / S(l) its token rate.
For l >> B, S(l) -> T_prefill(l) - request_overhead_s. This is an approximation of a real
scheduler: forwards are assumed always full (a saturated queue), the last partial chunk of a long
request shares its forward with the next request, and a mixed-length queue is priced request by
request (the mean of S over the mix).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.perf.ops import Op, build_ops, is_draft
from prfaas_plan.perf.roofline import (
    OP_CLASSES,
    PrefillCost,
    chunk_count,
    chunk_tokens,
    engine_chunk,
    host_floor,
    op_time,
)
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec

Arr = NDArray[np.float64]
PER_SEQUENCE = ("attention", "linear_attention")  # op classes whose work is per (sequence, head)
HEAD_FIELDS = ("heads", "kv_heads")


def _batched(op: Op, seqs: Arr) -> Op:
    """`op` for `seqs` sequences at once: attention work is independent per (sequence, head), so a
    batch of n sequences costs what one sequence with n x the heads costs."""
    upd = {f.name: getattr(op, f.name) * seqs for f in dataclasses.fields(op) if f.name in HEAD_FIELDS}
    return dataclasses.replace(op, **upd)


def _own_prefix_work(op: Op, tok: float, c: Arr, prefix: Arr, mask: NDArray[np.bool_], hw: HardwareSpec, model: ModelSpec,
                     gpus: int) -> Arr:
    """A request's own share of a token-proportional op that also scales with its cached prefix
    (MLA's kv_b_proj up-projecting the prefix's latents in the MHA form): the op's time with the
    prefix minus without, per chunk (0 where `mask` has no chunk)."""
    if not getattr(op, "mla_prefix_rows", False):
        return np.zeros_like(c)
    full = np.full_like(c, tok)
    extra = op_time(op, full, prefix, hw, model, gpus, False) - op_time(op, full, np.zeros_like(c), hw, model, gpus, False)
    return np.asarray(np.where(mask, extra, 0.0), dtype=float)


def token_budget(model: ModelSpec, hw: HardwareSpec, batch_tokens: float | None = None) -> float:
    """The engine's prefill token budget per forward: the override, else the engine's chunk size
    (the recipe's --chunked-prefill-size, else the GPU's default: `roofline.engine_chunk`)."""
    return float(batch_tokens or engine_chunk(model, hw))


def prefill_service_time(
    model: ModelSpec, hw: HardwareSpec, gpus: int, lengths: ArrayLike, batch_tokens: float | None = None,
    ops: list[Op] | None = None,
) -> PrefillCost:
    """S(l): GPU seconds one request of l tokens occupies on a saturated instance (module doc)."""
    L = np.atleast_1d(np.asarray(lengths, dtype=float))
    if np.any(L < 1):
        raise ValueError("prefill lengths must be >= 1 token")
    B = token_budget(model, hw, batch_tokens)
    Bc = chunk_tokens(model, hw, gpus, B)  # one request's tokens per forward (B / DP groups)
    ops = ops if ops is not None else build_ops(model, gpus)
    chunks = np.ceil(L / Bc)
    j = np.arange(chunk_count(L, Bc), dtype=float)[None, :]
    prefix = j * Bc
    c = np.clip(L[:, None] - prefix, 0.0, Bc)
    mask = c > 0
    cc = np.where(mask, c, 1.0)
    pp = np.where(mask, prefix, 0.0)
    # sequences sharing a forward: a short request's n = B / l, a long request's chunk alone
    n = np.where(chunks[:, None] > 1, 1.0, B / L[:, None]) * np.ones_like(cc)
    share = np.where(mask, cc / B, 0.0)  # this chunk's share of a full forward's tokens
    by: dict[str, Arr] = {k: np.zeros_like(L) for k in OP_CLASSES}
    one = np.ones(1)
    target = np.zeros_like(cc)  # per chunk: the target-model kernels of the forward it sits in, per GPU
    for op in ops:
        dp = float(getattr(op, "dp", 1))
        if op.cls in PER_SEQUENCE:
            s = n / dp  # this forward's sequences on one attention group
            t = op_time(_batched(op, np.maximum(s, 1.0)), cc, pp, hw, model, gpus, False)
            per_req = t * np.minimum(s, 1.0) / n
            by[op.cls] = by[op.cls] + np.where(mask, per_req, 0.0).sum(axis=1)
        else:
            group = getattr(op, "group", 0)  # an attention group's all-reduce carries its group's tokens
            tok = B / dp if dp > 1 else (B * group / gpus if 0 < group < gpus else B)
            full = float(op_time(op, tok * one, 0.0 * one, hw, model, gpus, False)[0])
            t = full + _own_prefix_work(op, tok, cc, pp, mask, hw, model, gpus)
            by[op.cls] = by[op.cls] + full * share.sum(axis=1) + (t - full).sum(axis=1)
        target = target if is_draft(op) else target + t
    per_forward = hw.efficiency.forward_overhead_s + host_floor(model, hw, target)
    by["overhead"] = by["overhead"] + (per_forward * share).sum(axis=1)
    total = sum(by.values(), np.zeros_like(L))
    return PrefillCost(L, np.asarray(total, dtype=float), by)


def occupancy_from_latency(
    model: ModelSpec, hw: HardwareSpec, gpus: int, lengths: ArrayLike, latency_s: ArrayLike,
) -> Arr:
    """Occupancy S(l) of a *measured* single-request latency T_meas(l): T_meas x S_roof / T_roof.

    A published prefill time is a latency; the roofline's own ratio of occupancy to latency at that
    length (how much of a lone request's time is overhead or unbatched work) converts it. A ratio,
    not a difference, so a measurement below the roofline's overheads still gives S > 0."""
    from prfaas_plan.perf.roofline import prefill_time

    L = np.atleast_1d(np.asarray(lengths, dtype=float))
    ratio = prefill_service_time(model, hw, gpus, L).seconds / prefill_time(model, hw, gpus, L).seconds
    return np.asarray(np.asarray(latency_s, dtype=float) * ratio, dtype=float)
