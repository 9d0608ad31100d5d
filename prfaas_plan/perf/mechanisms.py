"""Kernel mechanisms fitted on measured serving-engine kernels (../shared/measurements/*-mechanisms.csv):
fused MoE, MLA in the absorbed form, linear attention (GDN, KDA), and the engine's all-reduce.

Each function returns seconds for one kernel call on one GPU, vectorised over numpy arrays, from the
GPU's datasheet and one efficiency block (`specs.hardware.Efficiency`). The parameters are fitted by
`perf.fit_mechanisms` on kernel rows only (never on end-to-end figures, never per model); the
mechanism, not the shapes, is what is fitted: the fits are checked on whole held-out shapes.

- **MoE** (`moe_time`): one GPU's share of a routed-expert layer with experts split expert_tp x
  expert_ep, in the structure of SGLang's fused MoE (moe_align_block_size, the fused gate/up GEMM,
  silu_and_mul, the fused down GEMM, moe_sum). Each of the E / ep local experts that receives tokens
  reads its 3 k n/tp weights; its rows are padded to the kernel's row block (a power of two from 16
  to 64, like the tuned Triton configs); compute runs at a fitted fraction of the tensor peak, slowed
  with few rows per expert by a per-SM small-batch rate (`ramp_flops_per_row_sm`: per-SM work, so a
  borrowed block scales it with SMs, not tensor peak), and overlaps the weight stream (max of the two:
  the kernels pipeline loads under MMAs).
  Two costs scale with the *whole* layer's routed tokens, which every GPU pays whatever its EP
  degree (measured EP-8 ranks are only ~4-5x faster than EP 1): the activation and top-k sum
  traffic over every token's assignments (`routed_bytes_efficiency`: fp8 and bf16 fit 0.6-0.7 of
  HBM bandwidth) and a per-MAC grid cost (the sorted-token grid spans all assignments; only Marlin's
  int4 path fits a material one). Routing skew is a stated effect: the planner assumes balanced
  routing; the measured power-law (alpha 1.01) rows are predicted by the same balanced model and
  their error is reported separately (`prfaas validate`, `moe[power_law_1.01]`).
- **MLA** (`mla_prefill_time`, `mla_decode_time`): SGLang runs MLA attention absorbed: every query
  head attends to one latent KV head of kv_lora_rank + rope (576) dims and produces kv_lora_rank (512)
  values, so the attention FLOPs are 2 c keys h (576 + 512), 3.4x the per-head (192 + 128) form; the
  prefill/decode attention formulas of `perf.kernels` with their own fitted blocks.
- **Linear attention** (`linear_attention_time`), in the structure of flash-linear-attention's
  chunked form (SGLang's `chunk_gated_delta_rule` / `chunk_kda`: l2norm, chunk_local_cumsum,
  chunk_scaled_dot_kkt, solve_tril, recompute_w_u, chunk_gated_delta_rule_fwd_h, chunk_fwd_o). Its
  cost is not its FLOPs (first principles charge 4-9x too little): it is a fixed pipeline cost, the
  first chunk's row-serial triangular solve, (chunk, head) items of the parallel kernels spread over
  the SMs, the sequential state pass (one step per 64-token chunk for each wave of (sequence, head,
  64 value columns) programs: few sequences and heads leave most SMs idle), and the per-chunk states
  (dk x dv bf16 per chunk and head) once they no longer stay in L2 between the state pass and the
  output kernel (the fitted state_cache_bytes, 47 MB, lands at H200's 50 MB L2). The short
  convolution is a strided copy whose programs walk 8-token blocks serially; decode reads and writes the fp32
  state. Each variant (GDN, KDA) has its own block. Lightning attention and Mamba2 have no measured
  kernel: they are costed as GDN (the nearest measured relative: a gated linear recurrence over the
  same chunked form); how far off that is has not been measured (no rows), so it is stated, not
  bounded. Any other variant is an error. A GPU without a fitted block (a user file) falls back to
  first principles (`_first_principles`), and the output says so (`linear_block_note`).
- **All-reduce** (`allreduce_time`): latency + 2 (G-1)/G x bytes / (scale-up bandwidth x efficiency)
  (ring / two-shot), and from a fitted size up the faster of that and the switch-reduced algorithm
  (NVLink SHARP: each GPU sends and receives its bytes once, the NVSwitch reduces): bytes /
  (bandwidth x its efficiency). The ring alone over-predicted 8-GPU messages of 128 MiB-1 GiB by
  38-50% (they run at 0.53 of the link as switch-reduced, consistently); 2- and 4-GPU messages stay
  on the ring line, which the min reproduces (the ring's 2 (G-1)/G traffic is smaller there).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.perf import kernels
from prfaas_plan.specs.hardware import HardwareSpec, KernelEfficiency, LinearAttentionEfficiency, MoEEfficiency

Arr = NDArray[np.float64]
WEIGHT_BYTES = {"bf16": 2.0, "fp8": 1.0, "int4": 0.5}  # int4: Marlin packs 8 weights per 32-bit word
MOE_ROW_BLOCK_MIN, MOE_ROW_BLOCK_MAX = 16.0, 64.0
MOE_COL_BLOCK = 128.0
ACT_BYTES = kernels.OUTPUT_BYTES  # bf16 activations (one definition: perf.kernels)
MLA_LATENT, MLA_ROPE = 512, 64
LINEAR_CHUNK = 64  # flash-linear-attention's chunk size BT
STATE_COLUMNS = 64  # value columns per program of the state pass (BV; grid = (dv / BV, sequences x heads))
CONV_BLOCK_TOKENS = 8  # tokens per program of the Triton causal-conv1d kernel (BLOCK_M)
LINEAR_STATE_BYTES = 4.0  # fp32 recurrent state
CONV_KERNEL = 4
FITTED_LINEAR = ("gdn", "kda")
# variants without a measured kernel, costed as Gated DeltaNet (their nearest measured relative: a gated
# linear recurrence in the same chunked form); any other variant is an error, not silently GDN
LINEAR_AS_GDN = ("lightning", "mamba2")
# a model's linear-attention variant (`specs.model.LinearAttention.variant`) or a measured row's kernel
# family -> the fitted block that costs it: the one mapping, used by `perf.ops` and the functions below
LINEAR_FAMILY = {"gdn": "gdn", "gated_deltanet": "gdn", "kda": "kda"} | dict.fromkeys(LINEAR_AS_GDN, "gdn")


def linear_family(variant: str) -> str:
    """The fitted kernel family (`FITTED_LINEAR`) that costs `variant`; unknown variants are an error."""
    if variant not in LINEAR_FAMILY:
        raise ValueError(f"unknown linear-attention variant {variant!r}")
    return LINEAR_FAMILY[variant]


def moe_compute_dtype(hw: HardwareSpec, weights_dtype: str) -> str:
    """Which fused-MoE kernel runs: fp8 where the GPU has fp8 tensor cores and a fitted fp8 block,
    int4 (Marlin, bf16 MMA) for int4 weights, else bf16 (fp4 weights are upcast)."""
    if weights_dtype == "fp8" and hw.datasheet.fp8_dense_flops_per_s and "fp8" in hw.efficiency.moe:
        return "fp8"
    if weights_dtype == "int4" and "int4" in hw.efficiency.moe:
        return "int4"
    return "bf16"


def moe_core(
    e: MoEEfficiency, peak: float, bw: float, sms: int, wbytes: float,
    m: Arr, k: Arr, n: Arr, experts: Arr, topk: Arr, tp: Arr, ep: Arr,
) -> Arr:
    """Fused-MoE time with explicit parameters (used by the fit)."""
    nl = n / tp
    assign = m * topk  # the whole layer's routed assignments
    local = assign / ep
    hit = experts * (1.0 - (1.0 - topk / experts) ** m)  # experts that receive >= 1 token (uniform)
    active = np.maximum(hit / ep, 1e-9)
    rows = local / active
    block = np.clip(2.0 ** np.ceil(np.log2(np.maximum(rows, 1.0))), MOE_ROW_BLOCK_MIN, MOE_ROW_BLOCK_MAX)
    padded = active * np.ceil(rows / block) * block
    flops = 6.0 * padded * k * nl  # gate/up (2 nl columns) + down (k columns)
    tiles = active * np.ceil(rows / block) * np.ceil(2.0 * nl / MOE_COL_BLOCK)
    occ = np.minimum(1.0, tiles / sms)
    # tensor throughput, plus the small-batch per-SM rate that binds with few rows per expert
    small = 1.0 / (rows * sms * e.ramp_flops_per_row_sm) if e.ramp_flops_per_row_sm else 0.0
    t_c = flops / occ * (1.0 / (peak * e.compute_efficiency) + small)
    byts = active * 3.0 * k * nl * wbytes + local * ACT_BYTES * (2.0 * k + 3.0 * nl)
    t_m = byts / (bw * e.memory_efficiency)
    # the whole layer's activation traffic: the activation reads every assignment's 2 nl gate/up
    # columns and writes nl; the down GEMM's per-assignment outputs (k) are written and summed
    # over top-k into the m output rows, for every routed token whatever this GPU's EP share
    whole = ACT_BYTES * (assign * (3.0 * nl + 2.0 * k) + m * k)
    t_r = whole / (bw * e.routed_bytes_efficiency) if e.routed_bytes_efficiency else 0.0
    return np.asarray(e.launch_s + np.maximum(t_c, t_m) + t_r + e.routed_work_s_per_mac * assign * k * nl,
                      dtype=float)


def moe_time(
    hw: HardwareSpec, weights_dtype: str, tokens: ArrayLike, hidden: ArrayLike, expert_inter: ArrayLike,
    experts: ArrayLike, topk: ArrayLike, tp: ArrayLike, ep: ArrayLike,
) -> Arr:
    """One GPU's routed-expert layer: `tokens` entering the layer (the whole group's), `expert_inter`
    one expert's unsharded intermediate size."""
    dt = moe_compute_dtype(hw, weights_dtype)
    e = hw.efficiency.moe[dt]  # type: ignore[index]
    m, k, n, E, K, t, p = (np.asarray(x, dtype=float) for x in (tokens, hidden, expert_inter, experts, topk, tp, ep))
    ds = hw.datasheet
    peak = hw.peak_flops("fp8" if dt == "fp8" else "bf16")
    return moe_core(e, peak, ds.hbm_bandwidth_bytes_per_s, ds.sm_count, WEIGHT_BYTES[dt], m, k, n, E, K, t, p)


