"""TTFT: unloaded (the paper's view) and loaded (queueing approximation).

Unloaded TTFT of a request = prefill latency on its route + the KV transfer time not hidden by
layer-wise pipelining (max(0, S_kv / B_out - T_prefill)) + the link RTT for offloaded requests.

Loaded TTFT adds the waiting time of each prefill pool, an M/G/c-style approximation:
Allen-Cunneen, Wq = C(c, a) / (c mu - lambda) x (ca^2 + cs^2) / 2, with C the Erlang-C delay
probability, cs^2 the squared CV of the pool's service times, and ca^2 the arrival burstiness after
routing (Bernoulli thinning of a renewal stream: ca_k^2 = q ca^2 + 1 - q for route share q). The
waiting-time tail is taken as P(W > x) = C exp(-x (c mu - lambda) 2 / (ca^2 + cs^2)), independent
of the request's own service time, to get P90s. This is an approximation: it is exact for M/M/c
and ignores that one pool's queue depends on the length mix it receives over time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]


def erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in M/M/c with offered load a = lambda / mu (a < c)."""
    return float(erlang_c_many(np.asarray(float(c)), np.asarray(float(a))))


# The Erlang-B recursion stands for the Poisson(a) sum over k <= c; its terms below a - 40 sqrt(a) hold
# less than e^-800 of it, so the recursion may start there, and may stop once B is below 1e-300 (past
# a by tens of sqrt(a)), where it only falls further. Both leave every result within 1e-290 of the
# full recursion, and make it O(sqrt(a)) steps instead of O(c): a million instances cost 6 s a call.
_ERLANG_SKIP_SIGMAS = 40.0
_ERLANG_B_FLOOR = 1e-300


def erlang_c_many(c: Arr, a: Arr) -> Arr:
    """`erlang_c` element-wise over (c, a): the stable recursion on the Erlang-B formula, then
    B -> C; 0 without load, 1 at or past saturation."""
    c = np.asarray(c, dtype=float)
    a = np.asarray(a, dtype=float)
    b = np.ones(np.broadcast(c, a).shape)
    kmax = int(np.max(c)) if c.size else 0
    loaded = a[a > 0]
    amin = float(loaded.min()) if loaded.size else 0.0
    k0 = max(0, int(amin - _ERLANG_SKIP_SIGMAS * math.sqrt(amin)))
    for k in range(k0 + 1, kmax + 1):
        step = k <= c
        b = np.where(step, a * b / (k + a * b), b)
        if not np.any(b >= _ERLANG_B_FLOOR):
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = a / c
        out = b / (1 - rho + rho * b)
    out = np.where(a <= 0, 0.0, np.where(a >= c, 1.0, out))
    return out


@dataclass(frozen=True)
class PoolWait:
    utilisation: float
    p_wait: float
    mean_wait_s: float
    decay_per_s: float  # tail rate of the waiting time


def pool_wait(servers: int, arrival_rps: float, service: Arr, ca2: float) -> PoolWait:
    if servers <= 0 or arrival_rps <= 0 or len(service) == 0:
        return PoolWait(0.0, 0.0, 0.0, math.inf)
    es = float(service.mean())
    cs2 = float(service.var() / es**2) if es > 0 else 0.0
    a = arrival_rps * es
    rho = a / servers
    if rho >= 1:
        return PoolWait(rho, 1.0, math.inf, 0.0)
    c = erlang_c(servers, a)
    slack = servers / es - arrival_rps
    factor = (ca2 + cs2) / 2
    return PoolWait(rho, c, c / slack * factor, slack / max(factor, 1e-12))


def thinned_scv(ca2: float, share: float) -> float:
    return share * ca2 + 1.0 - share


def _tail_groups(unloaded: Arr, p_wait: Arr, decay: Arr) -> list[tuple[Arr, Arr, float, float]]:
    """Atoms grouped by their pool's (p_wait, decay): per group the sorted unloaded values u and
    L_k = log sum_{i<=k} exp(d u_i) (a stable log-cumsum-exp), so that the group's summed tail at x is
    (#u > x) + p exp(L_k - d x) with k the last u <= x: O(log n) per evaluation instead of O(n)."""
    uniq, inv = np.unique(p_wait + 1j * decay, return_inverse=True)  # a 1-D sort on (p, d) pairs
    out = []
    for g, key in enumerate(uniq):
        p, d = key.real, key.imag
        u = np.sort(unloaded[inv.ravel() == g])
        logcum = np.logaddexp.accumulate(d * u) if p > 0 else np.zeros_like(u)
        out.append((u, logcum, float(p), float(d)))
    return out


def _tail(groups: list[tuple[Arr, Arr, float, float]], x: float, n: int) -> float:
    """P(U + W > x) over all atoms: an atom whose unloaded time exceeds x counts 1, one below it
    p_wait exp(-decay (x - u))."""
    total = 0.0
    for u, logcum, p, d in groups:
        k = int(np.searchsorted(u, x, side="right"))  # atoms with u <= x
        total += len(u) - k
        if k and p > 0:
            total += p * math.exp(float(logcum[k - 1]) - d * x)
    return total / n


def ttft_quantile(unloaded: Arr, p_wait: Arr, decay: Arr, q: float) -> float:
    """q-quantile of U + W over atoms, with P(W > x) = p_wait exp(-decay x) per atom."""
    if np.all(p_wait == 0):  # the smallest atom value with at most a (1 - q) share above it
        s = np.sort(unloaded)
        return float(s[max(0, math.ceil(q * len(s) - 1 - 1e-9))])
    if np.any(~np.isfinite(decay) & (p_wait > 0)) or np.any(decay <= 0):
        return math.inf
    # Bracket: below the smallest atom the tail is 1; past the largest atom plus the time the slowest
    # decaying wait needs to fall under 1 - q it is at most 1 - q (the log term is clamped at 0: a
    # pool that queues less than 1 - q of its arrivals needs no extra time).
    lo = float(unloaded.min())
    hi = float(unloaded.max()) + max(0.0, float(np.max(np.log(np.maximum(p_wait, 1e-300) / (1 - q)) / decay)))
    groups = _tail_groups(unloaded, p_wait, np.where(p_wait > 0, decay, 0.0))
    n = len(unloaded)
    for _ in range(60):
        x = (lo + hi) / 2
        if _tail(groups, x, n) > 1 - q:
            lo = x
        else:
            hi = x
    return (lo + hi) / 2
