"""The physical floor of a measured kernel: the time no implementation can beat on a GPU's datasheet.

A measured row faster than its floor cannot be the shape its columns describe (a benchmark that
ignored a size argument, a mislabelled file, a broken timer). `prfaas validate` lists such rows and
leaves them out of its error statistics, and the calibration fits leave them out too, so a
mislabelled row is reported as a data problem instead of being averaged into a block.

The floor is deliberately loose (it only counts work no kernel can skip, at 100% of the datasheet's
peak), so a real measurement is never excluded by a modelling choice:

- compute: the op's multiply-adds at the dtype's dense tensor peak (bf16 and fp8 rows only: an fp32
  row may run on TF32 tensor cores or on a CPU whose "peak" is a fit), for GEMMs (2mnk) and causal
  prefill attention (QK^T and PV over the lower triangle, the least any causal kernel computes);
- memory: traffic that must reach HBM at the datasheet bandwidth, counted only when it exceeds
  `CACHE_SAFE_BYTES` (below that it could be served from on-chip cache): the KV cache a decode
  attention reads, the bytes a copy reads, and the fp32 recurrent state a linear-attention decode
  step reads and writes back (SGLang's fused recurrent update stores the final state in place).

Ops without a floor here (MoE, MLA, all-reduce, the chunked linear-attention kernels) get 0: never
excluded.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.perf.fit_mechanisms import linear_kernels
from prfaas_plan.perf.mechanisms import LINEAR_STATE_BYTES
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.measurements import Measurements

Arr = NDArray[np.float64]

# Larger than any datasheet's last-level on-chip cache (H100/H200 50 MiB L2, B200 126 MiB, MI300X's
# 256 MiB Infinity Cache): traffic above this cannot all be served on chip.
CACHE_SAFE_BYTES = 512.0 * 2**20
TENSOR_DTYPES = ("bf16", "fp16", "fp8")
OPERAND_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp32": 4.0}


def _memory(nbytes: Arr, bw: float) -> Arr:
    return np.where(nbytes > CACHE_SAFE_BYTES, nbytes / bw, 0.0)


def physical_floor(hw: HardwareSpec, meas: Measurements) -> Arr:
    """Seconds each row cannot beat on `hw` (0 where no floor is derived; see the module docstring)."""
    c = meas.cols
    n = len(meas)
    floor = np.zeros(n)
    bw = hw.datasheet.hbm_bandwidth_bytes_per_s
    tensor = np.isin(meas.dtype, TENSOR_DTYPES)
    peak, ab = np.ones(n), np.full(n, 2.0)
    for d in np.unique(meas.dtype.astype(str)):  # one look-up per dtype, not per row
        rows = meas.dtype == d
        peak[rows], ab[rows] = hw.peak_flops(d), OPERAND_BYTES.get(d, 2.0)
    s = (meas.op == "gemm") & tensor
    floor[s] = 2.0 * c["m"][s] * c["n"][s] * c["k"][s] / peak[s]
    s = (meas.op == "prefill_attention") & tensor
    seq = c["seq_len"][s]
    floor[s] = 4.0 * c["batch"][s] * seq * (seq + 1.0) / 2.0 * c["num_heads"][s] * c["head_dim"][s] / peak[s]
    s = meas.op == "decode_attention"
    floor[s] = _memory(c["batch"][s] * c["seq_len"][s] * c["num_kv_heads"][s] * 2.0 * c["head_dim"][s] * ab[s], bw)
    s = meas.op == "copy"
    floor[s] = _memory(c["bytes"][s], bw)
    lin = np.flatnonzero(meas.op == "linear_attention")
    s = lin[[("decode" in linear_kernels(str(k))[1]) for k in meas.text["kernel"][lin]]] if len(lin) else lin
    floor[s] = _memory(c["batch"][s] * c["num_heads"][s] * c["head_dim"][s] ** 2 * LINEAR_STATE_BYTES * 2.0, bw)
    return np.nan_to_num(floor, nan=0.0)


def below_floor(hw: HardwareSpec, meas: Measurements, floor: Arr | None = None) -> NDArray[np.bool_]:
    """Rows measured faster than `physical_floor` allows (`floor`: that, if the caller has it). When
    that is every row, nothing is left to fit or compare: an InvalidFileError naming the files (never
    an empty mean or an unfitted block)."""
    floor = physical_floor(hw, meas) if floor is None else floor
    bad = np.asarray(meas.latency_s < floor, dtype=bool)
    if len(bad) and bad.all():
        from prfaas_plan.errors import InvalidFileError

        raise InvalidFileError(
            f"all {len(bad)} row(s) are faster than the physical floor of {hw.name} (its datasheet's peak FLOP/s or "
            "HBM bandwidth): they cannot be the shapes their columns describe, and nothing is left to compare or fit",
            where=", ".join(meas.files) or None,
            fix=f"check that the file was measured on {hw.name} (--hardware), the latency unit (milliseconds) and "
            "the shape columns")
    return bad