def _with_block(hw: HardwareSpec, block: str, eff: KernelEfficiency) -> HardwareSpec:
    return hw.model_copy(update={"efficiency": hw.efficiency.model_copy(update={block: eff})})


def mla_prefill_time(
    hw: HardwareSpec, batch: ArrayLike, q_tokens: ArrayLike, prefix: ArrayLike, heads: ArrayLike,
    kv_dtype: str = "bf16",
) -> Arr:
    """Absorbed MLA prefill attention: `heads` query heads over one latent KV head."""
    blocks = hw.efficiency.mla_prefill_attention
    e = blocks.get(kv_dtype) or blocks.get("bf16") or hw.efficiency.prefill_attention  # type: ignore[call-overload]
    h2 = _with_block(hw, "prefill_attention", e)
    ab = kernels.DTYPE_OPERAND_BYTES.get(kv_dtype, 2.0)
    return kernels.prefill_attention_time(h2, batch, q_tokens, prefix, heads, 1.0, MLA_LATENT + MLA_ROPE,
                                          MLA_LATENT, act_bytes=ab, dtype="bf16")


def mla_decode_time(hw: HardwareSpec, batch: ArrayLike, context: ArrayLike, heads: ArrayLike,
                    kv_dtype: str = "bf16") -> Arr:
    """Absorbed MLA decode: one new token per sequence over `context` cached latent tokens."""
    blocks = hw.efficiency.mla_decode_attention
    e = blocks.get(kv_dtype) or blocks.get("bf16") or hw.efficiency.decode_attention  # type: ignore[call-overload]
    h2 = _with_block(hw, "decode_attention", e)
    kvb = kernels.DTYPE_OPERAND_BYTES.get(kv_dtype, 2.0)
    return kernels.decode_attention_time(h2, batch, context, heads, (MLA_LATENT + MLA_ROPE) * kvb,
                                         MLA_LATENT + MLA_ROPE, MLA_LATENT, kv_heads=1.0)


