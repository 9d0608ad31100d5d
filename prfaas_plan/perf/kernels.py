"""Vectorised cost models of single kernels: GEMM, prefill and decode attention, copies.

Each cost is `launch + max(compute / (peak x eff_c x occupancy), bytes / (bandwidth x eff_m))`:
- occupancy: an output tile is the unit of work of one SM. With fewer tiles than SMs only that
  fraction of the chip computes; GEMM tiles are 64 x 64 (TILE_GEMM), attention tiles are one
  (sequence, head, 128-query block) (TILE_ATTN_Q). Too few tiles also cannot saturate HBM: the
  GEMM memory term reaches full bandwidth once tiles >= SMs x saturation_tiles_per_sm. Prefill
  attention's compute ramps smoothly, tiles / (tiles + sat x SMs), where the GPU's calibration
  fits sat > 0: measured FlashAttention/cuDNN throughput keeps rising long after every SM has a
  tile (H100: about 340 TFLOP/s at 2K tokens x 16 heads, 625 at 32K), as the software pipeline
  fills and the causal tiles' unequal work evens out.
- causal attention computes whole diagonal tiles (see `prefill_attention_time`).
- fp8 GEMMs pay a per-token activation quantisation pass (read bf16, write fp8: 3 bytes/elem),
  as in SGLang/DeepGEMM fp8 paths.
All arguments broadcast as numpy arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.specs.hardware import HardwareSpec

TILE_GEMM = 64
TILE_ATTN_Q = 128
DTYPE_OPERAND_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp32": 4.0}
OUTPUT_BYTES = 2.0  # GEMM outputs and attention activations are bf16
FP8_QUANT_BYTES_PER_ELEM = 3.0

Arr = NDArray[np.float64]


def _gemm_params(hw: HardwareSpec, dtype: str):  # noqa: ANN202
    eff = hw.efficiency.gemm
    return eff.get(dtype) or eff["bf16"]  # type: ignore[call-overload]


def gemm_core(
    m: Arr, n: Arr, k: Arr, g: Arr, *, peak: float, bw: float, sms: int, operand_bytes: float,
    compute_eff: float, memory_eff: float, launch_s: float, sat_tiles_per_sm: float,
    quant_eff: float | None,
) -> Arr:
    """GEMM cost with explicit parameters (used by the calibration fit)."""
    tiles = g * np.ceil(np.maximum(m, 1e-9) / TILE_GEMM) * np.ceil(n / TILE_GEMM)
    occ = np.minimum(1.0, tiles / sms)
    bw_occ = np.minimum(1.0, tiles / (sms * sat_tiles_per_sm))
    flops = 2.0 * m * n * k * g
    byts = g * ((m * k + k * n) * operand_bytes + m * n * OUTPUT_BYTES)
    t = np.maximum(flops / (peak * compute_eff * occ), byts / (bw * memory_eff * bw_occ))
    if quant_eff:
        t = t + g * m * k * FP8_QUANT_BYTES_PER_ELEM / (bw * quant_eff)
    return np.asarray(launch_s + t, dtype=float)


def gemm_time(
    hw: HardwareSpec,
    dtype: str,
    m: ArrayLike,
    n: ArrayLike,
    k: ArrayLike,
    groups: ArrayLike = 1.0,
) -> Arr:
    """Time of `groups` GEMMs C[m x n] = A[m x k] B[k x n] in one (grouped) launch."""
    m_, n_, k_, g_ = (np.asarray(x, dtype=float) for x in (m, n, k, groups))
    p = _gemm_params(hw, dtype)
    ds = hw.datasheet
    return gemm_core(
        m_, n_, k_, g_, peak=hw.peak_flops(dtype), bw=ds.hbm_bandwidth_bytes_per_s,
        sms=ds.sm_count, operand_bytes=DTYPE_OPERAND_BYTES.get(dtype, 2.0),
        compute_eff=p.compute_efficiency, memory_eff=p.memory_efficiency, launch_s=p.launch_s,
        sat_tiles_per_sm=p.saturation_tiles_per_sm,
        quant_eff=p.activation_quant_efficiency if dtype == "fp8" else None,
    )


def prefill_attention_time(
    hw: HardwareSpec,
    batch: ArrayLike,
    q_tokens: ArrayLike,
    prefix: ArrayLike,
    heads: ArrayLike,
    kv_heads: ArrayLike,
    qk_dim: ArrayLike,
    v_dim: ArrayLike,
    window: ArrayLike | None = None,
    act_bytes: float = 2.0,
    dtype: str = "bf16",
) -> Arr:
    """Causal attention of q_tokens new queries over prefix + themselves (FlashAttention-style)."""
    b, c, P, h, hk, dq, dv = (
        np.asarray(x, dtype=float) for x in (batch, q_tokens, prefix, heads, kv_heads, qk_dim, v_dim)
    )
    # causal over whole tiles: a query tile of TILE_ATTN_Q rows computes every key up to the end of
    # its own tile (the diagonal tile is computed in full, then masked), so the mean keys per query
    # is (c + TILE) / 2, not (c + 1) / 2; a chunk shorter than a tile computes its full square.
    keys_per_query = P + np.minimum(c, (c + TILE_ATTN_Q) / 2.0)
    ctx = P + c
    if window is not None:
        w = np.asarray(window, dtype=float)
        keys_per_query = np.minimum(keys_per_query, w)
        ctx = np.minimum(ctx, w + c)
    e = hw.efficiency.prefill_attention
    ds = hw.datasheet
    flops = 2.0 * b * h * c * keys_per_query * (dq + dv)
    byts = b * act_bytes * (c * h * (dq + dv) + ctx * hk * (dq + dv))
    tiles = b * np.ceil(h) * np.ceil(np.maximum(c, 1.0) / TILE_ATTN_Q)
    sat = e.saturation_tiles_per_sm
    occ = tiles / (tiles + sat * ds.sm_count) if sat > 0 else np.minimum(1.0, tiles / ds.sm_count)
    t = np.maximum(
        flops / (hw.peak_flops(dtype) * e.compute_efficiency * occ),
        byts / (ds.hbm_bandwidth_bytes_per_s * e.memory_efficiency),
    )
    return np.asarray(e.launch_s + t, dtype=float)


def decode_attention_time(
    hw: HardwareSpec,
    batch: ArrayLike,
    context: ArrayLike,
    heads: ArrayLike,
    kv_token_bytes: ArrayLike,
    dot_dim: ArrayLike,
    v_dim: ArrayLike,
    dtype: str = "bf16",
    kv_heads: ArrayLike = 1.0,
) -> Arr:
    """One new query per sequence over `context` cached tokens: reads the whole cache, plus a
    fixed cost per (sequence, KV head) work item spread over the SMs (FlashInfer-style decode
    kernels give each pair its own thread block: large batches of short contexts pay for it)."""
    b, s, h, kvt, dq, dv, hk = (
        np.asarray(x, dtype=float) for x in (batch, context, heads, kv_token_bytes, dot_dim, v_dim, kv_heads)
    )
    e = hw.efficiency.decode_attention
    ds = hw.datasheet
    flops = 2.0 * b * h * s * (dq + dv)
    byts = b * s * kvt
    t = np.maximum(
        flops / (hw.peak_flops(dtype) * e.compute_efficiency),
        byts / (ds.hbm_bandwidth_bytes_per_s * e.memory_efficiency),
    )
    items = e.work_item_s * b * np.maximum(hk, 1.0) / ds.sm_count
    return np.asarray(e.launch_s + t + items, dtype=float)


def copy_time(hw: HardwareSpec, nbytes: ArrayLike) -> Arr:
    """Device-to-device copy of nbytes (read nbytes, write nbytes)."""
    b = np.asarray(nbytes, dtype=float)
    e = hw.efficiency
    return np.asarray(
        e.gemm["bf16"].launch_s + 2.0 * b / (hw.datasheet.hbm_bandwidth_bytes_per_s * e.memory_efficiency),
        dtype=float,
    )
