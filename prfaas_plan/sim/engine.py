"""Discrete-event simulation of a planned PrfaaS-PD deployment (pure: arrays in, records out).

Model (one request = one prompt):
- routing: uncached length > threshold goes to the PrfaaS pool, else to the local prefill pool;
- prefill pools: FCFS, `c` identical instances; a request occupies its instance for its GPU
  occupancy S(l) (`perf.serving`: steady-state throughput, forwards filled to the token budget)
  and its first token is computed T(l) after it starts (the single-request latency, request
  overhead included; S(l) < T(l)), so the next request starts while its predecessor's overhead
  runs. Without occupancy profiles S = T (the paper's one-request-at-a-time view);
- KV transfer (PrfaaS requests only): the link's `bandwidth x factor(t)` bytes/s are shared equally
  by the transfers in flight (processor sharing); a transfer joins no earlier than layer-wise
  streaming allows (max(prefill start, prefill end - S/B)); the first token is ready at
  max(transfer end, prefill end) + RTT;
- decode: n_decode x max_batch slots, FCFS; each request holds one slot for output x step time.
- local requests are ready when their prefill ends (intra-cluster RDMA not modelled).
- per-cluster prefix caches (optional, `offload` / `move_bytes` / `release_delay_s` from
  `traces.route_two_caches`): a prefix moved PrfaaS -> PD shares the egress link from arrival and
  the local request is ready no earlier than its move end + RTT; a prefix moved PD -> PrfaaS
  travels the reverse direction (not the egress link) and delays the PrfaaS prefill start.

Each FCFS pool is an O(N log c) recursion over requests in arrival order with a heap of instance
free times, and the link an event loop over joins and completions (O(N k) for k concurrent
transfers): the sequential parts; arrivals, routing, service times and every statistic are
vectorised numpy. 1,000,000 requests take a few seconds. `finish` (link, first token, decode once
routes and prefill times are known) is shared with the adaptive scheduler (`sim.adaptive`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]

# Resource bounds, checked before the arrays or the loops are sized: requests per run (1,000,000
# take a few seconds, README "simulate"), and the 1-s slots a time-varying link may be stepped
# through (the link loop visits every second while transfers are in flight).
MAX_REQUESTS = 2_000_000
MAX_LINK_SLOTS = 1_000_000


class LinkTooSlowError(ValueError):
    """The link, at its (time-varying) bandwidth, would need more than MAX_LINK_SLOTS seconds."""


@dataclass(frozen=True)
class SimConfig:
    threshold_tokens: float  # route to PrfaaS when uncached length > threshold (inf: never)
    n_prfaas: int
    n_pd_prefill: int
    n_pd_decode: int
    decode_slots_per_instance: int
    decode_step_s: float
    link_bytes_per_s: float
    rtt_s: float = 0.0
    bandwidth_factors: Arr | None = None  # multiplier per 1-s slot (cyclic); None = constant
    # the egress link's sender (`_link`): "ps" every joined transfer in flight, sharing (static's
    # model); "fifo" / "sjf" a sender queue admitting in join order / smallest first while the bytes
    # in flight stay within link_inflight_s seconds of the bandwidth then
    link_order: str = "ps"
    link_inflight_s: float = 1.0


@dataclass
class SimRecords:
    arrival_s: Arr
    offloaded: NDArray[np.bool_]
    prefill_start_s: Arr
    prefill_end_s: Arr
    ready_s: Arr  # first token (TTFT end)
    decode_start_s: Arr
    decode_end_s: Arr
    kv_bytes: Arr
    transfer_start_s: Arr  # nan for local requests
    transfer_end_s: Arr
    move_bytes: Arr | None = None  # prefix KV moved PrfaaS -> PD over the egress link (0: none)
    move_start_s: Arr | None = None  # nan where nothing moved
    move_end_s: Arr | None = None


def fcfs(arrival: Arr, service: Arr, servers: int) -> Arr:
    """Start times in a FCFS queue with `servers` identical servers (arrival order = input order)."""
    n = len(arrival)
    start = np.empty(n)
    if n == 0:
        return start
    if servers <= 0:
        start.fill(np.inf)
        return start
    free = [0.0] * servers
    heapq.heapify(free)
    a, s = arrival.tolist(), service.tolist()
    pop, push = heapq.heappop, heapq.heappush
    for i in range(n):
        f = pop(free)
        st = a[i] if a[i] > f else f
        start[i] = st
        push(free, st + s[i])
    return start


def fcfs_changing(arrival: Arr, service: Arr, servers: int, changes: list[tuple[float, int]]) -> Arr:
    """`fcfs` with the number of servers changing at given times (time-sorted (time, delta)). A
    change applies to the requests arriving from its time on: an added server is free from its
    time; a removed one is the server free first, which finishes the work it already holds (a
    queued request assigned before the change keeps its server: an approximation of a central
    queue, exact when the queue is empty at the change)."""
    n = len(arrival)
    start = np.empty(n)
    free = [0.0] * servers
    heapq.heapify(free)
    a, s = arrival.tolist(), service.tolist()
    pop, push = heapq.heappop, heapq.heappush
    ci, nc = 0, len(changes)
    for i in range(n):
        while ci < nc and changes[ci][0] <= a[i]:
            t_c, d = changes[ci]
            for _ in range(d):
                push(free, t_c)
            for _ in range(min(-d, len(free))):
                pop(free)
            ci += 1
        f = pop(free) if free else float("inf")
        st = a[i] if a[i] > f else f
        start[i] = st
        if free or f != float("inf"):
            push(free, st + s[i])
    return start


def _link(pf_start: Arr, pf_end: Arr, kv: Arr, bw: float, factors: Arr | None, order_by: str = "ps",
          inflight_s: float = 1.0) -> tuple[Arr, Arr]:
    """Processor sharing: the k transfers in flight each get bandwidth x factor(t) / k. A transfer
    joins no earlier than layer-wise streaming allows, max(prefill start, prefill end - S / B).
    `order_by` "fifo" / "sjf": the sender admits joined transfers in join order / smallest first
    while the bytes in flight stay within `inflight_s` seconds of the bandwidth then, and always at
    least one (the others wait, their KV held where it was computed); a transfer's start time is then
    its admission. "ps": every joined transfer is in flight (no sender queue)."""
    n = len(kv)
    est = np.maximum(pf_start, pf_end - kv / bw)
    if factors is not None and n:
        mean_f = float(np.mean(factors))
        busy = float(np.nanmax(est)) + float(kv.sum()) / (bw * mean_f) if mean_f > 0 else np.inf
        if not busy <= MAX_LINK_SLOTS:
            raise LinkTooSlowError(f"at a mean {mean_f:.3g} x its nominal bandwidth the link would need about "
                                   f"{busy:.3g} s to carry the KV (more than {MAX_LINK_SLOTS:,} 1-s slots)")
    order = np.argsort(est, kind="stable")
    e_l, k_l = est[order].tolist(), kv[order].tolist()
    fl = factors.tolist() if factors is not None else None
    m = len(fl) if fl else 0
    ts, te = np.empty(n), np.empty(n)
    active: dict[int, float] = {}
    queue: list[tuple[float, int]] = []  # sender queue: (key, index), key = index (fifo) or bytes (sjf)
    key = None if order_by == "ps" else (k_l if order_by == "sjf" else None)
    t, i, inf = 0.0, 0, float("inf")
    while i < n or active or queue:
        f = fl[int(t) % m] if fl else 1.0
        if queue:
            _admit(active, queue, k_l, ts, order, t, bw * f * inflight_s)
        nxt = e_l[i] if i < n else inf
        if not active:
            t = nxt
            i = _join(active, queue, e_l, k_l, ts, order, i, t, order_by, key)
            continue
        share = bw * f / len(active)
        rem_min = min(active.values())
        t_done = t + rem_min / share if share > 0 else inf
        t_fac = float(int(t) + 1) if fl else inf
        t_next = min(nxt, t_done, t_fac)
        sent = share * (t_next - t)
        t = t_next
        # a completion event finishes the smallest transfer(s) exactly (no float stall); otherwise
        # only transfers within relative round-off of done
        cut = rem_min * (1 + 1e-9) if t_next == t_done else sent
        done = [j for j, r in active.items() if r <= cut or r - sent <= 1e-9 * r]
        for j in active:
            active[j] -= sent
        for j in done:
            del active[j]
            te[order[j]] = t
        i = _join(active, queue, e_l, k_l, ts, order, i, t, order_by, key)
    return ts, te


def _join(active: dict[int, float], queue: list[tuple[float, int]], e_l: list[float], k_l: list[float], ts: Arr,
          order: NDArray[np.intp], i: int, t: float, order_by: str, key: list[float] | None) -> int:
    """Transfers that have joined by t: into flight (processor sharing) or the sender's queue."""
    n = len(e_l)
    while i < n and e_l[i] <= t:
        if order_by == "ps":
            active[i] = k_l[i]
            ts[order[i]] = e_l[i]
        else:
            heapq.heappush(queue, (key[i] if key is not None else float(i), i))
        i += 1
    return i