def _chunk_time(e: LinearAttentionEfficiency, sms: int, bw: float, c: Arr, b: Arr, h: Arr, k_: Arr, v_: Arr) -> Arr:
    """Chunked prefill (flash-linear-attention's form): a fixed pipeline cost, the first chunk's
    row-serial triangular solve, the (chunk, head) items of the parallel kernels spread over the SMs,
    the sequential state pass (one step per chunk for each wave of (sequence, head, 64-column)
    programs), and the per-chunk states that no longer fit on chip."""
    seq = c / np.maximum(b, 1.0)
    nt = np.ceil(seq / LINEAR_CHUNK)
    items = b * nt * h
    waves = np.ceil(b * h * np.ceil(v_ / STATE_COLUMNS) / sms)
    states = items * k_ * v_ * ACT_BYTES
    spill = np.maximum(states - e.state_cache_bytes, 0.0) / (bw * e.state_spill_efficiency)
    return np.asarray(e.chunk_launch_s + e.chunk_row_s * np.minimum(seq, LINEAR_CHUNK) + items * e.chunk_item_s / sms
                      + waves * nt * e.state_step_s + spill, dtype=float)


def _conv_time(e: LinearAttentionEfficiency, bw: float, c: Arr, b: Arr, ch: Arr) -> Arr:
    """Prefill short convolution: read and write every channel of every token; a program walks its
    token block serially; beyond conv_strided_bytes the strided access runs at the spill efficiency."""
    byts = c * ch * ACT_BYTES * 2.0
    near = np.minimum(byts, e.conv_strided_bytes) if e.conv_strided_bytes > 0 else byts
    t = near / (bw * e.conv_memory_efficiency) + (byts - near) / (bw * e.conv_spill_efficiency)
    return np.asarray(e.conv_launch_s + e.conv_row_s * np.minimum(c / np.maximum(b, 1.0), CONV_BLOCK_TOKENS) + t,
                      dtype=float)


