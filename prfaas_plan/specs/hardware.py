"""GPU catalog schema. Datasheet numbers and calibrated efficiencies live in separate blocks.

To add a GPU: write `hardware/NAME.yaml` with a `datasheet` block (each value with a source) and,
ideally, an `efficiency` block produced by `prfaas calibrate` from measurements of that GPU.
Without measurements, copy the block of the closest architecture and say so in its `source`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from prfaas_plan.specs.base import (
    ComputeUnits,
    EngineSeconds,
    Flops,
    Fraction,
    KernelSeconds,
    LinkGbps,
    MemoryBandwidth,
    MemoryBytes,
    Name,
    NonNegFloat,
    PosFloat,
    ScaleupDomain,
    StrictModel,
    TokensInt,
    UsdPerGpuHour,
)

Dtype = Literal["bf16", "fp8", "fp16", "fp32"]
# fields an older schema had: a file that still carries one was written before the date and is refitted, not respelt
REMOVED_FIELDS = {
    "moe_effective_rows_factor": "2026-11-23 (MoE is costed by the fitted fused-MoE blocks, efficiency.moe)",
    "chunk_compute_efficiency": "2026-11-23 (linear attention is costed by its fitted kernel structure)",
    "ramp_rows": "2026-11-23 (the MoE small-batch penalty is a per-SM rate, efficiency.moe.*.ramp_flops_per_row_sm)",
}
REFIT_FIX = ("rerun `prfaas calibrate --hardware GPU MEASUREMENTS.csv` (README, \"Accuracy\") to write a current "
             "efficiency block, or copy the mechanism blocks of the nearest catalog GPU (hardware/*.yaml) and say so "
             "in `source`")


class Datasheet(StrictModel):
    bf16_dense_flops_per_s: Flops
    fp8_dense_flops_per_s: Flops | None = None
    fp32_flops_per_s: Flops | None = None
    hbm_capacity_bytes: MemoryBytes
    hbm_bandwidth_bytes_per_s: MemoryBandwidth
    scaleup_bandwidth_bytes_per_s: MemoryBandwidth = Field(
        description="scale-up (NVLink / Infinity Fabric) bandwidth per GPU, one direction"
    )
    nic_bandwidth_gbps: LinkGbps
    sm_count: ComputeUnits = Field(description="streaming multiprocessors / compute units")
    max_gpus_per_scaleup_domain: ScaleupDomain = 8
    switch_reduction: bool = Field(
        default=False,
        description="the scale-up switch reduces in the network (NVLink SHARP: third-generation NVSwitch and "
        "later, HGX H100/H200/H20/H800, B200/GB200), so NCCL's NVLS all-reduce can run; false for A100's "
        "NVSwitch, PCIe-only GPUs and Infinity Fabric")
    source: str


class Price(StrictModel):
    usd_per_gpu_hour: UsdPerGpuHour
    source: str
    date: str


class GemmEfficiency(StrictModel):
    compute_efficiency: Fraction
    memory_efficiency: Fraction
    launch_s: KernelSeconds
    saturation_tiles_per_sm: PosFloat = Field(le=1e6,
        description="output tiles per SM needed to saturate HBM bandwidth (occupancy model)"
    )
    activation_quant_efficiency: PosFloat | None = Field(
        default=None, le=10.0,
        description="fp8 only: bandwidth efficiency of the per-token activation quantisation pass",
    )


class KernelEfficiency(StrictModel):
    compute_efficiency: Fraction
    memory_efficiency: Fraction
    launch_s: KernelSeconds
    work_item_s: KernelSeconds = Field(
        default=0.0,
        description="decode attention: fixed cost of one (sequence, KV head) work item on one SM "
        "(split, reduce, write-out), paid in waves over the SMs",
    )
    saturation_tiles_per_sm: float = Field(
        default=0.0, ge=0, le=1e6,
        description="prefill attention: compute throughput ramps as tiles / (tiles + this x SMs) "
        "(pipeline fill and causal load imbalance with few 128-query tiles per SM); 0 = full "
        "throughput once every SM has a tile",
    )


class MoEEfficiency(StrictModel):
    """One dtype's fused routed-expert kernel (gate/up GEMM, activation, down GEMM of one MoE layer on
    one GPU), fitted on measured fused-MoE kernels (`perf.mechanisms.moe_time`)."""

    compute_efficiency: Fraction
    memory_efficiency: Fraction
    launch_s: KernelSeconds
    routed_work_s_per_mac: NonNegFloat = Field(
        description="seconds per multiply-accumulate of the whole layer's routed work (every token's top-k "
        "assignments x hidden x expert columns on this GPU), paid by each GPU whatever its EP degree: the "
        "kernel's grid and token gather span all routed tokens, not only this GPU's experts'")
    ramp_flops_per_row_sm: PosFloat | None = Field(
        description="small-batch rate: with few rows per expert the tile loop runs at most this many FLOP/s per "
        "row received per SM (the padded tile's weight loads, Marlin's int4 unpacking and the MMA issue latency "
        "are per-SM work, not tensor throughput); compute time = FLOPs x (1 / (peak x compute_efficiency) + "
        "1 / (rows x SMs x this)); null = no small-batch penalty. Fitted as a knee in rows on the measuring GPU "
        "and stored per SM, so a block borrowed by another GPU scales it with that GPU's SMs, not its tensor "
        "peak (measured fp8 fused MoE: H20 / H200 = 1.6-2.0x at every batch, SMs 1.69x, tensor peak 6.7x)")
    routed_bytes_efficiency: Fraction | None = Field(
        default=None, description="HBM efficiency of the whole layer's activation traffic (silu_and_mul over "
        "every assignment's gate/up columns, the down outputs and the top-k sum), paid by each GPU whatever its "
        "EP degree; required unless `gemms_only` (a block fitted on the grouped GEMMs alone fits no such traffic): "
        "a whole-layer block without it was written by an older `prfaas calibrate`")
    gemms_only: bool = Field(
        default=False, description="the block was fitted on the layer's two grouped GEMMs alone (e.g. InferSim's "
        "DeepGEMM rows), not the whole fused-MoE layer: the roofline adds the layer's other kernels (token "
        "alignment, activation, top-k sum) as memory-bound kernels (`perf.roofline`)")

    @model_validator(mode="after")
    def _fitted(self) -> MoEEfficiency:
        if self.routed_bytes_efficiency is None and not self.gemms_only:
            raise ValueError("routed_bytes_efficiency is required for a whole-layer block (not gemms_only): a "
                             "fitted parameter; a block without it predates 2026-11-23: rerun `prfaas calibrate`")
        return self


class LinearAttentionEfficiency(StrictModel):
    """One linear-attention variant's kernels (`perf.mechanisms.linear_attention_time`), in the
    structure of the flash-linear-attention chunked form SGLang runs: a pipeline of per-(chunk, head)
    kernels (scaled k k^T, triangular solve, w/u recompute, output), one sequential state pass over
    the chunks, the short causal convolution, and the one-token decode step with its conv update."""

    chunk_launch_s: KernelSeconds = Field(description="fixed cost of one chunked-prefill call (its ~8 kernel "
                                          "launches and the varlen index preparation)")
    chunk_row_s: KernelSeconds = Field(description="serial cost per row of a sequence's first "
                                       "chunk (the triangular solve substitutes row by row; min(L, 64) rows)")
    chunk_item_s: KernelSeconds = Field(description="SM time of one (64-token chunk, head) item "
                                        "summed over the parallel kernels; items are spread over the SMs")
    state_step_s: KernelSeconds = Field(description="one 64-token step of the sequential state "
                                        "pass for one wave of (sequence, head, 64 value columns) programs")
    state_cache_bytes: NonNegFloat = Field(description="per-chunk states (dk x dv bf16 per chunk "
                                           "and head) that stay on chip (L2) between the state pass and the "
                                           "output kernel; fitted")
    state_spill_efficiency: Fraction = Field(description="HBM efficiency of the per-chunk state "
                                             "bytes beyond state_cache_bytes")
    conv_launch_s: KernelSeconds
    conv_row_s: KernelSeconds = Field(description="serial cost per token of a conv program's "
                                      "token block (min(L, 8) tokens per sequence)")
    conv_memory_efficiency: Fraction
    conv_strided_bytes: NonNegFloat = Field(description="bytes the prefill conv moves at "
                                            "conv_memory_efficiency; beyond them the strided (transposed "
                                            "packed-QKV) access runs at conv_spill_efficiency; 0 = no limit")
    conv_spill_efficiency: Fraction = Field(description="HBM efficiency beyond conv_strided_bytes")
    conv_update_launch_s: KernelSeconds = Field(description="decode conv-state update: fixed cost")
    conv_update_memory_efficiency: Fraction = Field(description="decode conv-state update: HBM "
                                                    "efficiency")
    decode_memory_efficiency: Fraction
    decode_launch_s: KernelSeconds
    eager_step_floor_s: KernelSeconds = Field(
        default=0.0, description="the shortest time a decode step's kernels report when a benchmark launches "
        "them back to back from the host without a CUDA graph (InferSim's triton do_bench rows: flat at ~80 us "
        "on H20 up to batch 32): the host's launch interval. Only the measurement predictor applies it; serving "
        "decode runs in CUDA graphs and does not pay it. 0 = none fitted")


class AllReduceEfficiency(StrictModel):
    """The engine's custom all-reduce (`perf.mechanisms.allreduce_time`)."""

    latency_s: KernelSeconds = Field(description="per call inside a CUDA graph")
    eager_latency_s: KernelSeconds = Field(description="per call launched eagerly (host launch included)")
    bandwidth_efficiency: Fraction = Field(description="achieved fraction of the scale-up link for the "
                                           "2 (G-1)/G x bytes a ring all-reduce moves per GPU")
    switch_min_bytes: NonNegFloat = Field(description="messages of at least this size may run the switch-reduced "
                                          "algorithm (NCCL's NVLink SHARP, NVLS) when it is faster; fitted on a grid "
                                          "of powers of two")
    switch_bandwidth_efficiency: Fraction = Field(description="achieved fraction of the scale-up link for the "
                                                  "switch-reduced all-reduce, which sends and receives each GPU's bytes "
                                                  "once (the NVSwitch reduces): bytes / (link x this)")