def _admit(active: dict[int, float], queue: list[tuple[float, int]], k_l: list[float], ts: Arr,
           order: NDArray[np.intp], t: float, cap_bytes: float) -> None:
    """Queued transfers into flight, first key first, while the bytes in flight stay within the cap
    (at least one in flight whenever one waits: the link never idles with work queued)."""
    inflight = sum(active.values())
    while queue and (not active or inflight + k_l[queue[0][1]] <= cap_bytes):
        j = heapq.heappop(queue)[1]
        active[j] = k_l[j]
        inflight += k_l[j]
        ts[order[j]] = t


def simulate(
    arrival_s: Arr, uncached_tokens: Arr, output_tokens: Arr, cfg: SimConfig,
    t_prfaas: Callable[[Arr], Arr] | None, t_local: Callable[[Arr], Arr], kv: Callable[[Arr], Arr],
    *, offload: NDArray[np.bool_] | None = None, move_bytes: Arr | None = None,
    release_delay_s: Arr | None = None, s_prfaas: Callable[[Arr], Arr] | None = None,
    s_local: Callable[[Arr], Arr] | None = None,
) -> SimRecords:
    """`uncached_tokens` are the tokens each request prefills where it runs; `offload` overrides the
    threshold rule (per-cluster caches decide it); `move_bytes` (local requests) and
    `release_delay_s` (PrfaaS requests) model cache moves (see the module docstring); `s_prfaas` /
    `s_local` give each pool's occupancy S(l) (None: the latency profile)."""
    a = np.asarray(arrival_s, dtype=float)
    L = np.asarray(uncached_tokens, dtype=float)
    out = np.asarray(output_tokens, dtype=float)
    has_prf = cfg.n_prfaas > 0 and t_prfaas is not None
    if offload is not None:
        off = np.asarray(offload, bool) & has_prf
    else:
        off = (L > cfg.threshold_tokens) if has_prf else np.zeros(len(a), bool)
    S = np.asarray(kv(L), dtype=float)
    rel = a if release_delay_s is None else a + np.where(off, release_delay_s, 0.0)
    ps, pe = np.empty(len(a)), np.empty(len(a))
    for mask, prof, occ, c in ((off, t_prfaas, s_prfaas, cfg.n_prfaas), (~off, t_local, s_local, cfg.n_pd_prefill)):
        if not mask.any():
            continue
        assert prof is not None
        svc = np.asarray(prof(L[mask]), dtype=float)
        busy = svc if occ is None else np.minimum(np.asarray(occ(L[mask]), dtype=float), svc)
        st = fcfs(rel[mask], busy, c)
        ps[mask], pe[mask] = st, st + svc
    mv = np.zeros(len(a)) if move_bytes is None else np.where(off, 0.0, np.asarray(move_bytes, dtype=float))
    return finish(a, off, ps, pe, S, out, mv, cfg)