def linear_block_note(hw: HardwareSpec, variant: str) -> str | None:
    """A line for the output when `variant` has no fitted block on `hw` (costed from first principles)."""
    v = linear_family(variant)
    if v in hw.efficiency.linear_attention:
        return None
    return (f"{hw.name} has no fitted {v} linear-attention block: its kernels are costed from first principles "
            "(FLOPs at the prefill-attention efficiency), which charged the measured H200 GDN/KDA kernels 4-9x too "
            "little; run `prfaas calibrate` on linear-attention measurements of this GPU")


def _first_principles(hw: HardwareSpec) -> LinearAttentionEfficiency:
    """No fitted block (a user GPU file without one): the prefill-attention block's compute and copy
    efficiency as a stand-in, no serial, state or spill terms (optimistic; `linear_block_note`)."""
    pa, mem = hw.efficiency.prefill_attention, hw.efficiency.memory_efficiency
    flops_per_item = 2.0 * LINEAR_CHUNK * LINEAR_CHUNK * 128.0 * 4.0 + 6.0 * LINEAR_CHUNK * 128.0 * 128.0
    item_s = flops_per_item * hw.datasheet.sm_count / (hw.peak_flops("bf16") * pa.compute_efficiency)
    return LinearAttentionEfficiency(
        chunk_launch_s=pa.launch_s, chunk_row_s=0.0, chunk_item_s=item_s, state_step_s=0.0, state_cache_bytes=0.0,
        state_spill_efficiency=mem, conv_launch_s=pa.launch_s, conv_row_s=0.0, conv_memory_efficiency=mem,
        conv_strided_bytes=0.0, conv_spill_efficiency=mem, conv_update_launch_s=pa.launch_s,
        conv_update_memory_efficiency=mem, decode_memory_efficiency=mem, decode_launch_s=pa.launch_s)


