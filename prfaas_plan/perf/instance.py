"""What one instance does (`prfaas perf`): a request's prefill latency, the instance's prefill and
decode throughput, on its own terms.

- prefill latency: `roofline.prefill_time` of one request alone, chunked at the token budget
  (TTFT; request overhead included);
- prefill throughput: input_length / S(input_length) per GPU, S the GPU occupancy per request on a
  busy instance (`serving.prefill_service_time`: forwards filled to the token budget);
- decode: `roofline.decode_step_time` of `batch` sequences at the mean context of a generation,
  input + output / 2 (the context grows from input to input + output); TPOT = the step time (one
  token per sequence per step); throughput = batch / step / GPUs. The default batch is the largest
  whose step meets the decode SLO (tokens/s per request) and whose KV fits the HBM left after the
  weights (`DECODE_BATCH_LIMIT` at most, SGLang's CUDA-graph capture range at TP >= 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prfaas_plan.errors import InfeasibleError
from prfaas_plan.perf.kv import kv_bytes
from prfaas_plan.perf.roofline import decode_step_time, prefill_time
from prfaas_plan.perf.serving import prefill_service_time, token_budget
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec

DECODE_BATCH_LIMIT = 512  # SGLang cuda_graph_max_bs at TP >= 4 on H100/H20/H200 (server_args.py)


@dataclass(frozen=True)
class PrefillPerf:
    input_length: int
    batch_tokens: int
    latency_s: float
    occupancy_s: float
    throughput_tokens_per_s_per_gpu: float
    latency_breakdown_s: dict[str, float]
    occupancy_breakdown_s: dict[str, float]


@dataclass(frozen=True)
class DecodePerf:
    batch: int
    context: float
    step_s: float
    tpot_s: float
    throughput_tokens_per_s_per_gpu: float
    batch_limited_by: str  # "given" | "slo" | "hbm" | "limit"
    step_breakdown_s: dict[str, float]


@dataclass(frozen=True)
class PerfResult:
    model: str
    hardware: str
    gpus: int
    recipe: dict[str, Any]  # the serving layout assumed and its source
    slo_tokens_per_s: float
    prefill: PrefillPerf
    decode: DecodePerf
    notes: tuple[str, ...] = ()  # approximations the figures rest on (`perf.api.mechanism_notes`)


def prefill_perf(model: ModelSpec, hw: HardwareSpec, gpus: int, input_length: int,
                 batch_tokens: int | None = None) -> PrefillPerf:
    B = int(token_budget(model, hw, batch_tokens))
    lat = prefill_time(model, hw, gpus, [input_length], chunk=B)
    occ = prefill_service_time(model, hw, gpus, [input_length], batch_tokens=B)
    s = float(occ.seconds[0])
    return PrefillPerf(
        input_length, B, float(lat.seconds[0]), s, input_length / s / gpus,
        {k: float(v[0]) for k, v in lat.by_class.items()}, {k: float(v[0]) for k, v in occ.by_class.items()},
    )


def largest_decode_batch(model: ModelSpec, hw: HardwareSpec, gpus: int, context: float, kv_free_bytes: float,
                         slo_tokens_per_s: float, limit: int = DECODE_BATCH_LIMIT) -> tuple[int, str]:
    """The largest batch (1..limit) whose step meets the SLO and whose KV fits; raises if none does."""
    b = np.arange(1, limit + 1, dtype=float)
    t = decode_step_time(model, hw, gpus, b, context).total
    kv = float(kv_bytes(model, [context])[0])
    slo_ok, hbm_ok = t <= 1.0 / slo_tokens_per_s, b * kv <= kv_free_bytes
    ok = slo_ok & hbm_ok
    if not ok.any():
        why = (f"one sequence takes {t[0] * 1e3:.1f} ms per step (SLO {1e3 / slo_tokens_per_s:.1f} ms)"
               if not slo_ok[0] else f"one sequence's KV ({kv / 1e9:.2f} GB) exceeds the free HBM")
        raise InfeasibleError(f"no decode batch meets {slo_tokens_per_s:g} tokens/s per request on {gpus} x "
                              f"{hw.name}: {why}", where="--decode-batch",
                              fix="use more GPUs per instance, shorter contexts, or a lower --slo-tokens-per-s")
    k = int(np.nonzero(ok)[0].max())
    if k == limit - 1:
        return limit, "limit"
    return k + 1, "slo" if not slo_ok[k + 1] else "hbm"


def decode_perf(model: ModelSpec, hw: HardwareSpec, gpus: int, input_length: int, output_length: int,
                kv_free_bytes: float, slo_tokens_per_s: float, batch: int | None = None) -> DecodePerf:
    ctx = input_length + output_length / 2.0
    if batch is None:
        batch, why = largest_decode_batch(model, hw, gpus, ctx, kv_free_bytes, slo_tokens_per_s)
    else:
        need = batch * float(kv_bytes(model, [ctx])[0])
        if need > kv_free_bytes:
            raise InfeasibleError(f"--decode-batch {batch} needs {need / 1e9:,.1f} GB of KV at context {ctx:,.0f}; "
                                  f"{kv_free_bytes / 1e9:,.1f} GB are free after the weights",
                                  where="--decode-batch", fix="lower --decode-batch or use more GPUs per instance")
        why = "given"
    fc = decode_step_time(model, hw, gpus, [batch], ctx)
    step = float(fc.total[0])
    return DecodePerf(batch, ctx, step, step, batch / step / gpus, why,
                      {k: float(v[0]) for k, v in fc.by_class.items()})