def finish(a: Arr, off: NDArray[np.bool_], ps: Arr, pe: Arr, S: Arr, out: Arr, mv: Arr, cfg: SimConfig,
           decode_changes: list[tuple[float, int]] | None = None) -> SimRecords:
    """Link, first token and decode once routes and prefill times are known. `mv`: prefix bytes
    each local request moves PrfaaS -> PD over the egress link from its arrival (0: none);
    `decode_changes`: (time, +/- slots) as the long-timescale rebalance converts instances."""
    ready = pe.copy()
    tr_s, tr_e = np.full(len(a), np.nan), np.full(len(a), np.nan)
    moving = mv > 0
    mv_s, mv_e = np.full(len(a), np.nan), np.full(len(a), np.nan)
    if off.any() or moving.any():
        # one shared link: KV of PrfaaS prefills, and prefix moves that start at arrival
        s_, e_ = _link(np.concatenate([ps[off], a[moving]]), np.concatenate([pe[off], a[moving]]),
                       np.concatenate([S[off], mv[moving]]), cfg.link_bytes_per_s, cfg.bandwidth_factors,
                       cfg.link_order, cfg.link_inflight_s)
        k = int(off.sum())
        tr_s[off], tr_e[off] = s_[:k], e_[:k]
        ready[off] = np.maximum(e_[:k], pe[off]) + cfg.rtt_s
        mv_s[moving], mv_e[moving] = s_[k:], e_[k:]
        ready[moving] = np.maximum(ready[moving], e_[k:] + cfg.rtt_s)
    order = np.argsort(ready, kind="stable")
    dsvc = np.maximum(out, 1.0) * cfg.decode_step_s
    ds = np.empty(len(a))
    slots = cfg.n_pd_decode * cfg.decode_slots_per_instance
    if decode_changes:
        ds[order] = fcfs_changing(ready[order], dsvc[order], slots, decode_changes)
    else:
        ds[order] = fcfs(ready[order], dsvc[order], slots)
    return SimRecords(a, off, ps, pe, ready, ds, ds + dsvc, S, tr_s, tr_e, mv, mv_s, mv_e)


