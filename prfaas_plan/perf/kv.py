"""Exact KVCache sizing: S_kv(l) = fixed state + growing per-token cache.

The growing part sums the full-attention layers (GQA: kv_heads x (d_k + d_v); MLA: latent
kv_lora_rank + qk_rope_head_dim). Sliding-window layers hold min(l, window) tokens. Linear
attention layers hold a recurrent state (heads x d_k x d_v in `state_dtype`) plus a short
convolution state (channels x (kernel - 1) in the activation dtype), independent of l.
Sizes are logical (one copy per request), which is what crosses the link; tensor-parallel
replication on the GPUs is accounted for in the roofline, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from prfaas_plan.specs.model import (
    DTYPE_BYTES,
    GQAAttention,
    LinearAttention,
    MLAAttention,
    ModelSpec,
    SWAAttention,
)


@dataclass(frozen=True)
class KVLayout:
    full_bytes_per_token: float
    swa_bytes_per_token: tuple[tuple[int, float], ...]  # (window, bytes per token summed)
    linear_state_bytes: float
    conv_state_bytes: float

    @property
    def swa_full_window_bytes(self) -> float:
        return sum(w * b for w, b in self.swa_bytes_per_token)

    @property
    def fixed_state_bytes(self) -> float:
        """State that no longer grows: recurrent + conv states + full sliding windows."""
        return self.linear_state_bytes + self.conv_state_bytes + self.swa_full_window_bytes

    def bytes(self, lengths: ArrayLike) -> NDArray[np.float64]:
        lengths_arr = np.asarray(lengths, dtype=float)
        total = self.full_bytes_per_token * lengths_arr + self.linear_state_bytes
        total = total + self.conv_state_bytes
        for window, per_tok in self.swa_bytes_per_token:
            total = total + per_tok * np.minimum(lengths_arr, window)
        return np.asarray(total, dtype=float)


def kv_layout(model: ModelSpec) -> KVLayout:
    kvb = DTYPE_BYTES[model.kv_dtype]
    act = DTYPE_BYTES[model.activation_dtype]
    full = 0.0
    swa: dict[int, float] = {}
    lin = 0.0
    conv = 0.0
    for g in model.layers:
        a = g.attention
        if isinstance(a, SWAAttention):
            swa[a.window] = swa.get(a.window, 0.0) + g.count * a.num_kv_heads * (a.head_dim + a.v_dim) * kvb
        elif isinstance(a, GQAAttention):
            full += g.count * a.num_kv_heads * (a.head_dim + a.v_dim) * kvb
        elif isinstance(a, MLAAttention):
            full += g.count * (a.kv_lora_rank + a.qk_rope_head_dim) * kvb
        elif isinstance(a, LinearAttention):
            lin += g.count * a.num_heads * a.key_head_dim * a.value_head_dim * DTYPE_BYTES[a.state_dtype]
            if a.conv_kernel > 1:
                conv += g.count * a.conv_width * (a.conv_kernel - 1) * act
    return KVLayout(full, tuple(sorted(swa.items())), lin, conv)


def kv_bytes(model: ModelSpec, lengths: ArrayLike) -> NDArray[np.float64]:
    return kv_layout(model).bytes(lengths)