class Efficiency(StrictModel):
    """Empirical efficiency parameters: how close real kernels and engines get to the datasheet."""

    source: str = Field(description="how these numbers were obtained")
    gemm: dict[Dtype, GemmEfficiency]
    prefill_attention: KernelEfficiency
    decode_attention: KernelEfficiency
    memory_efficiency: Fraction = Field(description="elementwise / copy kernels vs HBM peak")
    scaleup_efficiency: Fraction = Field(description="collectives vs scale-up link peak")
    collective_latency_s: KernelSeconds
    request_overhead_s: EngineSeconds = Field(
        description="engine latency per prefill request, fitted end to end: tokenisation, scheduling, "
        "the first-token path (sampling, detokenisation, the response) and the batch set-up of its "
        "first forward; latency only, a busy instance overlaps it (`perf.serving`)"
    )
    forward_overhead_s: EngineSeconds = Field(
        description="engine cost per prefill forward, fitted end to end: the host-side work of an eager "
        "(no CUDA graph) forward (Python layer loop, kernel launches the GPU waits on, metadata "
        "preparation, the scheduler's per-step work) and any per-forward GPU work the kernel models "
        "miss; not charged to decode steps (replayed CUDA graphs, overlap scheduler)")
    layer_launch_s: EngineSeconds = Field(
        default=0.0, description="host time to issue one layer of an eager prefill forward, fitted end to end "
        "with the two overheads (it absorbs the per-layer Python and launch path and the host-device syncs "
        "an eager layer makes, e.g. an MoE dispatch waiting on token counts): a forward lasts at least "
        "layers x this, max with its kernels' time, not added to it (the GPU waits on the launches when "
        "its work per layer is shorter; a long chunk hides it); not charged to decode steps (CUDA graphs)")
    prefill_chunk_tokens: TokensInt = Field(description="engine chunked-prefill size")
    moe: dict[Literal["bf16", "fp8", "int4"], MoEEfficiency] = Field(
        default_factory=dict, description="fused routed-expert kernels per weights dtype")
    mla_prefill_attention: dict[Literal["bf16", "fp8"], KernelEfficiency] = Field(
        default_factory=dict, description="MLA prefill attention in the absorbed form (one 576/512 latent KV "
        "head), per KV-cache dtype")
    mla_decode_attention: dict[Literal["bf16", "fp8"], KernelEfficiency] = Field(
        default_factory=dict, description="MLA decode attention in the absorbed form, per KV-cache dtype")
    linear_attention: dict[Literal["gdn", "kda"], LinearAttentionEfficiency] = Field(
        default_factory=dict, description="Gated DeltaNet and KDA kernels (Lightning is costed as GDN)")
    allreduce: AllReduceEfficiency | None = None
    fit_residuals: dict[str, float] | None = None
    fit_at_bounds: list[str] | None = Field(default=None, description="fitted kernel-mechanism parameters that "
                                            "ended at a bound of their fit (`prfaas calibrate` warns)")

    @model_validator(mode="after")
    def _has_bf16(self) -> Efficiency:
        if "bf16" not in self.gemm:
            raise ValueError("efficiency.gemm needs at least a 'bf16' entry")
        return self