def linear_attention_time(
    hw: HardwareSpec, variant: str, kernel: str, tokens: ArrayLike, batch: ArrayLike, heads: ArrayLike,
    key_heads: ArrayLike, dk: ArrayLike = 128.0, dv: ArrayLike = 128.0,
) -> Arr:
    """One linear-attention kernel: `kernel` is `chunk` (prefill recurrence over `tokens` in `batch`
    sequences), `conv` (prefill short convolution), `decode` (one recurrent step per sequence of
    `batch`) or `conv_update` (decode convolution). Heads are per GPU."""
    v = linear_family(variant)
    e = hw.efficiency.linear_attention.get(v) or _first_principles(hw)  # type: ignore[call-overload]
    c, b, h, hk, k_, v_ = (np.asarray(x, dtype=float) for x in (tokens, batch, heads, key_heads, dk, dv))
    ds = hw.datasheet
    bw = ds.hbm_bandwidth_bytes_per_s
    conv_ch = 2.0 * hk * k_ + h * v_
    if kernel == "chunk":
        return _chunk_time(e, ds.sm_count, bw, c, b, h, k_, v_)
    if kernel == "conv":
        return _conv_time(e, bw, c, b, conv_ch)
    if kernel == "decode":
        byts = b * h * k_ * v_ * LINEAR_STATE_BYTES * 2.0 + b * ACT_BYTES * (2.0 * hk * k_ + 2.0 * h * v_)
        return np.asarray(e.decode_launch_s + byts / (bw * e.decode_memory_efficiency), dtype=float)
    if kernel == "conv_update":
        byts = b * conv_ch * ACT_BYTES * (CONV_KERNEL + 1.0)
        return np.asarray(e.conv_update_launch_s + byts / (bw * e.conv_update_memory_efficiency), dtype=float)
    raise ValueError(f"unknown linear-attention kernel {kernel!r}")


def allreduce_time(hw: HardwareSpec, nbytes: ArrayLike, gpus: ArrayLike, graph: bool = True) -> Arr:
    """The engine's all-reduce of `nbytes` over `gpus` GPUs (0 on one GPU)."""
    b, g = np.asarray(nbytes, dtype=float), np.asarray(gpus, dtype=float)
    a = hw.efficiency.allreduce
    bw = hw.datasheet.scaleup_bandwidth_bytes_per_s
    if a is None:
        lat, eff = hw.efficiency.collective_latency_s, hw.efficiency.scaleup_efficiency
        return np.asarray(np.where(g > 1, lat + 2.0 * (g - 1.0) / np.maximum(g, 1.0) * b / (bw * eff), 0.0), dtype=float)
    switch = a.switch_min_bytes if hw.datasheet.switch_reduction else np.inf  # no in-network reduction: ring only
    return allreduce_core(a.latency_s if graph else a.eager_latency_s, a.bandwidth_efficiency, switch,
                          a.switch_bandwidth_efficiency, bw, b, g)


def allreduce_core(lat: ArrayLike, eff: float, switch_bytes: float, switch_eff: float, bw: float, b: Arr, g: Arr) -> Arr:
    """All-reduce time with explicit parameters (used by the fit): ring, or from `switch_bytes` up the faster of
    ring and switch-reduced."""
    ring = 2.0 * (g - 1.0) / np.maximum(g, 1.0) * b / (bw * eff)
    alg = np.where(b >= switch_bytes, np.minimum(ring, b / (bw * switch_eff)), ring)
    return np.asarray(np.where(g > 1, np.asarray(lat) + alg, 0.0), dtype=float)
