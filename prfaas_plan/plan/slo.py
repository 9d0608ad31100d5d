"""SLOs: the loaded P90 TTFT condition on atoms, the goodput, and SLO checks for plan/compare/size.

The loaded TTFT model is `plan.latency`'s (Allen-Cunneen pools, exponential waiting tails). Its
P90 is at most S exactly when the mean over atoms of P(TTFT_i > S) is at most 0.1, which needs one
pass over the atoms instead of a root search; `tail_local`/`tail_prfaas` give each pool's share of
that sum for many (threshold, instance count) pairs at once (the sizing search's inner loop).
`goodput_rps` is the highest arrival rate whose P90 meets the SLO (P90 rises with the rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.plan.latency import erlang_c_many
from prfaas_plan.plan.throughput import RouteModel

Arr = NDArray[np.float64]
Q = 0.9  # the TTFT SLO is a P90
TAIL_CHUNK_ELEMENTS = 2_000_000  # atom-matrix elements evaluated at once


@dataclass(frozen=True)
class RouteSums:
    N: int
    cl: Arr  # sum_{i<j} T_loc,i
    cl2: Arr
    cp: Arr  # sum_{i>=j} T_prf,i (zeros without PrfaaS)
    cp2: Arr
    ck: Arr  # sum_{i>=j} S_i
    u_loc: Arr  # unloaded TTFT of each atom on each route
    u_prf: Arr


def route_sums(rm: RouteModel, rtt_s: float) -> RouteSums:
    """Prefix/suffix sums over the atoms that every threshold's pool statistics are read from.
    Capacity and queues use each request's GPU occupancy (`RouteModel.occ_*`, as the planner);
    the unloaded TTFT its latency."""
    N = len(rm.atoms)
    z = np.zeros(1)
    ol = rm.occ_local
    cl = np.concatenate([z, np.cumsum(ol)])
    cl2 = np.concatenate([z, np.cumsum(ol**2)])
    ck = np.concatenate([np.cumsum(rm.kv_bytes[::-1])[::-1], z])
    if rm.t_prfaas is not None:
        tp = rm.t_prfaas
        op = rm.occ_prfaas if rm.occ_prfaas is not None else tp
        cp = np.concatenate([np.cumsum(op[::-1])[::-1], z])
        cp2 = np.concatenate([np.cumsum((op**2)[::-1])[::-1], z])
        with np.errstate(divide="ignore"):
            transfer = rm.kv_bytes / rm.egress_bytes_per_s if rm.egress_bytes_per_s > 0 else np.full(N, np.inf)
        u_prf = tp + np.maximum(0.0, transfer - tp) + rtt_s
    else:
        cp = cp2 = np.zeros(N + 1)
        u_prf = np.full(N, np.inf)
    return RouteSums(N, cl, cl2, cp, cp2, ck, rm.t_local, u_prf)


def pool_params(servers: Arr, lam: Arr, s1: Arr, s2: Arr, count: Arr, ca2: Arr) -> tuple[Arr, Arr]:
    """(P(wait), tail decay) of each pool; s1, s2 = sums of service times and their squares over
    `count` atoms (the planner's `pool_wait` on those atoms)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        es = s1 / count
        cs2 = np.where(es > 0, (s2 / count - es**2) / es**2, 0.0)
        a = lam * es
        slack = servers / es - lam
        pw = erlang_c_many(servers, a)
        decay = slack / np.maximum((ca2 + np.maximum(cs2, 0.0)) / 2, 1e-12)
    idle = (servers <= 0) | (lam <= 0) | (count <= 0)
    over = a >= servers
    pw = np.where(idle, 0.0, np.where(over, 1.0, pw))
    decay = np.where(idle, np.inf, np.where(over, 0.0, decay))
    return pw, decay


def route_tail(u: Arr, lo: NDArray[np.int64], hi: NDArray[np.int64], pw: Arr, decay: Arr, slo: float) -> Arr:
    """sum over atoms lo <= i < hi of P(U_i + W > slo), W with P(W > x) = pw exp(-decay x)."""
    out = np.zeros(len(lo))
    idx = np.nonzero(u <= slo)[0]
    late = np.concatenate([[0], np.cumsum(u > slo)])
    out += late[hi] - late[lo]
    if len(idx) == 0 or len(lo) == 0:
        return out
    gap = slo - u[idx]
    rows = max(1, TAIL_CHUNK_ELEMENTS // len(idx))
    for s in range(0, len(lo), rows):
        sl = slice(s, s + rows)
        inside = (idx[None, :] >= lo[sl, None]) & (idx[None, :] < hi[sl, None])
        with np.errstate(invalid="ignore", over="ignore"):
            e = np.where(inside, np.exp(-np.minimum(decay[sl, None] * gap[None, :], 745.0)), 0.0)
        out[sl] += np.where(pw[sl] > 0, pw[sl] * e.sum(axis=1), 0.0)
    return out


def tail_local(pr: RouteSums, rate: float, scv: float, j: NDArray[np.int64], n_p: Arr, slo: float) -> Arr:
    """Sum over the local atoms (i < j) of P(TTFT_i > slo) with n_p local prefill instances."""
    p = (pr.N - j) / pr.N
    ca2 = scv * (1 - p) + p  # plan.latency.thinned_scv, element-wise
    pw, dec = pool_params(n_p, rate * (1 - p), pr.cl[j], pr.cl2[j], j.astype(float), np.asarray(ca2))
    return route_tail(pr.u_loc, np.zeros_like(j), j, pw, dec, slo)


def tail_prfaas(pr: RouteSums, rate: float, scv: float, j: NDArray[np.int64], a: Arr, slo: float) -> Arr:
    """Sum over the offloaded atoms (i >= j) of P(TTFT_i > slo) with a PrfaaS instances."""
    p = (pr.N - j) / pr.N
    ca2 = scv * p + 1 - p  # plan.latency.thinned_scv, element-wise
    pw, dec = pool_params(a, rate * p, pr.cp[j], pr.cp2[j], (pr.N - j).astype(float), np.asarray(ca2))
    return route_tail(pr.u_prf, j, np.full_like(j, pr.N), pw, dec, slo)




def unloaded_late(pr: RouteSums, js: NDArray[np.int64], slo: float) -> Arr:
    """Atoms whose unloaded TTFT alone exceeds the SLO, per threshold (a floor on the tail)."""
    late_l = np.concatenate([[0], np.cumsum(pr.u_loc > slo)])
    late_p = np.concatenate([[0], np.cumsum(pr.u_prf > slo)])
    return (late_l[js] + late_p[-1] - late_p[js]).astype(float)


def meets_p90(pr: RouteSums, rate: float, scv: float, j: int, n_p: int, n_prfaas: int, slo: float) -> bool:
    jj = np.array([j])
    tot = tail_local(pr, rate, scv, jj, np.array([float(n_p)]), slo) + tail_prfaas(
        pr, rate, scv, jj, np.array([float(n_prfaas)]), slo)
    return bool(tot[0] <= (1 - Q) * pr.N * (1 + 1e-9))


def goodput_rps(pr: RouteSums, scv: float, j: int, n_p: int, n_prfaas: int, lam_max: float, slo: float,
                rel_tol: float = 1e-4) -> float:
    """Highest arrival rate <= lam_max at which the loaded P90 TTFT is at most `slo` (0 when even
    the unloaded TTFT misses it); bisection to `rel_tol`."""
    if not lam_max > 0:
        return 0.0
    lo, hi = 0.0, lam_max * (1 - 1e-12)
    if meets_p90(pr, hi, scv, j, n_p, n_prfaas, slo):
        return hi
    if not meets_p90(pr, hi * 1e-9, scv, j, n_p, n_prfaas, slo):
        return 0.0
    while hi - lo > rel_tol * lam_max:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if meets_p90(pr, mid, scv, j, n_p, n_prfaas, slo) else (lo, mid)
    return lo


@dataclass(frozen=True)
class SLOCheck:
    """One SLO against a figure: `margin` is how far the figure is from the limit, as a fraction
    of the limit (positive = met with room, negative = violated by that much)."""

    name: str  # "ttft_p90_s" or "decode_tokens_per_s"
    limit: float
    actual: float
    met: bool
    margin: float


def check_slos(loaded_p90_s: float, ttft_p90_s: float | None, tpot_s: float | None,
               decode_tokens_per_s: float | None) -> list[SLOCheck]:
    out = []
    if ttft_p90_s is not None:
        m = 1 - loaded_p90_s / ttft_p90_s if math.isfinite(loaded_p90_s) else -math.inf
        out.append(SLOCheck("ttft_p90_s", ttft_p90_s, loaded_p90_s, loaded_p90_s <= ttft_p90_s * (1 + 1e-9), m))
    if decode_tokens_per_s is not None and tpot_s is not None:
        tps = 1.0 / tpot_s
        out.append(SLOCheck("decode_tokens_per_s", decode_tokens_per_s, tps,
                            tps >= decode_tokens_per_s * (1 - 1e-9), tps / decode_tokens_per_s - 1))
    return out
