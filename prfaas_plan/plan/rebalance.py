"""Long-timescale re-planning: the best local prefill/decode split for an observed traffic window.

The paper's scheduler converts local nodes between prefill and decode roles as the traffic mix
shifts, to restore Eqs. 7-8. `replan_split` does what the planner does for a scenario (the same
`stage_grid` + `optimise` exhaustive search over every threshold atom and integer split), on a
length distribution made of the window's observed lengths and a decode rate from the window's
observed output lengths. It is pure: arrays in, a `Replan` out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.plan.throughput import Profile, RouteModel, lambda_matrix, optimise, stage_grid

Arr = NDArray[np.float64]
# Atoms the observed window is summarised into: equal-probability quantiles of the observed
# lengths (enough that one atom is under 0.1% of the traffic; the planner uses 20,000 for a
# distribution, but a window of a few hundred seconds holds fewer requests than that).
WINDOW_ATOMS = 1000
# A split change is made only when it raises the window's Lambda_max by more than this: a change
# takes an instance out of service for the drain delay, and on a stationary workload a window's
# sampled optimum beats the planned split by chance (paper scenario at 80% load, measured over
# 163 windows of 60 s, ~180 requests each: median 0%, P99 4.8%, max 16.5%; over 300-s windows: 0%).
MIN_GAIN = 0.05


@dataclass(frozen=True)
class Replan:
    n_pd_prefill: int
    n_pd_decode: int
    threshold_tokens: float  # -inf: offload everything; +inf: nothing
    max_throughput_rps: float
    binding: str


def window_route(rm: RouteModel, lengths: Arr, mean_output_tokens: float, decode_slots: int,
                 decode_step_s: float) -> RouteModel:
    """`rm` re-evaluated on the observed lengths (quantile atoms) and the observed mean output."""
    q = np.sort(np.asarray(lengths, dtype=float))
    n = min(WINDOW_ATOMS, len(q))
    atoms = np.maximum(np.quantile(q, (np.arange(n) + 0.5) / n), 1.0)
    mids = np.quantile(q, np.arange(1, n) / n)
    bounds = np.concatenate([[atoms[0]], np.maximum(mids, atoms[:-1]), [atoms[-1]]])
    t_prf = np.asarray(rm.prfaas_profile(atoms), dtype=float) if rm.prfaas_profile is not None else None
    drps = decode_slots / (decode_step_s * max(mean_output_tokens, 1.0))

    def occ(profile: Profile | None) -> Arr | None:
        return None if profile is None else np.asarray(profile(atoms), dtype=float)

    return dataclasses.replace(rm, atoms=atoms, boundaries=bounds, t_prfaas=t_prf,
                               t_local=np.asarray(rm.local_profile(atoms), dtype=float),
                               kv_bytes=np.asarray(rm.kv_profile(atoms), dtype=float),
                               decode_rps_per_instance=drps, s_prfaas=occ(rm.prfaas_occupancy),
                               s_local=occ(rm.local_occupancy))


def replan_split(rm: RouteModel, lengths: Arr, mean_output_tokens: float, n_prfaas: int, n_local: int,
                 decode_slots: int, decode_step_s: float, current_n_p: int | None = None,
                 min_gain: float = MIN_GAIN) -> Replan:
    """The planner's optimum (threshold and split, exact view) for the observed window. At least
    one local instance keeps each role (a window without local traffic must not strand requests).
    With `current_n_p`, that split is kept (with its own best threshold) unless the optimum's
    Lambda_max exceeds it by more than `min_gain`."""
    w = window_route(rm, lengths, mean_output_tokens, decode_slots, decode_step_s)
    g = stage_grid(w, n_prfaas, False)
    lam, _ = lambda_matrix(g, n_local, w.decode_rps_per_instance)
    ch = optimise(g, n_local, w.decode_rps_per_instance)
    n_p, j, best = min(max(ch.n_p, 1), n_local - 1), ch.j, ch.lam
    if current_n_p is not None and 0 < current_n_p < n_local:
        row = lam[current_n_p]
        if np.nanmax(row) * (1 + min_gain) >= best:
            n_p, j, best = current_n_p, int(np.nanargmax(row)), float(np.nanmax(row))
    n = len(w.atoms)
    thr = -np.inf if j == 0 else (np.inf if j == n else float(w.boundaries[j]))
    return Replan(n_p, n_local - n_p, float(thr), float(best), ch.binding)
