"""A fused per-token fp8 quantisation kernel (Triton), for the CUDA profiler's fp8 GEMMs.

Serving engines quantise a GEMM's bf16 activations in one fused kernel (SGLang's
`per_token_group_quant_fp8`, vLLM's `scaled_fp8_quant`): read each row once for its absolute
maximum, read it again (from cache) to scale and cast, write fp8 and one fp32 scale per row. This
is that kernel, so the profiler's fp8 rows time what a serving engine runs. Imported only on a
machine with Triton (it ships with PyTorch on Linux); without it the profiler falls back to
unfused PyTorch operations and says so in the row's source.
"""

from __future__ import annotations

from typing import Any

import triton
import triton.language as tl

BLOCK = 1024


@triton.jit
def _quant_rows(x_ptr, y_ptr, s_ptr, K, BLOCK: tl.constexpr):  # noqa: N803, ANN001, ANN202
    row = tl.program_id(0).to(tl.int64)
    offs = tl.arange(0, BLOCK)
    amax = tl.zeros([BLOCK], dtype=tl.float32)
    for k0 in range(0, K, BLOCK):
        x = tl.load(x_ptr + row * K + k0 + offs, mask=k0 + offs < K, other=0.0).to(tl.float32)
        amax = tl.maximum(amax, tl.abs(x))
    scale = tl.maximum(tl.max(amax, axis=0), 1e-6) / 448.0
    tl.store(s_ptr + row, scale)
    for k0 in range(0, K, BLOCK):
        x = tl.load(x_ptr + row * K + k0 + offs, mask=k0 + offs < K, other=0.0).to(tl.float32)
        tl.store(y_ptr + row * K + k0 + offs, (x / scale).to(y_ptr.dtype.element_ty), mask=k0 + offs < K)


def quantize_rows(x: Any, out: Any, scales: Any) -> None:
    """x (m, k) bf16 -> out (m, k) float8_e4m3fn and scales (m, 1) float32, in one launch."""
    m, k = x.shape
    _quant_rows[(m,)](x, out, scales, k, BLOCK=BLOCK)
