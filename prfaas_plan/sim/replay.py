"""Replay given routes and decode loans through the engine (pure; hindsight studies only).

`prfaas simulate` never calls this: it is the evaluator of `benchmarks/scheduler_oracle.py`, which
searches over per-request routes with the arrivals and the bandwidth trace known in advance. The
adaptive scheduler (`sim.adaptive`) decides each route and each decode loan from the state at the
time; `replay` takes those decisions as given and times every request as the adaptive run would
have: the PrfaaS pool and the local prefill pool are the same FCFS heaps walked in arrival order, a
loan adds a local prefill instance free from its decision time plus the drain delay (as
`_Scheduler._convert` does) and a return removes the instance free first, and the link, first
token and decode are `engine.finish`. Replaying an adaptive run's own routes and loans reproduces
its records exactly (tests/test_scheduler.py).
"""

from __future__ import annotations

import dataclasses
import heapq

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.sim.adaptive import Alternatives
from prfaas_plan.sim.engine import Arr, SimConfig, SimRecords, fcfs, finish

# A decode loan as the adaptive report lists it: (decision time s, +k lent to prefill / -k returned).
Loan = tuple[float, int]


def local_pool(a: Arr, busy: Arr, servers: int, loans: list[Loan], drain_s: float,
               slots: int) -> tuple[Arr, list[tuple[float, int]]]:
    """FCFS start times of the local requests (arrival order) with decode instances lent and
    returned at the given decision times (a decision at T applies to the arrivals at or after T, as
    the adaptive scheduler's tick at T precedes them), and the decode pool's (time, +/- slots)."""
    free = [0.0] * servers
    heapq.heapify(free)
    start = np.empty(len(a))
    changes: list[tuple[float, int]] = []
    a_l, b_l = a.tolist(), busy.tolist()
    ci, ev = 0, sorted(loans)
    for i, ai in enumerate(a_l):
        while ci < len(ev) and ev[ci][0] <= ai:
            t_c, d = ev[ci]
            ci += 1
            if d > 0:
                changes.append((t_c, -d * slots))
                for _ in range(d):
                    heapq.heappush(free, t_c + drain_s)
            for _ in range(min(-d, len(free))):
                changes.append((max(t_c, heapq.heappop(free)) + drain_s, slots))
        f = heapq.heappop(free) if free else np.inf
        st = ai if ai > f else f
        start[i] = st
        if f < np.inf:
            heapq.heappush(free, st + b_l[i])
    for t_c, d in ev[ci:]:  # decisions after the last local arrival still change the decode pool
        if d > 0:
            changes.append((t_c, -d * slots))
        for _ in range(min(-d, len(free))):
            changes.append((max(t_c, heapq.heappop(free)) + drain_s, slots))
    return start, changes


def replay(a: Arr, alt: Alternatives, out: Arr, cfg: SimConfig, offload: NDArray[np.bool_], loans: list[Loan],
           drain_s: float, link_order: str = "sjf", link_inflight_s: float = 1.0) -> SimRecords:
    """Time every request with the routes `offload` and the decode `loans` fixed in advance, the
    link sending in `link_order` (the adaptive scheduler's sender by default)."""
    off = np.asarray(offload, bool) & (cfg.n_prfaas > 0)
    ps, pe = np.empty(len(a)), np.empty(len(a))
    if off.any():
        ps[off] = fcfs(a[off] + alt.release_prfaas_s[off], alt.busy_prfaas_s[off], cfg.n_prfaas)
        pe[off] = ps[off] + alt.t_prfaas_s[off]
    loc = ~off
    st, dec = local_pool(a[loc], alt.busy_local_s[loc], cfg.n_pd_prefill, loans, drain_s, cfg.decode_slots_per_instance)
    ps[loc], pe[loc] = st, st + alt.t_local_s[loc]
    S = np.where(off, alt.kv_prfaas_bytes, alt.kv_local_bytes)
    mv = np.where(off, 0.0, alt.move_local_bytes)
    run_cfg = dataclasses.replace(cfg, link_order=link_order, link_inflight_s=link_inflight_s)
    return finish(a, off, ps, pe, S, out, mv, run_cfg, sorted(dec))