def check_conservation(r: SimRecords, horizon_s: float, arrived: int) -> tuple[int, int]:
    """Every request arrived by `horizon_s` (`arrived`, counted by the caller from its own arrivals)
    is completed (decode ended by the horizon) or still in the system (arrived, not completed), with
    finite, causal timestamps for the completed ones; returns (completed, in system)."""
    done = r.decode_end_s <= horizon_s
    inside = (r.arrival_s <= horizon_s) & ~done
    n_done, n_inside = int(done.sum()), int(inside.sum())
    assert n_done + n_inside == arrived, f"{n_done} completed + {n_inside} in system != {arrived} arrived"
    tol = 1e-9
    for ts in (r.arrival_s, r.prefill_start_s, r.prefill_end_s, r.ready_s, r.decode_start_s, r.decode_end_s):
        assert np.all(np.isfinite(ts[done])), "a completed request has a non-finite timestamp"
    assert np.all(r.arrival_s[done] <= horizon_s)
    assert np.all(r.prefill_start_s >= r.arrival_s - tol)
    assert np.all(r.prefill_end_s >= r.prefill_start_s)
    assert np.all(r.ready_s >= r.prefill_end_s - tol)
    assert np.all(r.decode_start_s >= r.ready_s - tol)
    assert np.all(r.decode_end_s > r.decode_start_s)
    return n_done, n_inside


def window_bytes(start: Arr, end: Arr, nbytes: Arr, t0: float, t1: float, window: float = 1.0) -> Arr:
    """Bytes sent in each window [t0 + k w, t0 + (k+1) w), each transfer spread evenly over its interval."""
    ok = np.isfinite(start) & np.isfinite(end) & (end > start)
    s, e, b = start[ok], end[ok], nbytes[ok]
    rate = b / (e - s)
    t = np.concatenate([s, e])
    d = np.concatenate([rate, -rate])
    o = np.argsort(t, kind="stable")
    t, d = t[o], d[o]
    slope = np.cumsum(d)
    cum = np.concatenate([[0.0], np.cumsum(slope[:-1] * np.diff(t))])
    k = np.arange(t0, t1 + 1e-9, window)
    if len(t) == 0:
        return np.zeros(max(len(k) - 1, 0))
    B = np.interp(k, t, cum, left=0.0, right=float(cum[-1]))
    return np.diff(B)


def growth_slope(arrival: Arr, wait: Arr) -> float:
    """Slope of waiting time against arrival time over the second half (s of wait per s): about 0
    for a stable queue, about (load - 1) / load for an overloaded one."""
    if len(arrival) < 20:
        return 0.0
    h = len(arrival) // 2
    x, y = arrival[h:], wait[h:]
    if np.ptp(x) <= 0:
        return 0.0
    return float(np.polyfit(x, y, 1)[0])


def link_capacity(t: Arr, bytes_per_s: float, factors: Arr | None) -> Arr:
    """Bytes the link can send over [0, t]: bandwidth x factor per 1-s slot (cyclic), integrated."""
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    if factors is None:
        return bytes_per_s * t
    f = np.asarray(factors, dtype=float)
    m = np.floor(t)
    mi = m.astype(np.int64)
    cum = np.concatenate([[0.0], np.cumsum(f)])
    whole = (mi // len(f)) * cum[-1] + cum[mi % len(f)]
    return bytes_per_s * (whole + (t - m) * f[mi % len(f)])


def link_sent(start: Arr, nbytes: Arr, bytes_per_s: float, factors: Arr | None, t: Arr) -> Arr:
    """Bytes the link has sent by each time `t`, given transfers joining at `start` (nan: none).

    The sender is work-conserving under every `link_order` (some transfer is in flight whenever
    bytes wait), so the bytes sent do not depend on the order: a fluid queue with arrivals A(s)
    and capacity C(s) sends S(t) = C(t) + min(0, min over s <= t of A(s-) - C(s)) (the reflection
    at zero: capacity lost while the link idles). Exact, in O((N + len t) log N) numpy instead of
    replaying the link through `adaptive.LinkState` second by second."""
    ok = np.isfinite(start)
    s = np.maximum(start[ok], 0.0)
    o = np.argsort(s, kind="stable")
    s, b = s[o], nbytes[ok][o]
    cum = np.concatenate([[0.0], np.cumsum(b)])  # A after the first k joins
    # min(0, A(s-) - C(s) over the first k joins): minus the capacity lost to idling before the k-th
    idle = np.minimum.accumulate(np.concatenate([[0.0], cum[:-1] - link_capacity(s, bytes_per_s, factors)]))
    k = np.searchsorted(s, t, side="right")  # joins at or before t
    return np.minimum(cum[k], link_capacity(t, bytes_per_s, factors) + idle[k])
