"""Sizing: the cheapest deployment that serves a target request rate within its SLOs (`prfaas size`).

The inverse of `plan`. A *family* is one choice of PrfaaS GPU type (or none), local GPU type, GPUs
per instance, serving recipe and link, already evaluated on the length atoms (a `RouteModel`, the
planner's own input). Within a family the search covers the PrfaaS instance count a (0 for none),
the local instance count n, the local split n = n_p + n_d and the routing threshold index j
(every atom boundary), and keeps the cheapest (a, n) for which some (j, n_p) satisfies

- throughput headroom, R <= load x Lambda_max (the planner's Eqs. 3-6), i.e. per stage
  n_p >= R/load x sum_{i<j} T_loc,i / N, a >= R/load x sum_{i>=j} T_prf,i / N,
  B_out >= R/load x sum_{i>=j} S_i / N and n_d >= R / (load C);
- the loaded P90 TTFT at arrival rate R (the planner's Allen-Cunneen pools, `plan.latency`) is at
  most the SLO: P90 <= S exactly when the mean over atoms of P(TTFT_i > S) is at most 0.1.
  TPOT is a property of the family (its decode batch was chosen to meet the decode SLO).

Why this is exact at the family's resolution: more decode instances change nothing but the decode
bound, so for a given j the best split gives decode exactly its minimum n_d and every other local
instance to prefill; more instances in either prefill pool never raise its waiting time (Erlang C
and the Allen-Cunneen wait fall with servers at a fixed arrival rate), so feasibility is monotone in
a and in n_p; the P90 condition is a sum of a local-pool term and a PrfaaS-pool term. The search
therefore evaluates, for each threshold, the throughput minimum counts and then the extra instances
each pool needs, pruned by the cheapest deployment found so far (costs are linear in the counts).
`brute_force` enumerates every (a, n, n_p, j) through the planner's own functions and is the test
oracle.

To extend: a new constraint that is monotone in the counts slots in beside `_tails`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.plan.slo import Q, RouteSums, route_sums, tail_local, tail_prfaas, unloaded_late
from prfaas_plan.plan.throughput import RouteModel

Arr = NDArray[np.float64]
REL_TOL = 1e-9  # counts are rounded up from R/load x demand with this relative slack (float noise)
DEFAULT_MAX_GPUS = 512  # per cluster
MAX_SEARCH_SIZE = 2e11  # configurations (families x thresholds x PrfaaS counts x local counts)
SLO_BOX_ELEMENTS = 2_000_000
FIRST_CHUNK = 8  # cheapest thresholds tried first, so that the rest are pruned by their cost
SLO_CHUNK = 64  # thresholds per step once a deployment is known (the incumbent tightens between steps)


@dataclass(frozen=True)
class Family:
    """One deployment family, prepared for the search (see the module docstring)."""

    prfaas_hardware: str | None
    local_hardware: str
    gpus_per_instance: int
    recipe: str
    link_gbps: float
    route: RouteModel  # t_prfaas is None when there is no PrfaaS cluster
    prfaas_instance_usd_h: float  # 0 when there is no PrfaaS cluster
    local_instance_usd_h: float
    rtt_s: float
    tpot_s: float


@dataclass(frozen=True)
class Demand:
    target_rps: float
    load: float  # R <= load x Lambda_max
    burstiness_scv: float
    ttft_p90_s: float | None
    max_gpus_per_cluster: int = DEFAULT_MAX_GPUS


@dataclass(frozen=True)
class Sized:
    """The cheapest deployment of one family: counts, split, threshold index and its cost."""

    family: int
    n_prfaas: int
    n_local: int
    n_p: int
    j: int  # atoms j.. go to PrfaaS
    cost_usd_per_hour: float


@dataclass(frozen=True)
class Unmet:
    """Why a family cannot serve the demand: the binding requirement and how far off it is."""

    family: int
    binding: str  # "throughput", "egress", "ttft_p90"
    required: float
    best: float  # the best the family reaches within the count limits
    unit: str


def search_size(families: list[Family], demand: Demand) -> float:
    """Configurations the search covers, computed from shapes only (nothing allocated)."""
    total = 0.0
    for f in families:
        cap = demand.max_gpus_per_cluster // f.gpus_per_instance
        total += (len(f.route.atoms) + 1) * (cap + 1 if f.route.t_prfaas is not None else 1) * cap
    return total


def _ceil(x: Arr) -> Arr:
    return np.ceil(np.asarray(x, dtype=float) * (1 - REL_TOL) - REL_TOL)


@dataclass(frozen=True)
class _Floor:
    """Per threshold index j: the throughput minimum counts and their cost (inf where impossible)."""

    j: NDArray[np.int64]
    a: Arr
    n_p: Arr
    n_d: float
    cost: Arr
    egress_ok: NDArray[np.bool_]


def _floor(f: Family, pr: RouteSums, d: Demand, js: NDArray[np.int64]) -> _Floor:
    need = d.target_rps / d.load
    cap = d.max_gpus_per_cluster // f.gpus_per_instance
    n_d = float(max(1.0, _ceil(np.array([need / f.route.decode_rps_per_instance]))[0]))
    n_p = np.maximum(_ceil(need * pr.cl[js] / pr.N), 0.0)
    off = js < pr.N
    a = np.where(off, np.maximum(_ceil(need * pr.cp[js] / pr.N), 1.0), 0.0)
    egress_ok = (~off) | (need * pr.ck[js] / pr.N <= f.route.egress_bytes_per_s * (1 + REL_TOL))
    ok = egress_ok & (a <= cap) & (n_p + n_d <= cap) & ((n_p + n_d) >= 1)
    if f.route.t_prfaas is None:
        ok &= ~off
    cost = np.where(ok, a * f.prfaas_instance_usd_h + (n_p + n_d) * f.local_instance_usd_h, np.inf)
    return _Floor(js, a, n_p, n_d, cost, egress_ok)


def _lambda(f: Family, pr: RouteSums, j: NDArray[np.int64], a: Arr, n_p: Arr, n_d: Arr) -> Arr:
    """Lambda_max of each configuration (the planner's bounds, exact view)."""
    N = pr.N
    with np.errstate(divide="ignore", invalid="ignore"):
        b_prf = np.where(j < N, np.minimum(a * N / pr.cp[j], f.route.egress_bytes_per_s * N / pr.ck[j]), np.inf)
        b_pdp = np.where(j > 0, n_p * N / pr.cl[j], np.inf)
    return np.minimum(np.minimum(b_prf, b_pdp), n_d * f.route.decode_rps_per_instance)


def _pick_throughput(f: Family, pr: RouteSums, fl: _Floor, idx: int) -> Sized:
    best = float(np.min(fl.cost))
    tie = np.nonzero(fl.cost <= best * (1 + REL_TOL))[0]
    lam = _lambda(f, pr, fl.j[tie], fl.a[tie], fl.n_p[tie], np.full(len(tie), fl.n_d))
    k = int(tie[int(np.argmax(lam))])
    return Sized(idx, int(fl.a[k]), int(fl.n_p[k] + fl.n_d), int(fl.n_p[k]), int(fl.j[k]), float(fl.cost[k]))


Ints = NDArray[np.int64]


def _ragged(js: Ints, base: Arr, extra: Ints) -> tuple[Ints, Arr, Ints, Ints]:
    """Rows (j, base_j + k) for k = 0..extra_j: (j, count, owner, k) per row."""
    owner = np.repeat(np.arange(len(js)), extra + 1)
    start = np.concatenate([[0], np.cumsum(extra + 1)[:-1]]).astype(np.int64)
    k = np.arange(len(owner)) - start[owner]
    return js[owner], base[owner] + k, owner, k


def _padded(values: Arr, owner: NDArray[np.int64], k: NDArray[np.int64], rows: int) -> Arr:
    out = np.full((rows, int(k.max()) + 1 if len(k) else 1), np.inf)
    out[owner, k] = values
    return out


def _extras(f: Family, pr: RouteSums, d: Demand, fl: _Floor, sel: NDArray[np.int64],
            room: Arr) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Extra PrfaaS / local prefill instances each threshold may add within `room` $/h and the caps."""
    cap = d.max_gpus_per_cluster // f.gpus_per_instance
    off = fl.j[sel] < pr.N
    big = float(2 * cap + 2)
    ka = np.zeros(len(sel)) if f.route.t_prfaas is None else np.minimum(
        np.floor(np.minimum(room / f.prfaas_instance_usd_h, big)), cap - fl.a[sel])
    kn = np.minimum(np.floor(np.minimum(room / f.local_instance_usd_h, big)), cap - fl.n_d - fl.n_p[sel])
    ka = np.where(off, np.maximum(ka, 0), 0)
    return ka.astype(np.int64), np.maximum(kn, 0).astype(np.int64)


class _Tails:
    """Memo of the per-pool tail sums of one family at one demand, filled on first use (the
    search revisits thresholds with growing boxes)."""

    def __init__(self, f: Family, pr: RouteSums, d: Demand, slo: float) -> None:
        cap = d.max_gpus_per_cluster // f.gpus_per_instance
        self.f, self.pr, self.d, self.slo = f, pr, d, slo
        self.loc = np.full((pr.N + 1, cap + 1), np.nan)
        self.prf = np.full((pr.N + 1, cap + 1), np.nan)

    def get(self, local: bool, j: NDArray[np.int64], count: Arr) -> Arr:
        memo = self.loc if local else self.prf
        k = count.astype(np.int64)
        miss = np.isnan(memo[j, k])
        if miss.any():
            jm, km = j[miss], k[miss]
            key = np.unique(jm * memo.shape[1] + km)
            ju, ku = key // memo.shape[1], key % memo.shape[1]
            fn = tail_local if local else tail_prfaas
            memo[ju, ku] = fn(self.pr, self.d.target_rps, self.d.burstiness_scv, ju, ku.astype(float), self.slo)
        return np.asarray(memo[j, k])


def _search_box(f: Family, pr: RouteSums, d: Demand, fl: _Floor, sel: NDArray[np.int64], room: Arr,
                memo: _Tails) -> tuple[float, int, int, int] | None:
    """(cost, a, n_p, j) of the cheapest deployment meeting the P90 with at most `room` $/h of extra
    prefill instances at each selected threshold (None if none). The PrfaaS tails are computed for
    every allowed extra count; local tails first only on the staircase of the most local instances
    each PrfaaS count leaves room for (monotone: a threshold failing there fails everywhere)."""
    ka, kn = _extras(f, pr, d, fl, sel, room)
    budget = (1 - Q) * pr.N * (1 + REL_TOL)
    jp, ap, op, kp = _ragged(fl.j[sel], fl.a[sel], ka)
    tp = _padded(memo.get(False, jp, ap), op, kp, len(sel))
    stair = np.minimum(kn[op], np.floor(np.maximum(room[op] - kp * f.prfaas_instance_usd_h, 0)
                                          / f.local_instance_usd_h)).astype(np.int64)
    ok_stair = memo.get(True, jp, fl.n_p[sel][op] + stair) + tp[op, kp] <= budget
    alive = np.zeros(len(sel), dtype=bool)
    alive[op[ok_stair]] = True
    if not alive.any():
        return None
    sel, ka, kn, tp, room = sel[alive], ka[alive], kn[alive], tp[alive], room[alive]
    jl, nl, ol, kl = _ragged(fl.j[sel], fl.n_p[sel], kn)
    tl = _padded(memo.get(True, jl, nl), ol, kl, len(sel))
    tot = tp[:, :, None] + tl[:, None, :]
    ka_r, kn_r = np.arange(tp.shape[1]), np.arange(tl.shape[1])
    c = fl.cost[sel][:, None, None] + ka_r[None, :, None] * f.prfaas_instance_usd_h + kn_r[None, None, :] * (
        f.local_instance_usd_h)
    c = np.where(tot <= budget, c, np.inf)
    flat = int(np.lexsort((tot.ravel(), c.ravel()))[0])
    s, xa, xn = np.unravel_index(flat, c.shape)
    if not np.isfinite(c[s, xa, xn]):
        return None
    return float(c[s, xa, xn]), int(fl.a[sel[s]] + xa), int(fl.n_p[sel[s]] + xn), int(fl.j[sel[s]])


def _size_slo(f: Family, pr: RouteSums, d: Demand, fl: _Floor, idx: int, slo: float,
              bound: float = math.inf) -> Sized | None:
    """Cheapest (a, n) costing less than `bound` and meeting throughput and the P90 at some
    threshold; None if none does.

    Thresholds are visited cheapest floor first, in chunks. Until a deployment is known, the room
    for extra instances around a chunk's floors doubles until something fits or the room covers
    everything below the bound; once one is known the chunk is searched again over exactly the extra
    instances that could still beat it, and so is every later threshold whose floor is below it, so
    the result is the exact minimum."""
    cap = d.max_gpus_per_cluster // f.gpus_per_instance
    pend = np.nonzero(np.isfinite(fl.cost) & (unloaded_late(pr, fl.j, slo) <= (1 - Q) * pr.N))[0]
    pend = pend[np.argsort(fl.cost[pend], kind="stable")]
    unit = max(f.prfaas_instance_usd_h if f.route.t_prfaas is not None else 0.0, f.local_instance_usd_h)
    full = 2.0 * cap * (f.prfaas_instance_usd_h + f.local_instance_usd_h) + unit
    inc, best, pos, room = bound, None, 0, 4.0 * unit
    memo = _Tails(f, pr, d, slo)
    while pos < len(pend):
        step = FIRST_CHUNK if best is None else SLO_CHUNK
        sel = pend[pos:pos + step]
        sel = sel[fl.cost[sel] < inc * (1 - REL_TOL)]
        if not len(sel):
            break  # floors only rise from here
        exact = best is not None or room >= full
        want = inc - fl.cost[sel]
        found = _search_box(f, pr, d, fl, sel, want if exact else np.minimum(want, room), memo)
        if found is not None and found[0] < inc:
            inc, best = found[0], Sized(idx, found[1], found[2] + int(fl.n_d), found[2], found[3], found[0])
            if not exact:
                continue  # search this chunk again with exact incumbent-bounded boxes
        elif not exact and bool(np.any(room < want)):
            room *= 2
            continue
        pos += step
        room = 4.0 * unit
    return best


def thresholds(f: Family, mode: str) -> NDArray[np.int64]:
    """Threshold indices a routing mode allows: `prfaas` every one (j = N: nothing offloaded),
    `naive` all prefill on PrfaaS (j = 0), `homogeneous` none offloaded."""
    N = len(f.route.atoms)
    if mode == "homogeneous" or f.route.t_prfaas is None:
        return np.full(1, N, dtype=np.int64)
    if mode == "naive":
        return np.zeros(1, dtype=np.int64)
    return np.arange(N + 1, dtype=np.int64)


def _capacity(f: Family, pr: RouteSums, d: Demand, js: NDArray[np.int64]) -> tuple[float, str]:
    """Largest load x Lambda_max within the count limits over the allowed thresholds, and what binds."""
    cap = d.max_gpus_per_cluster // f.gpus_per_instance
    a = np.full(len(js), float(cap if f.route.t_prfaas is not None else 0))
    n_p = np.arange(cap, dtype=float)[:, None]  # rows: local prefill count; columns: threshold
    lam = _lambda(f, pr, js[None, :], a[None, :], n_p, cap - n_p)
    k, i = np.unravel_index(int(np.argmax(lam)), lam.shape)
    j = js[i : i + 1]
    with np.errstate(divide="ignore"):
        egress = float(f.route.egress_bytes_per_s * pr.N / pr.ck[j][0]) if j[0] < pr.N else math.inf
    binding = "egress" if egress <= lam[k, i] * (1 + REL_TOL) else "throughput"
    return d.load * float(lam[k, i]), binding


def _unloaded_p90(pr: RouteSums, js: NDArray[np.int64]) -> float:
    """The lowest unloaded P90 TTFT over (up to 256 evenly spaced) allowed thresholds."""
    pick = js[np.unique(np.linspace(0, len(js) - 1, min(len(js), 256)).astype(int))]
    k = max(0, math.ceil(Q * pr.N - 1 - 1e-9))  # the P90 of atoms: at most 10% of them above it
    return float(min(np.sort(np.concatenate([pr.u_loc[:j], pr.u_prf[j:]]))[k] for j in pick))


def size_family(f: Family, d: Demand, idx: int = 0, mode: str = "prfaas",
                bound: float = math.inf) -> Sized | Unmet | None:
    """The cheapest deployment of family `f` for demand `d` (see the module docstring); None when
    nothing cheaper than `bound` exists (the family may still be feasible at a higher cost)."""
    pr = route_sums(f.route, f.rtt_s)
    js = thresholds(f, mode)
    fl = _floor(f, pr, d, js)
    if not np.isfinite(fl.cost).any():
        best, binding = _capacity(f, pr, d, js)
        return Unmet(idx, binding, d.target_rps, best, "req/s")
    if d.ttft_p90_s is None:
        cheapest = _pick_throughput(f, pr, fl, idx)
        return cheapest if cheapest.cost_usd_per_hour < bound else None
    got = _size_slo(f, pr, d, fl, idx, d.ttft_p90_s, bound)
    if got is None and not math.isfinite(bound):
        return Unmet(idx, "ttft_p90", d.ttft_p90_s, _unloaded_p90(pr, js), "s")
    return got


@dataclass(frozen=True)
class SizeResult:
    best: Sized | None
    sized: list[Sized]  # the `top` cheapest families' deployments, cheapest first
    unmet: list[Unmet]
    pruned: list[int]  # families that cannot be among the `top` cheapest (not sized exactly)


def floor_cost(f: Family, d: Demand, mode: str = "prfaas") -> float:
    """A lower bound on the family's cost: the throughput requirements alone."""
    pr = route_sums(f.route, f.rtt_s)
    return float(np.min(_floor(f, pr, d, thresholds(f, mode)).cost))


def size_all(families: list[Family], d: Demand, mode: str = "prfaas", top: int = 10) -> SizeResult:
    """The cheapest deployment of each of the `top` cheapest families (ties: the earlier family).
    Families are visited by their throughput floor; one whose floor is not below the `top`-th
    cheapest cost found so far is pruned (it cannot enter the list)."""
    if not d.target_rps > 0 or not math.isfinite(d.target_rps):
        raise ValueError("target_rps must be a positive finite number")
    floors = [floor_cost(f, d, mode) for f in families]
    sized: list[Sized] = []
    unmet: list[Unmet] = []
    pruned: list[int] = []
    cutoff = math.inf
    for i in sorted(range(len(families)), key=lambda k: (floors[k], k)):
        if math.isfinite(floors[i]) and floors[i] >= cutoff:
            pruned.append(i)
            continue
        got = size_family(families[i], d, i, mode, cutoff)
        if isinstance(got, Unmet):
            unmet.append(got)
        elif got is None:
            pruned.append(i)
        else:
            sized = sorted([*sized, got], key=lambda s: (s.cost_usd_per_hour, s.family))[:top]
            if len(sized) >= top:
                cutoff = sized[-1].cost_usd_per_hour
    return SizeResult(sized[0] if sized else None, sized, unmet, sorted(pruned))
