"""Measured kernel timings as column arrays (the measurement CSV schema:
../shared/measurements/README.md). `io.measurements` reads the files; the calibration fits in
`perf.calibration` consume this container.

To add a measurement op: add it to `OPS` with the fields it needs, then teach
`perf.calibration.predict` to cost it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

REQUIRED = (
    "op", "dtype", "m", "n", "k", "batch", "seq_len", "num_heads", "num_kv_heads",
    "head_dim", "bytes", "latency_ms", "source",
)
OPS = {
    "gemm": ("m", "n", "k"),
    "prefill_attention": ("batch", "seq_len", "num_heads", "num_kv_heads", "head_dim"),
    "decode_attention": ("batch", "seq_len", "num_heads", "num_kv_heads", "head_dim"),
    "copy": ("bytes",),
    "moe": ("m", "n", "k", "num_experts", "topk", "tp", "ep"),
    "mla_prefill_attention": ("batch", "seq_len", "num_heads"),
    "mla_decode_attention": ("batch", "seq_len", "num_heads"),
    "linear_attention": ("m", "batch", "seq_len", "num_heads", "num_kv_heads", "head_dim", "kernel", "phase"),
    "allreduce": ("bytes", "tp", "kernel"),
}
DTYPES = ("bf16", "fp8", "fp16", "fp32", "int4")
NUMERIC = ("m", "n", "k", "batch", "seq_len", "num_heads", "num_kv_heads", "head_dim", "bytes",
           "num_experts", "topk", "tp", "ep")
TEXT = ("distribution", "kernel", "phase")  # the mechanism files' text columns ('' where absent)


@dataclass
class Measurements:
    """Column arrays (NaN where a field does not apply)."""

    op: NDArray[np.str_]
    dtype: NDArray[np.str_]
    cols: dict[str, NDArray[np.float64]]
    latency_s: NDArray[np.float64]
    files: list[str] = field(default_factory=list)
    text: dict[str, NDArray[np.str_]] = field(default_factory=dict)  # TEXT columns

    def __len__(self) -> int:
        return len(self.latency_s)

    def select(self, mask: NDArray[np.bool_]) -> Measurements:
        return Measurements(
            self.op[mask], self.dtype[mask], {k: v[mask] for k, v in self.cols.items()},
            self.latency_s[mask], self.files, {k: v[mask] for k, v in self.text.items()},
        )

    @staticmethod
    def concat(parts: list[Measurements]) -> Measurements:
        return Measurements(
            np.concatenate([p.op for p in parts]),
            np.concatenate([p.dtype for p in parts]),
            {k: np.concatenate([p.cols[k] for p in parts]) for k in NUMERIC},
            np.concatenate([p.latency_s for p in parts]),
            [f for p in parts for f in p.files],
            {k: np.concatenate([p.text.get(k, np.full(len(p), "")) for p in parts]) for k in TEXT},
        )