class HardwareSpec(StrictModel):
    name: Name
    display_name: Name
    vendor: Literal["nvidia", "amd", "cpu", "other"] = "nvidia"
    datasheet: Datasheet
    price: Price | None = None
    efficiency: Efficiency

    def peak_flops(self, dtype: str) -> float:
        """Dense peak for a GEMM operand dtype; fp8 falls back to bf16 on GPUs without fp8."""
        ds = self.datasheet
        if dtype == "fp8" and ds.fp8_dense_flops_per_s is not None:
            return ds.fp8_dense_flops_per_s
        if dtype == "fp32" and ds.fp32_flops_per_s is not None:
            return ds.fp32_flops_per_s
        return ds.bf16_dense_flops_per_s

    def gemm_dtype(self, weights_dtype: str) -> str:
        """Operand type of the dense (non-expert) GEMMs of a checkpoint: fp8 checkpoints quantise every
        linear layer (block-scaled fp8 where the GPU has fp8 tensor cores); int4 and fp4 checkpoints
        (Kimi-K2-Thinking's compressed-tensors INT4, gpt-oss's MXFP4) quantise only the routed
        experts and keep attention, shared experts and dense layers in bf16, so their dense GEMMs
        run in bf16 (the experts' kernel is `perf.mechanisms.moe_compute_dtype`).
        """
        if weights_dtype == "fp8" and self.datasheet.fp8_dense_flops_per_s and "fp8" in self.efficiency.gemm:
            return "fp8"
        if weights_dtype == "fp32" and "fp32" in self.efficiency.gemm:
            return "fp32"
        return "bf16"
