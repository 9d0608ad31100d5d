"""Procurement: Lambda_max of many GPU mixes at once, and the Pareto front against cost.

For one pair of GPU types (PrfaaS type, local type) the stage grid of `plan.throughput` is computed
once for a single PrfaaS instance; PrfaaS compute capacity scales linearly with the instance count,
egress and the local prefill and decode rates per instance do not depend on it. For a mix
(n_prf, n_loc) and threshold index j, Lambda(n_p) = min(b_prf, B_j n_p, C (n_loc - n_p)) is a
concave function of the integer split n_p, so its maximum is at floor or ceil of
n_loc C / (B_j + C) (clipped to 1..n_loc-1, or n_p = 0 when everything is offloaded); the best
threshold is found by binary search (see `lambda_many`). Same global optimum as
`plan.throughput.optimise` (tested), vectorised over mixes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.plan.throughput import StageGrid

Arr = NDArray[np.float64]


def lambda_many(g1: StageGrid, n_prf: Arr, n_loc: Arr, decode_rps: float) -> Arr:
    """Lambda_max for each mix; g1 = stage_grid(route, 1, exact view) (one PrfaaS instance).

    In the exact view the PrfaaS bound b_prf(j) = min(n_prf N / sum_{i>j} T_i, B_out N / sum_{i>j} S_i)
    never decreases with the threshold index j, and the best local bound
    g(j) = max_{n_p} min(B_j n_p, C (n_loc - n_p)) with B_j = N / sum_{i<=j} T_local,i never increases.
    Lambda*(j) = min(b_prf(j), g(j)) is therefore maximal where the two cross: a vectorised binary
    search over j finds it for every mix at once (O(M log N)). Tested against the planner's
    exhaustive `optimise`.
    """
    n_prf = np.asarray(n_prf, dtype=float)
    n_loc = np.asarray(n_loc, dtype=float)
    N = len(g1.p) - 1
    p = g1.p
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.where(p < 1, 1.0 / (g1.local_mean_t * (1 - p)), np.inf)  # per local prefill instance
        comp_p = np.where(p > 0, g1.theta_prfaas_compute / np.where(p > 0, p, 1.0), np.inf)
        egr_p = np.where(p > 0, g1.theta_prfaas_egress / np.where(p > 0, p, 1.0), np.inf)
    C = float(decode_rps)

    def b_prf(j: NDArray[np.int64]) -> Arr:
        pj = p[j]
        with np.errstate(invalid="ignore"):
            v = np.where(pj > 0, np.minimum(n_prf * comp_p[j], egr_p[j]), np.inf)
        return np.where((n_prf == 0) & (pj > 0), -np.inf, v)

    def g(j: NDArray[np.int64]) -> Arr:
        Bj = B[j]
        with np.errstate(divide="ignore", invalid="ignore"):
            star = np.where(np.isfinite(Bj), n_loc * C / (Bj + C), 1.0)
        best = np.full(len(j), -np.inf)
        for cand in (np.floor(star), np.ceil(star)):
            n_p = np.clip(cand, 1.0, n_loc - 1.0)
            with np.errstate(invalid="ignore"):
                b_pdp = np.where(p[j] < 1, Bj * n_p, np.inf)
            best = np.maximum(best, np.minimum(np.where(n_p >= 1, b_pdp, 0.0), C * (n_loc - n_p)))
        return np.where(j == 0, C * n_loc, best)  # everything offloaded: all local instances decode

    # smallest j with b_prf(j) >= g(j) (exists: b_prf(N) = inf)
    lo = np.zeros(len(n_prf), dtype=np.int64)
    hi = np.full(len(n_prf), N, dtype=np.int64)
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        ok = b_prf(mid) >= g(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid + 1)
    out = np.minimum(b_prf(lo), g(lo))
    prev = np.maximum(lo - 1, 0)
    out = np.maximum(out, np.minimum(b_prf(prev), g(prev)))
    return np.where(np.isfinite(out) & (out > 0) & (n_loc >= 1), out, 0.0)


@dataclass(frozen=True)
class Mix:
    prfaas_hardware: str | None
    prfaas_gpus: int
    local_hardware: str
    local_gpus: int
    cost_usd_per_hour: float
    max_throughput_rps: float

    @property
    def rps_per_usd_hour(self) -> float:
        return self.max_throughput_rps / self.cost_usd_per_hour if self.cost_usd_per_hour > 0 else 0.0

    @property
    def homogeneous(self) -> bool:
        return self.prfaas_gpus == 0


def pareto(mixes: list[Mix]) -> list[Mix]:
    """Mixes that no other mix beats on both cost (lower) and throughput (higher)."""
    order = sorted(mixes, key=lambda m: (m.cost_usd_per_hour, -m.max_throughput_rps))
    front: list[Mix] = []
    best = -np.inf
    for m in order:
        if m.max_throughput_rps > best * (1 + 1e-12) and m.max_throughput_rps > 0:
            front.append(m)
            best = m.max_throughput_rps
    return front


@dataclass
class CompareResult:
    """What `prfaas compare` found: every mix scored, the Pareto front, the best mixes and gains."""

    scenario: str
    budget_usd_per_hour: float
    prices: dict[str, dict[str, Any]]
    mixes: list[Mix]
    front: list[Mix]
    best: Mix | None
    best_homogeneous: Mix | None
    scenario_mix: Mix | None
    equal_cost_homogeneous: Mix | None
    gains: dict[str, float | None]
    notes: list[str] = field(default_factory=list)
    trust: dict[str, dict[str, Any]] = field(default_factory=dict)  # per GPU: calibrated?, price source kind
    details: dict[Mix, dict[str, Any]] = field(default_factory=dict)  # threshold, split, binding, TTFT per shown mix
    top: list[Mix] = field(default_factory=list)  # the N best mixes by Lambda_max (--top N)

    def warnings(self, m: Mix) -> list[str]:
        """What to trust less in a mix: GPUs with copied (uncalibrated) efficiency blocks, catalog list prices."""
        out = []
        for h in dict.fromkeys([x for x in (m.prfaas_hardware, m.local_hardware) if x]):
            t = self.trust.get(h, {})
            if not t.get("calibrated", True):
                out.append(f"{h}: uncalibrated efficiency")
            if t.get("price_kind") == "catalog":
                out.append(f"{h}: catalog list price")
        out += [f"misses SLO {x}" for x in self.details.get(m, {}).get("slo_missed") or []]
        return out


MAX_MIXES = 200_000  # mixes one comparison may score (each holds a few floats and a Mix object)


def count_homogeneous(budget: float, instance_cost: float, step: int) -> int:
    """PD clusters of 2, 2 + step, ... instances within the budget (arithmetic, nothing allocated)."""
    n_max = math.floor(budget / instance_cost) if instance_cost > 0 else 0
    return max(0, (n_max - 2) // step + 1) if n_max >= 2 else 0


def count_heterogeneous(budget: float, cp: float, cl: float, step_prf: int, step_loc: int) -> int:
    """(PrfaaS, local) instance counts >= (1, 1) within the budget; more than MAX_MIXES is reported
    as MAX_MIXES + 1 without sizing an array by it."""
    a_max = math.floor(budget / cp) if cp > 0 else 0
    if a_max < 1:
        return 0
    if (a_max - 1) // step_prf + 1 > MAX_MIXES:
        return MAX_MIXES + 1
    a = np.arange(1, a_max + 1, step_prf, dtype=float)
    n_max = np.floor((budget - a * cp + 1e-9) / cl)
    return int(np.where(n_max >= 1, (n_max - 1) // step_loc + 1, 0).sum())

