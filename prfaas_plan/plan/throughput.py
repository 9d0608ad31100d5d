"""Stage throughputs (paper Eqs. 3-6) over every threshold and split, and the optimiser.

The length distribution is represented by N equal-probability atoms L_1 <= ... <= L_N (see
`plan.dist`). Threshold index j keeps atoms 1..j local (L <= t_j) and offloads the rest, so
p = (N - j) / N. Two views of each route's cost, both vectorised over (N_p, j):
- exact: capacity from E[S(L) | route] and egress from E[S_kv(L) | route] (a pool of
  servers with mean occupancy E[S] completes 1 / E[S] requests per second per server);
- paper: the paper's approximation, S and S_kv at the representative lengths l_long and
  l_short (conditional means of L).
S(l) is the GPU time a request occupies on a saturated instance (`perf.serving`: forwards filled
to the engine's token budget, the per-request latency overhead overlapped): capacity is
throughput, not 1 / latency. Where a route model carries no occupancy (`s_*` None), capacity falls
back to the latency T_prefill(l): the paper's Eqs. 3-4, which price a request at its
single-request latency (`prefill_capacity: latency` in a scenario).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]
Profile = Callable[[Arr], Arr]
STAGES = ("prfaas_compute", "prfaas_egress", "pd_prefill", "pd_decode")


@dataclass(frozen=True)
class RouteModel:
    """Everything the throughput model needs, already evaluated on the atoms."""

    atoms: Arr  # uncached lengths, sorted
    boundaries: Arr  # N + 1 thresholds: t_j between atom j and j+1 (t_0 = lo, t_N = hi)
    t_prfaas: Arr | None  # prefill seconds of each atom on a PrfaaS instance
    t_local: Arr  # prefill seconds of each atom on a local instance
    kv_bytes: Arr  # S_kv of each atom
    prfaas_profile: Profile | None  # T_prefill(l) on PrfaaS (for the paper approximation)
    local_profile: Profile
    kv_profile: Profile
    egress_bytes_per_s: float  # B_out
    decode_rps_per_instance: float  # BS_max / (T_decode * L_out)
    # GPU occupancy per request on a saturated instance (capacity); None = the latency above
    s_prfaas: Arr | None = None
    s_local: Arr | None = None
    prfaas_occupancy: Profile | None = None
    local_occupancy: Profile | None = None

    @property
    def occ_prfaas(self) -> Arr | None:
        """Seconds of a PrfaaS instance each atom occupies (what capacity is made of)."""
        return self.s_prfaas if self.s_prfaas is not None else self.t_prfaas

    @property
    def occ_local(self) -> Arr:
        return self.s_local if self.s_local is not None else self.t_local

    @property
    def occ_prfaas_profile(self) -> Profile | None:
        return self.prfaas_occupancy or self.prfaas_profile

    @property
    def occ_local_profile(self) -> Profile:
        return self.local_occupancy or self.local_profile


@dataclass(frozen=True)
class StageGrid:
    """Stage throughputs for each threshold index j (and split N_p where it matters)."""

    p: Arr  # (J,)
    l_long: Arr
    l_short: Arr
    theta_prfaas_compute: Arr  # (J,)
    theta_prfaas_egress: Arr  # (J,)
    local_mean_t: Arr  # (J,) E[S_local | short] (or S_local(l_short)): occupancy per request
    mean_kv_long: Arr  # (J,)


def _safe_div(a: Arr, b: Arr) -> Arr:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.inf)


def stage_grid(rm: RouteModel, n_prfaas: int, paper: bool) -> StageGrid:
    N = len(rm.atoms)
    j = np.arange(N + 1, dtype=float)
    head = np.concatenate([[0.0], np.cumsum(rm.atoms)])
    l_short = _safe_div(head, j)
    l_long = _safe_div(head[-1] - head, N - j)
    p = (N - j) / N
    if paper:
        ls = np.where(j > 0, l_short, rm.atoms[0])
        ll = np.where(j < N, l_long, rm.atoms[-1])
        local_t = np.asarray(rm.occ_local_profile(ls), dtype=float)
        kv_long = np.asarray(rm.kv_profile(ll), dtype=float)
        pp = rm.occ_prfaas_profile
        prf_t = np.asarray(pp(ll), dtype=float) if pp else np.full(N + 1, np.inf)
    else:
        cl = np.concatenate([[0.0], np.cumsum(rm.occ_local)])
        local_t = _safe_div(cl, j)
        ck = np.concatenate([[0.0], np.cumsum(rm.kv_bytes)])
        kv_long = _safe_div(ck[-1] - ck, N - j)
        occ = rm.occ_prfaas
        if occ is not None:
            cp = np.concatenate([[0.0], np.cumsum(occ)])
            prf_t = _safe_div(cp[-1] - cp, N - j)
        else:
            prf_t = np.full(N + 1, np.inf)
    comp = _safe_div(np.full(N + 1, float(n_prfaas)), prf_t) if n_prfaas > 0 else np.zeros(N + 1)
    egress = _safe_div(np.full(N + 1, rm.egress_bytes_per_s), kv_long)
    return StageGrid(p, l_long, l_short, comp, egress, local_t, kv_long)


@dataclass(frozen=True)
class Choice:
    j: int
    n_p: int
    n_d: int
    lam: float
    thetas: dict[str, float]  # per-stage throughput, paper's definition (not divided by p)
    bounds: dict[str, float]  # each stage's bound on Lambda (divided by p or 1 - p)
    binding: str


def lambda_matrix(g: StageGrid, n_local: int, decode_rps: float, allow_offload: bool = True) -> tuple[Arr, Arr]:
    """Lambda_max over (N_p = 0..n_local-1, j = 0..N): returns (lam, prefill_balance)."""
    n_p = np.arange(n_local, dtype=float)[:, None]
    n_d = n_local - n_p
    theta_prf = np.minimum(g.theta_prfaas_compute, g.theta_prfaas_egress)[None, :]
    theta_pdp = _safe_div(n_p, g.local_mean_t[None, :])
    p = g.p[None, :]
    b_prf = np.where(p > 0, _safe_div(theta_prf, p), np.inf)
    b_pdp = np.where(p < 1, _safe_div(theta_pdp, 1 - p), np.inf)
    b_dec = n_d * decode_rps
    prefill = np.minimum(b_prf, b_pdp)
    lam = np.minimum(prefill, b_dec)
    if not allow_offload:
        lam = np.where(p > 0, -np.inf, lam)
    return lam, prefill


def column_at(g: StageGrid, n_p: Arr, n_local: int, decode_rps: float, allow_offload: bool) -> tuple[Arr, Arr]:
    """Lambda and the prefill bound at one split per threshold index: the same arithmetic as one
    entry of each column of `lambda_matrix` (so the two agree to the last bit)."""
    theta_prf = np.minimum(g.theta_prfaas_compute, g.theta_prfaas_egress)
    p = g.p
    b_prf = np.where(p > 0, _safe_div(theta_prf, p), np.inf)
    b_pdp = np.where(p < 1, _safe_div(_safe_div(n_p, g.local_mean_t), 1 - p), np.inf)
    prefill = np.minimum(b_prf, b_pdp)
    lam = np.minimum(prefill, (n_local - n_p) * decode_rps)
    if not allow_offload:
        lam = np.where(p > 0, -np.inf, lam)
    return lam, prefill


def optimise(g: StageGrid, n_local: int, decode_rps: float, allow_offload: bool = True) -> Choice:
    """Global maximum of Lambda over every threshold atom and integer split N_p = 0..n_local-1;
    ties go to the configuration with the most prefill headroom (so Eq. 7 holds where decode
    binds), then to the fewest prefill instances and the lowest threshold.

    O(N) instead of the O(N x n_local) matrix: for a threshold j the prefill bound
    min(b_prf, N_p B_j) never falls with N_p and the decode bound (n_local - N_p) C always does,
    so Lambda(., j) peaks at the floor or ceil of the crossing n_local C / (B_j + C); the
    tie-break's candidates for j are the largest N_p whose decode bound still reaches the optimum
    and the smallest N_p with the same prefill bound. Equal to `lambda_matrix`'s brute force
    (tested), at any cluster size.
    """
    n_max = float(n_local - 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        B = np.where(g.p < 1, 1.0 / (g.local_mean_t * (1 - g.p)), np.inf)  # b_pdp per prefill instance
        star = np.where(np.isfinite(B), n_local * decode_rps / (B + decode_rps), 0.0)
    star = np.nan_to_num(star, nan=0.0, posinf=n_max)
    lam = np.full(len(g.p), -np.inf)
    for cand in (np.floor(star), np.ceil(star)):
        lam = np.maximum(lam, column_at(g, np.clip(cand, 0.0, n_max), n_local, decode_rps, allow_offload)[0])
    best = float(np.nanmax(lam)) if len(lam) else -np.inf
    if not np.isfinite(best) or best <= 0:
        # nothing can be served: report the naive layout (everything offloaded), or with offload
        # barred (homogeneous PD: e.g. a single instance) every prefill local
        return _choice(g, 0, n_local, decode_rps, 0 if allow_offload else len(g.p) - 1)
    thr = best * (1 - 1e-12)
    up = np.full(len(g.p), n_max) if decode_rps <= 0 else np.full(len(g.p), np.floor(n_local - thr / decode_rps))
    up = np.clip(up, 0.0, n_max)
    for _ in range(2):  # floor() may land one past the last feasible split in round-off
        lam_up, _p = column_at(g, up, n_local, decode_rps, allow_offload)
        up = np.where((lam_up < thr) & (up > 0) & ((n_local - up) * decode_rps < thr), up - 1, up)
    lam_up, pre_up = column_at(g, up, n_local, decode_rps, allow_offload)
    score = np.where(lam_up >= thr, pre_up, -np.inf)
    top = float(np.max(score))
    # the smallest split with the top prefill bound: where b_prf caps it, ceil(b_prf / B_j)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low = np.where(np.isfinite(B) & (B > 0), np.ceil(np.minimum(top / B, n_max)), 0.0)
    low = np.clip(np.nan_to_num(low, nan=0.0, posinf=n_max), 0.0, up)
    for shift in (-2.0, -1.0, 0.0):
        n_try = np.clip(low + shift, 0.0, up)
        lam_t, pre_t = column_at(g, n_try, n_local, decode_rps, allow_offload)
        ok = (score == top) & (lam_t >= thr) & (pre_t == top) & (n_try < low)
        low = np.where(ok, n_try, low)
    lam_l, pre_l = column_at(g, low, n_local, decode_rps, allow_offload)
    ok = (score == top) & (lam_l >= thr) & (pre_l == top)
    n_p = np.where(ok, low, np.where(score == top, up, np.inf))
    j = int(np.argmin(n_p))  # fewest prefill instances, then the lowest threshold index
    return _choice(g, int(n_p[j]), n_local, decode_rps, j)


def _choice(g: StageGrid, n_p: int, n_local: int, decode_rps: float, j: int) -> Choice:
    p = float(g.p[j])
    comp, egr = float(g.theta_prfaas_compute[j]), float(g.theta_prfaas_egress[j])
    th_prf = min(comp, egr) if p > 0 else 0.0
    th_pdp = n_p / float(g.local_mean_t[j]) if (p < 1 and np.isfinite(g.local_mean_t[j])) else 0.0
    n_d = n_local - n_p
    th_dec = n_d * decode_rps
    bounds = {
        "prfaas_compute": comp / p if p > 0 else np.inf,
        "prfaas_egress": egr / p if p > 0 else np.inf,
        "pd_prefill": th_pdp / (1 - p) if p < 1 else np.inf,
        "pd_decode": th_dec,
    }
    lam = min(bounds.values())
    binding = min(bounds, key=lambda k: bounds[k])
    thetas = {"prfaas": th_prf, "pd_prefill": th_pdp, "pd_decode": th_dec}
    return Choice(j, n_p, n_d, float(lam), thetas, {k: float(v) for k, v in bounds.items()}, binding)


def evaluate(g: StageGrid, n_p: int, n_local: int, decode_rps: float, j: int) -> Choice:
    """The same accounting for a given configuration (e.g. the exact view of the paper's choice)."""
    return _choice(g, n_p, n_local, decode_rps, j)
