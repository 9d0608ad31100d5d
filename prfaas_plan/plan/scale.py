"""Egress projection of a PrfaaS cluster as it grows (paper Eq. 2), with a burst figure.

Every row assumes the PrfaaS cluster is saturated (every instance always prefilling), as Eq. 2
does: offloaded requests complete at rate lambda = instances / E[S | route], S(l) the GPU time a
request occupies on a busy instance (`perf.serving`; the single-request latency T_prefill when the
scenario prices capacity by latency).

- `egress_gbps` (Eq. 2): instances x Phi_kv(l), Phi_kv = S_kv(l) / T_prefill(l) at the
  representative length l (the mean offloaded length, or the fixed `--tokens` of quick mode): the
  paper's formula, with the single-request latency.
- `egress_gbps_exact`: instances x E[S_kv(L)] / E[S(L)] over the routed lengths (with prefix
  reuse already applied to L). A saturated pool completes 1 / E[S] requests per second per instance
  and each carries E[S_kv] bytes on average, so this is the long-run mean of a busy cluster.
- `p99_1s_gbps`: the 99th percentile of the bytes sent in 1-second windows when requests arrive as a
  renewal process with the given squared coefficient of variation (1 = Poisson) and each sends its
  KVCache in the window it arrives (queueing would smooth bursts; ignoring it is conservative).
  Monte Carlo (seeded, deterministic) below 200 requests per window; above that the compound-renewal
  normal approximation, mean lambda E[S], variance lambda (Var S + scv E[S]^2).
- `link_gbps_needed`: max(mean egress / target utilisation, P99 1-s burst).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]

DEFAULT_GPUS = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 10000)
MC_MAX_RATE = 200.0  # requests per window above which the normal approximation is used
MC_WINDOWS = 4000
Z99 = 2.3263478740408408


@dataclass(frozen=True)
class ScaleRow:
    gpus: int
    instances: int
    egress_gbps: float
    egress_gbps_exact: float | None
    p99_1s_gbps: float | None
    link_gbps_needed: float
    requests_per_s: float


def burst_p99_bytes(rate: float, sizes: Arr, scv: float, seed: int = 0, window_s: float = 1.0) -> float:
    """P99 over windows of the bytes arriving in one window (see the module docstring)."""
    sizes = np.asarray(sizes, dtype=float)
    m, v = float(sizes.mean()), float(sizes.var())
    per_window = rate * window_s
    if per_window <= 0:
        return 0.0
    if per_window > MC_MAX_RATE:
        return per_window * m + Z99 * float(np.sqrt(per_window * (v + scv * m * m)))
    rng = np.random.default_rng(seed)
    horizon = MC_WINDOWS * window_s
    n = int(rate * horizon * 1.1 + 10 * np.sqrt(rate * horizon * max(scv, 1.0)) + 50)
    if scv > 0:
        gaps = rng.gamma(1.0 / scv, scv / rate, size=n)
    else:
        gaps = np.full(n, 1.0 / rate)
    t = np.cumsum(gaps)
    t = t[t < horizon]
    b = sizes[rng.integers(0, len(sizes), size=len(t))]
    w = np.bincount((t // window_s).astype(np.int64), weights=b, minlength=MC_WINDOWS)[:MC_WINDOWS]
    return float(np.quantile(w, 0.99))


def project(
    gpus: list[int], gpus_per_instance: int, mean_kv_bytes: float, mean_prefill_s: float,
    rep_kv_bytes: float, rep_prefill_s: float, routed_kv_bytes: Arr | None, scv: float | None,
    target_utilization: float, exact: bool,
) -> list[ScaleRow]:
    """Rows of the projection; `routed_kv_bytes` are the S_kv of the routed lengths (for bursts)."""
    rows = []
    phi_rep = rep_kv_bytes / rep_prefill_s
    phi_exact = mean_kv_bytes / mean_prefill_s
    for g in gpus:
        inst = g // gpus_per_instance
        eq2 = inst * phi_rep * 8 / 1e9
        ex = inst * phi_exact * 8 / 1e9 if exact else None
        rate = inst / mean_prefill_s
        p99 = None
        if scv is not None:
            sizes = routed_kv_bytes if routed_kv_bytes is not None else np.array([rep_kv_bytes])
            p99 = burst_p99_bytes(rate, sizes, scv) * 8 / 1e9
        mean = ex if ex is not None else eq2
        need = max(mean / target_utilization, p99 or 0.0)
        rows.append(ScaleRow(g, inst, eq2, ex, p99, need, rate))
    return rows
