"""The paper's dual-timescale scheduler, event-driven (pure: arrays in, routes and records out).

`static` routing (`engine.simulate`) decides every route before the run. `adaptive` routes each
request at its arrival from the system state then, so it walks the arrivals in order with the two
prefill pools (heaps of instance free times) and the egress link (an incremental processor-sharing
loop, the same model as `engine._link`; the bytes it sends per second are those of any sender
order) advanced to that instant. Service times, KV sizes and
every statistic stay vectorised; once the routes and prefill times are known, the link, first
token and decode are computed by `engine.finish`, exactly as for `static`.

Short timescale (the policy, `AdaptivePolicy`; the paper gives no trigger values):
- signals, every `tick_s`: link utilisation over the last `window_s` (bytes sent / the link's
  capacity then), link drain delay D_link (bytes committed to the link and not yet sent / the
  bandwidth now), the PrfaaS and local prefill queue waits W_prf, W_loc (seconds until an instance
  of the pool is free: the waiting work a new request sees, FCFS);
- the PrfaaS path's delay D_off = max(W_prf, D_link) (prefill and transfer overlap layer-wise);
  imbalance x = D_off - W_loc;
- sustained link congestion: the link is the PrfaaS path's bottleneck (D_link > max(W_prf,
  raise_s)) and its backlog forecast one drain delay ahead still exceeds the drain delay:
  (unsent bytes + (KV bytes offered per second over the last minute - the bandwidth now) x
  drain delay) / the bandwidth now > drain delay, at every tick for `persist` (0.5) x the drain
  delay. A burst, a dip shorter than that (2, 3 or 10 s at 1-4 Gbps), or the flapping trace's 20-s
  halves at 10 Gbps do not qualify; the 4-Gbps drop does 15-22 s in;
- the effective threshold t_eff rises by a factor (1 + step) per tick while the PrfaaS path is the
  bottleneck (x > raise_s, or x > settle_s with the link at its ceiling: utilisation >= util_high)
  and the local pool still has room: W_loc < raise_s, or W_loc < local_wait_max_s (default: the
  local prefill latency at the P99 of the planner's length atoms) while the link's
  congestion is sustained (a local backlog drains at the local pool's spare capacity, slowly, and
  delays every local request, where a link backlog clears as soon as the bandwidth returns: only a
  congestion forecast to last is worth one); it falls by the same factor while the local pool is
  the bottleneck (-x > raise_s, or W_loc above that room with t_eff above t), and moves back toward the planner's t
  once the imbalance that moved it has fallen under settle_s (x < settle_s above t, -x < settle_s
  below); otherwise it holds (hysteresis). t_eff stays within [t / max_factor, t x max_factor], and
  rises no further than the crossover: the longest atom the local pool would still finish first
  given x (local - PrfaaS prefill latency - its KV's transfer at the bandwidth now <= x; `_crossover`).
  Past it a higher t_eff moves no request (the never-later rule below keeps them), and on a
  constant link such a wind-up on random PrfaaS-queue excursions (up to 6x t for tens of seconds)
  held the time average 11% above t. Raising t keeps the longest prompts on the thin link: they carry the most compute
  per KV byte (KV grows linearly with length, prefill faster), so the local pool absorbs the most
  link bytes per second of its time from the shortest offloaded prompts;
- the link's sender (`link_order`): with "sjf" (default) a finished KV waits at the PrfaaS cluster
  (where it already sits, in HBM or the host-memory KV store, under any discipline: held bytes are
  the link's unsent bytes) and is sent smallest first, at most `link_inflight_s` seconds of the
  bandwidth then in flight. Shortest-first keeps the fewest requests waiting at every instant
  (Schrage 1968), so when the link is far over-subscribed the delay falls on the largest KVs,
  which wait for the bandwidth to return, instead of on every transfer in flight as under
  processor sharing ("ps", static's model). A per-request transfer engine (Mooncake's submits each
  request's KV as its own batch of slices) can hold and order submissions this way. The bytes the
  link sends per second are the same under any order (each keeps the link busy whenever KV waits),
  so the signals below do not depend on it;
- capacity on the short timescale (`borrow_decode`): when the link's congestion is sustained (a
  backlog that outlasts the conversion), the decode instances the last minute's decode load leaves
  idle (BORROW_WINDOW_S: arrivals x mean output x step time against the slots of the remaining
  decode instances, at utilisation <= 1) are lent to the local prefill pool, serving there after
  the drain delay; they return once D_link and W_loc are both under settle_s. The remaining
  decode instances then run near saturation: the report's decode-slot wait shows the cost (it
  delays the second token, not the first);
- a request goes where t_eff sends it, but it leaves its planned route (uncached length vs the
  planner's t) only if its expected first-token time there is no later than on the planned route:
  the scheduler never moves a request to the cluster that would finish it later. (Applied to every
  request it would send each short prompt to the faster PrfaaS GPUs and undo the plan's split;
  applied to deviations it makes each reroute a win for the request rerouted.) Expected times:
  local = pool free + T_local; PrfaaS = max(prefill end, max(join, now + D_link) + S / B_now) + RTT;
- pricing the delay a move imposes (`price_delay`): while the link's congestion is sustained, a
  deviation to the local pool must also not add delay in total. Its cost there is the request's
  local busy time spread over the pool's instances, for every local-bound request expected to
  arrive while the pool's backlog lasts (the last BORROW_WINDOW_S's local-bound rate x W_loc: FCFS,
  each starts that much later); on the PrfaaS path, with the sjf sender, its send time at the
  bandwidth now for every larger KV already given to the link (all of them with "ps", none known
  with "fifo"). The move is kept only if local + its cost there <= PrfaaS + its cost there (and,
  as always, local <= PrfaaS). Under a shortest-first sender the largest KVs delay nobody on the
  link while locally they hold an instance for tens of seconds, so they stay on the link and the
  local pool takes the mid-size ones: what the hindsight oracle's routes do (README 'Scheduling');
- shedding (`shed_local`): while the local pool is the bottleneck (W_loc - D_off > raise_s, the
  condition on which t_eff falls), every local-bound request, not only those in the band t_eff
  moves, goes to PrfaaS when it is expected to finish there first. After a link drop the local
  backlog built during it is then unwound by the short prompts at once (a short prompt's KV costs
  the recovered link milliseconds) rather than by t_eff falling 10% a tick from the longest down.
  One-sided on purpose: the same rule for offload-bound requests while the link is the bottleneck
  (each request to the path it would finish first on) floods the local pool, whose backlog drains
  only at its spare capacity and delays every later local request (README 'Scheduling').
Long timescale (`rebalance_interval_s`): every interval a callback re-plans from the window's
observed uncached lengths, outputs and rate (`plan.rebalance.replan_split`); instances that change
role stop taking work at once and serve in their new role after `drain_delay_s`; the plan's t
becomes the new target of t_eff.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.sim.engine import Arr, SimConfig, SimRecords, finish

INF = math.inf
# Arrivals the decode load is estimated from before lending decode instances: a minute (about 180
# requests at the paper scenario's rate: the load known to about +-7%).
BORROW_WINDOW_S = 60.0  # also the window of the KV rate offered to the link (`_backlog_ahead`) and of the
# local-bound arrival rate a move to the local pool is priced with (`_local_externality`)
LINK_ORDERS = ("sjf", "fifo", "ps")


@dataclass(frozen=True)
class AdaptivePolicy:
    """Parameters of the short- and long-timescale policy, each with its reason."""

    # Link utilisation window: several transfers long (a 30K-token KV crosses 100 Gbps in ~0.07 s,
    # 4 Gbps in ~1.7 s) yet short enough to react within seconds of a drop.
    window_s: float = 5.0
    # Control period and resolution of the reported time series.
    tick_s: float = 1.0
    # Imbalance that counts as a bottleneck: about the paper scenario's unloaded TTFT (2.2 s), i.e.
    # a request would wait longer than it is served.
    raise_s: float = 2.0
    # Hysteresis: t_eff returns toward the plan only once the paths are within this of each other
    # (a quarter of raise_s, so a queue hovering near the trigger does not flap the threshold).
    settle_s: float = 0.5
    # Link at its ceiling: at 90% of the current capacity, queueing delay is ~10x the transfer time.
    util_high: float = 0.9
    # Multiplicative change per tick: t doubles in ~7 ticks. (0.25 reacted no better to the
    # paper scenario's drop and wandered 25% above t on a constant link; see benchmarks/scheduler.py.)
    step: float = 0.1
    # t_eff stays within [t / max_factor, t x max_factor].
    max_factor: float = 8.0
    # Long timescale: re-plan period (None: off) and the time an instance changing role takes to
    # drain (a decode batch of 1,024 output tokens at 25 ms/step ends within 25.6 s; a prefill
    # instance finishes its current prompt in a few seconds).
    rebalance_interval_s: float | None = None
    drain_delay_s: float = 30.0
    # Lend decode instances to the local prefill pool while the link's backlog (at the bandwidth
    # then) exceeds the drain delay, as many as the last minute's decode load leaves idle.
    borrow_decode: bool = True
    # Local queue wait up to which t_eff may still rise while the link's congestion is sustained
    # (its backlog forecast one drain delay ahead still exceeds the drain delay, `_backlog_ahead`);
    # otherwise the bottleneck delay raise_s (no local backlog; so it must be >= raise_s). A link
    # backlog clears within seconds of the bandwidth returning; a local one drains only at the local
    # pool's spare capacity and delays every local request, so this trades mean TTFT for the tail.
    # None: the local prefill latency at the P99 of the planner's length atoms (`LengthAtoms`:
    # known before the run, the same for every seed; at least raise_s), a wait on the scale of the
    # slowest local prefills (19.6 s in the paper scenario). That scale is a choice, not a
    # derivation, made in view of the paper scenario's 4-Gbps drop (README 'Scheduling').
    local_wait_max_s: float | None = None
    # The egress link's sender. "sjf": finished KV waits at the PrfaaS cluster and is sent smallest
    # first, with at most link_inflight_s seconds of the bandwidth then in flight (shortest-first
    # keeps the fewest requests waiting at every instant: Schrage 1968; pFabric approximates it in
    # datacenter transports); "fifo": in join order; "ps": every finished KV at once, sharing the
    # link (static's model: TCP flows' fair share).
    link_order: str = "sjf"
    # One second of the bandwidth: far above the bandwidth-delay product (100 Gbps x 10 ms = 125
    # MB), so the pipe stays full, and at 4 Gbps (0.5 GB) one paper-sized KV at a time.
    link_inflight_s: float = 1.0
    # Sustained congestion must have been forecast at every tick for this fraction of the drain
    # delay: a loan serves only a drain delay after it is decided, and the forecast assumes the
    # bandwidth now lasts, so a dip of a few seconds (a fade, a burst) would otherwise pay a decode
    # instance and a local backlog for nothing (README 'Scheduling': 2-, 3- and 10-s dips).
    persist: float = 0.5
    # While the local pool is the bottleneck (its wait exceeds the PrfaaS path's delay by raise_s, the
    # condition on which t_eff falls), every local-bound request goes to PrfaaS when it is expected to
    # finish there first (`_Scheduler.route`). A local backlog drains only at the local pool's spare
    # capacity and delays every later local request (FCFS); lowering t_eff 10% a second moves the
    # longest local-bound prompts first and reaches the short ones only after tens of seconds (after the
    # 4-Gbps drop the local backlog built during it took ~40 s to clear). The rule is one-sided on
    # purpose: applied to offload-bound requests while the link is the bottleneck it floods the local
    # pool (README 'Scheduling', "What was tried": P99 0.50-0.82x, mean up to 1.43x of static on the 120-s drop).
    shed_local: bool = True
    # While the link's congestion is sustained, a deviation from the planned route to the local pool
    # must also not add delay in total: the request's own expected completion plus the delay it
    # imposes on the local-bound requests that will queue behind it (FCFS: its busy time over the
    # pool's instances, for each local-bound arrival expected while the pool's backlog lasts) is
    # compared with its PrfaaS completion plus the delay it imposes there (with the sjf sender: its
    # send time, for each larger KV already given to the link). Under a shortest-first sender the
    # largest KVs delay nobody on the link while locally they hold an instance for tens of seconds:
    # they stay on the link, the local pool takes the mid-size ones (`_Scheduler._local_externality`,
    # `_link_externality`; README 'Scheduling', from the hindsight oracle's routes).
    price_delay: bool = True

    def problems(self) -> list[tuple[str, str]]:
        """(parameter, message) for each invalid value."""
        bad = []
        for name in ("window_s", "tick_s", "raise_s", "settle_s", "step", "drain_delay_s", "local_wait_max_s",
                     "link_inflight_s"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                bad.append((name, f"must be a positive number, got {v!r}"))
        if not (math.isfinite(self.persist) and self.persist >= 0):
            bad.append(("persist", f"must be a non-negative number, got {self.persist!r}"))
        if not (0 < self.util_high <= 1):
            bad.append(("util_high", f"must be in (0, 1], got {self.util_high!r}"))
        if not self.max_factor >= 1:
            bad.append(("max_factor", f"must be >= 1, got {self.max_factor!r}"))
        if self.link_order not in LINK_ORDERS:
            bad.append(("link_order", f"unknown link order {self.link_order!r} (one of {', '.join(LINK_ORDERS)})"))
        lw = self.local_wait_max_s
        if lw is not None and math.isfinite(lw) and lw > 0 and lw < self.raise_s:
            bad.append(("local_wait_max_s", f"{lw:g} s is below the bottleneck delay raise_s ({self.raise_s:g} s): "
                        "the allowance while congestion lasts would be tighter than the ordinary one"))
        if self.settle_s > self.raise_s:
            bad.append(("settle_s", "must not exceed raise_s (the hysteresis band would be empty)"))
        r = self.rebalance_interval_s
        if r is not None and not (math.isfinite(r) and r > 0):
            bad.append(("rebalance_interval_s", f"must be a positive number, got {r!r}"))
        elif r is not None and r < self.drain_delay_s:
            bad.append(("rebalance_interval_s", f"{r:g} s is shorter than the drain delay ({self.drain_delay_s:g} s): "
                        "instances would be re-planned before the last change took effect"))
        return bad


@dataclass(frozen=True)
class LengthAtoms:
    """The planner's uncached-length atoms (equally likely, sorted) and each route's prefill latency
    on them (`plan.throughput.RouteModel`: atoms, t_local, t_prfaas): the length distribution the
    policy knows before the run."""

    tokens: Arr
    t_local_s: Arr
    t_prfaas_s: Arr
    kv_bytes: Arr  # KV sent over the link if offloaded

    def local_p99_s(self) -> float:
        """Local prefill latency at the distribution's P99 length (the default local allowance)."""
        return float(np.quantile(self.t_local_s, 0.99)) if len(self.t_local_s) else 0.0


@dataclass(frozen=True)
class Alternatives:
    """Per request, what each route costs (arrays aligned with the arrivals)."""

    route_tokens: Arr  # length the threshold rule compares with t
    t_local_s: Arr  # prefill latency (seconds to the first token's KV) if local
    t_prfaas_s: Arr  # prefill latency if offloaded
    busy_local_s: Arr  # seconds the local instance is occupied (<= latency; `engine` module docstring)
    busy_prfaas_s: Arr  # seconds the PrfaaS instance is occupied
    kv_prfaas_bytes: Arr  # KV sent over the link if offloaded
    kv_local_bytes: Arr  # KV the request leaves if local (recorded, never sent)
    move_local_bytes: Arr  # prefix moved PrfaaS -> PD over the link if local (0: none)
    release_prfaas_s: Arr  # delay before the PrfaaS prefill may start (prefix moved PD -> PrfaaS)


# (lengths, outputs, rate, current N_p) -> N_p, N_d, t
Replanner = Callable[[Arr, Arr, float, int], tuple[int, int, float]]


@dataclass
class Series:
    """One row per tick (per second by default), at the tick's instant."""

    time_s: list[float] = field(default_factory=list)
    threshold_tokens: list[float] = field(default_factory=list)
    link_utilization: list[float] = field(default_factory=list)  # over the tick just ended
    link_drain_s: list[float] = field(default_factory=list)
    prfaas_queue_s: list[float] = field(default_factory=list)
    local_queue_s: list[float] = field(default_factory=list)
    bandwidth_gbps: list[float] = field(default_factory=list)
    pd_prefill_instances: list[int] = field(default_factory=list)


@dataclass
class AdaptiveResult:
    records: SimRecords
    planned_offload: NDArray[np.bool_]  # the route the plan in force at arrival would have taken
    rerouted: int
    series: Series
    changes: list[dict[str, float]]
    local_wait_max_s: float  # the policy's, or the default resolved from the planner's length atoms


class LinkState:
    """The egress link advanced in time as `engine._link` models it (processor sharing, bandwidth
    x factor per 1-s slot), fed joins as requests are routed; tracks bytes committed and sent."""

    def __init__(self, bytes_per_s: float, factors: Arr | None) -> None:
        self.bw = bytes_per_s
        self.fl = factors.tolist() if factors is not None else None
        self.t = 0.0
        self.active: dict[int, float] = {}
        self.pend: list[tuple[float, int, float]] = []
        self.seq = 0
        self.unsent = 0.0  # committed (joined or pending) and not yet sent
        self.sent = 0.0

    def rate(self, t: float) -> float:
        return self.bw * (self.fl[int(t) % len(self.fl)] if self.fl else 1.0)

    def add(self, join_s: float, nbytes: float) -> None:
        heapq.heappush(self.pend, (join_s, self.seq, nbytes))
        self.seq += 1
        self.unsent += nbytes

    def drain_s(self, t: float) -> float:
        """Time the link needs at its current bandwidth to send what it has been given."""
        if self.unsent <= 0:
            return 0.0
        r = self.rate(t)
        return self.unsent / r if r > 0 else INF

    def advance(self, until: float) -> None:
        t, act, pend = self.t, self.active, self.pend
        while True:
            while pend and pend[0][0] <= t:
                _, s, b = heapq.heappop(pend)
                act[s] = b
            if t >= until:
                break
            nxt = pend[0][0] if pend else INF
            if not act:
                t = min(nxt, until)
                continue
            share = self.rate(t) / len(act)
            rem_min = min(act.values())
            t_done = t + rem_min / share if share > 0 else INF
            t_next = min(nxt, t_done, float(int(t) + 1) if self.fl else INF, until)
            sent = share * (t_next - t)
            t = t_next
            cut = rem_min * (1 + 1e-9) if t_next == t_done else sent
            done = [j for j, r in act.items() if r <= cut or r - sent <= 1e-9 * r]
            moved = 0.0
            for j in act:
                moved += min(act[j], sent)
                act[j] -= sent
            for j in done:
                moved += max(act.pop(j), 0.0)
            self.sent += moved
            self.unsent = max(self.unsent - moved, 0.0)
        self.t = max(self.t, until)


class _Scheduler:
    """The state the adaptive policy reads and the decisions it commits, in arrival order."""

    def __init__(self, a: Arr, alt: Alternatives, out: Arr, cfg: SimConfig, pol: AdaptivePolicy,
                 t_plan: float, replan: Replanner | None, atoms: LengthAtoms) -> None:
        n = len(a)
        self.a, self.alt, self.out, self.cfg, self.pol, self.replan = a, alt, out, cfg, pol, replan
        self.prf = [0.0] * cfg.n_prfaas
        self.loc = [0.0] * cfg.n_pd_prefill
        self.n_p = cfg.n_pd_prefill
        self.link = LinkState(cfg.link_bytes_per_s, cfg.bandwidth_factors)
        self.t_plan = self.t_eff = t_plan
        self.off = np.zeros(n, bool)
        self.n_local = [0] * (n + 1)  # local-routed requests among the first i (`_local_externality`)
        self.planned = np.zeros(n, bool)
        self.rerouted = 0
        self.series = Series()
        self.sent_hist: list[float] = [0.0]  # link bytes sent at each tick (index 0: time 0)
        self.committed_hist: list[float] = [0.0]  # link bytes committed (sent or not) by each tick
        self.decode_changes: list[tuple[float, int]] = []
        self.changes: list[dict[str, float]] = []
        self.rb_start = 0
        self.next_rb = pol.rebalance_interval_s or INF
        self.a_l, self.L_l = a.tolist(), alt.route_tokens.tolist()
        self.tl_l, self.tp_l = alt.t_local_s.tolist(), alt.t_prfaas_s.tolist()
        self.S_l, self.mv_l = alt.kv_prfaas_bytes.tolist(), alt.move_local_bytes.tolist()
        self.rel_l = alt.release_prfaas_s.tolist()
        self.bl_l, self.bp_l = alt.busy_local_s.tolist(), alt.busy_prfaas_s.tolist()
        self.ps_l, self.pe_l = [0.0] * n, [0.0] * n
        self.bw_nom = cfg.link_bytes_per_s
        self.borrowed = 0  # decode instances lent to the prefill pool (`_borrow`)
        self.forecast_since = INF  # first tick of the current run of congestion forecasts (`_sustained`)
        self.sustained = False  # the link's congestion is sustained (`tick`)
        self.shedding = False  # the local pool is the bottleneck (`tick`; `route` sheds local-bound requests)
        lw = pol.local_wait_max_s
        self.local_room = lw if lw is not None else max(atoms.local_p99_s(), pol.raise_s)
        self.atoms, self.kv_atoms = atoms, atoms.kv_bytes
        self.gap = atoms.t_local_s - atoms.t_prfaas_s  # local minus PrfaaS prefill latency (`_crossover`)
        self.dsvc = np.maximum(out, 1.0) * cfg.decode_step_s  # slot-seconds each request's decode holds

    def capacity(self, t0: float, t1: float) -> float:
        """Bytes the link could send in [t0, t1] (bandwidth x factor per 1-s slot)."""
        if self.link.fl is None:
            return self.link.bw * (t1 - t0)
        tot, t = 0.0, t0
        while t < t1:
            nxt = min(float(int(t) + 1), t1)
            tot += self.link.rate(t) * (nxt - t)
            t = nxt
        return tot

    def tick(self, T: float, i: int) -> None:
        pol, link = self.pol, self.link
        link.advance(T)
        self.sent_hist.append(link.sent)
        self.committed_hist.append(link.sent + link.unsent)
        k = len(self.sent_hist) - 1
        w = max(int(round(pol.window_s / pol.tick_s)), 1)
        cap_w = self.capacity(max(T - w * pol.tick_s, 0.0), T)
        util_w = (link.sent - self.sent_hist[max(k - w, 0)]) / cap_w if cap_w > 0 else 1.0
        cap_1 = self.capacity(T - pol.tick_s, T)
        w_p = max(self.prf[0] - T, 0.0) if self.prf else INF
        w_l = max(self.loc[0] - T, 0.0) if self.loc else INF
        d = link.drain_s(T)
        sustained = self._sustained(T, d > max(w_p, pol.raise_s) and self._backlog_ahead(T) > pol.drain_delay_s)
        self._control(max(w_p, d), w_l, util_w >= pol.util_high, sustained, link.rate(T))
        self.sustained = sustained
        self.shedding = pol.shed_local and w_l - max(w_p, d) > pol.raise_s
        self._borrow(T, i, sustained, d, w_l)
        s = self.series
        s.time_s.append(T)
        s.threshold_tokens.append(self.t_eff)
        s.link_utilization.append((link.sent - self.sent_hist[k - 1]) / cap_1 if cap_1 > 0 else 0.0)
        s.link_drain_s.append(d)
        s.prfaas_queue_s.append(w_p)
        s.local_queue_s.append(w_l)
        s.bandwidth_gbps.append(link.rate(T) * 8 / 1e9)
        s.pd_prefill_instances.append(self.n_p)
        r = pol.rebalance_interval_s
        if r is not None and T >= self.next_rb - 1e-9:
            self.next_rb += r
            self._rebalance(T, i, r)

    def _control(self, d_off: float, w_l: float, link_full: bool, sustained: bool, bw: float) -> None:
        """The short-timescale rule on t_eff (module docstring)."""
        tp, pol = self.t_plan, self.pol
        room = self.local_room if sustained else pol.raise_s
        if not math.isfinite(tp) or tp <= 0:
            return
        up, t = 1.0 + pol.step, self.t_eff
        congested = d_off - w_l > pol.raise_s or (link_full and d_off - w_l > pol.settle_s)
        if congested and w_l < room:
            t = min(t * up, tp * pol.max_factor, max(self._crossover(d_off - w_l, bw), t))
        elif w_l - d_off > pol.raise_s or (w_l > room and t > tp):
            t = max(t / up, tp / pol.max_factor)
        elif (t > tp and d_off - w_l < pol.settle_s) or (t < tp and w_l - d_off < pol.settle_s):
            t = max(tp, t / up) if t > tp else min(tp, t * up)
        self.t_eff = t

    def _crossover(self, x: float, bw: float) -> float:
        """The longest atom the local pool would finish first with the PrfaaS path x seconds more
        delayed than the local one and the link at `bw` bytes/s (local minus PrfaaS prefill latency
        minus its KV's transfer <= x; INF when every atom would): raising t_eff past it moves no
        request (`route` keeps a request on its planned route unless the other is expected to
        finish it no later), so the threshold does not wind up beyond it on a queue fluctuation."""
        if bw <= 0:
            return INF
        ok = np.flatnonzero(self.gap - self.kv_atoms / bw <= x)
        return INF if len(ok) == len(self.gap) else (float(self.atoms.tokens[ok[-1]]) if len(ok) else 0.0)

    def _rebalance(self, T: float, i: int, interval: float) -> None:
        """Long timescale: re-plan from the arrivals of the last interval; convert instances."""
        lo, self.rb_start = self.rb_start, i
        if i - lo < 2 or self.replan is None:
            return
        n_p, n_d, t_new = self.replan(self.alt.route_tokens[lo:i], self.out[lo:i], (i - lo) / interval, self.n_p)
        ratio = self.t_eff / self.t_plan if math.isfinite(self.t_plan) and self.t_plan > 0 else 1.0
        self.t_plan = t_new
        self.t_eff = t_new * ratio if math.isfinite(t_new) else t_new
        self.borrowed = 0  # the re-plan decides the whole split, loans included
        if n_p != self.n_p:
            self._convert(T, n_p - self.n_p, {"threshold_tokens": t_new, "window_requests": float(i - lo),
                                              "window_rps": (i - lo) / interval, "borrow": 0.0})

    def _convert(self, T: float, d: int, info: dict[str, float]) -> None:
        """Move d local instances from decode to prefill (d > 0) or back (d < 0), each serving in
        its new role after the drain delay."""
        slots, drain = self.cfg.decode_slots_per_instance, self.pol.drain_delay_s
        if d < 0:  # prefill -> decode: the instance frees first, then drains
            for _ in range(-d):
                f = heapq.heappop(self.loc)
                self.decode_changes.append((max(T, f) + drain, slots))
        else:  # decode -> prefill: its batch drains, then it prefills
            self.decode_changes.append((T, -d * slots))
            for _ in range(d):
                heapq.heappush(self.loc, T + drain)
        n_local = self.cfg.n_pd_prefill + self.cfg.n_pd_decode
        self.changes.append({"time_s": T, "pd_prefill_from": float(self.n_p), "pd_prefill_to": float(self.n_p + d),
                             "pd_decode_to": float(n_local - self.n_p - d), "effective_s": T + drain,
                             "threshold_tokens": self.t_plan, "window_requests": 0.0, "window_rps": 0.0, **info})
        self.n_p += d

    def _sustained(self, T: float, forecast: bool) -> bool:
        """The link's congestion counts as sustained once the forecast has held at every tick for
        `persist` x the drain delay (a dip shorter than that lends nothing and opens no local backlog)."""
        if not forecast:
            self.forecast_since = INF
            return False
        self.forecast_since = min(self.forecast_since, T)
        return T - self.forecast_since >= self.pol.persist * self.pol.drain_delay_s - 1e-9

    def _backlog_ahead(self, T: float) -> float:
        """The link's backlog one drain delay ahead, in seconds at the bandwidth now: bytes unsent
        plus (KV offered per second over the last BORROW_WINDOW_S - the bandwidth now) x the drain
        delay (what a lent instance would still find when it starts serving)."""
        pol, hist = self.pol, self.committed_hist
        w = min(max(int(round(BORROW_WINDOW_S / pol.tick_s)), 1), len(hist) - 1)
        r = self.link.rate(T)
        if r <= 0:
            return INF
        offered = (hist[-1] - hist[-1 - w]) / (w * pol.tick_s) if w > 0 else 0.0
        return (self.link.unsent + (offered - r) * pol.drain_delay_s) / r

    def _borrow(self, T: float, i: int, sustained: bool, d_link: float, w_l: float) -> None:
        """Short-timescale capacity: lend the local prefill pool the decode instances the decode load
        can spare while the link's backlog outlasts the drain delay; give them back once both paths
        are clear (module docstring)."""
        pol = self.pol
        if not pol.borrow_decode:
            return
        if self.borrowed == 0 and sustained:
            lo = bisect.bisect_left(self.a_l, T - BORROW_WINDOW_S, 0, i)
            if i - lo < 2:
                return
            n_local = self.cfg.n_pd_prefill + self.cfg.n_pd_decode
            dec_load = (i - lo) / min(BORROW_WINDOW_S, T) * float(np.mean(self.dsvc[lo:i]))
            spare = int(n_local - self.n_p - dec_load / self.cfg.decode_slots_per_instance)
            if spare >= 1:
                self.borrowed = spare
                self._convert(T, spare, {"window_requests": float(i - lo), "window_rps": (i - lo) / min(BORROW_WINDOW_S, T),
                                         "borrow": float(spare)})
        elif self.borrowed > 0 and d_link < pol.settle_s and w_l < pol.settle_s:
            self._convert(T, -self.borrowed, {"borrow": float(-self.borrowed)})
            self.borrowed = 0

    def route(self, i: int) -> None:
        """Route request i at its arrival. The link needs advancing only to price a deviation: every
        join it is given lies at or after the arrival that made it, so it may lag behind."""
        a, L = self.a_l[i], self.L_l[i]
        prf = self.prf
        planned = L > self.t_plan and bool(prf)
        go = L > self.t_eff and bool(prf)
        if go != planned:
            self.link.advance(a)
            el = self._expected_local(a, self.tl_l[i], self.mv_l[i])
            ep = self._expected_prfaas(a, self.tp_l[i], self.S_l[i], self.rel_l[i])
            if (ep > el) if go else (el > ep or self._adds_delay(i, a, el, ep)):
                go = planned
            else:
                self.rerouted += 1
        elif not go and self.shedding and prf:
            # the local pool is the bottleneck: a local-bound request goes where it finishes first
            self.link.advance(a)
            if self._expected_prfaas(a, self.tp_l[i], self.S_l[i], self.rel_l[i]) < self._expected_local(
                    a, self.tl_l[i], self.mv_l[i]):
                go = True
                self.rerouted += 1
        if planned:
            self.planned[i] = True
        if go:
            self.off[i] = True
            tp, S = self.tp_l[i], self.S_l[i]
            f = heapq.heappop(prf)
            r = a + self.rel_l[i]
            st = r if r > f else f
            heapq.heappush(prf, st + self.bp_l[i])
            self.ps_l[i], self.pe_l[i] = st, st + tp
            j = st + tp - S / self.bw_nom
            self.link.add(st if st > j else j, S)
        else:
            tl = self.tl_l[i]
            loc = self.loc
            f = heapq.heappop(loc) if loc else INF
            st = a if a > f else f
            if f < INF:
                heapq.heappush(loc, st + self.bl_l[i])
            self.ps_l[i], self.pe_l[i] = st, st + tl
            mv = self.mv_l[i]
            if mv > 0:
                self.link.add(a, mv)
        self.n_local[i + 1] = self.n_local[i] + (not go)

    def _adds_delay(self, i: int, a: float, el: float, ep: float) -> bool:
        """`AdaptivePolicy.price_delay`: moving request i to the local pool adds delay in total."""
        if not (self.pol.price_delay and self.sustained):
            return False
        return el + self._local_externality(i, a) > ep + self._link_externality(i, a)

    def _local_externality(self, i: int, a: float) -> float:
        """The delay request i, moved to the local pool,
        imposes on the local-bound requests that will queue behind it: its busy time spread over the
        pool's instances, times the local-bound arrivals expected while the pool's backlog lasts (the
        last BORROW_WINDOW_S's local-bound arrival rate x the current wait). FCFS: each of them
        starts that much later."""
        w = (self.loc[0] - a) if self.loc else 0.0
        if w <= 0.0:
            return 0.0
        n = self.n_local[i] - self.n_local[bisect.bisect_right(self.a_l, a - BORROW_WINDOW_S, 0, i)]
        return self.bl_l[i] / self.n_p * (n / BORROW_WINDOW_S) * w

    def _link_externality(self, i: int, a: float) -> float:
        """The delay request i, offloaded, imposes on the
        KVs already given to the link that a shortest-first sender sends after it (the larger ones):
        its send time at the bandwidth now, each. The largest KVs delay no one; mid-size ones delay
        the whole tail behind them. With the "ps" sender it shares the link with every KV given to
        it (all are delayed); with "fifo" only later joins, unknown at the decision (0)."""
        order = self.pol.link_order
        if order == "fifo":
            return 0.0
        S, r = self.S_l[i], self.link.rate(a)
        if r <= 0:
            return INF
        floor = S if order == "sjf" else -1.0
        n = sum(1 for b in self.link.active.values() if b > floor) + sum(1 for p in self.link.pend if p[2] > floor)
        return S / r * n

    def _expected_local(self, a: float, tl: float, mv: float) -> float:
        e = max(a, self.loc[0] if self.loc else INF) + tl
        if mv > 0:
            r = self.link.rate(a)
            e = max(e, a + (self.link.unsent + mv) / r + self.cfg.rtt_s if r > 0 else INF)
        return e

    def _expected_prfaas(self, a: float, tp: float, S: float, rel: float) -> float:
        """Expected first-token time if offloaded: the KV leaves once the link has sent what it
        holds (now + D_link), then takes S at the bandwidth now. An approximation: it is the drain
        of a FIFO sender (and roughly of processor sharing); the sjf sender sends a small KV ahead
        of a backlog of larger ones and a large one after later small ones, so the estimate is
        pessimistic for small KVs and optimistic for large ones under sustained congestion."""
        st = max(a + rel, self.prf[0])
        pe = st + tp
        join = max(st, pe - S / self.cfg.link_bytes_per_s)
        r = self.link.rate(a)
        if r <= 0:
            return INF
        return max(pe, max(join, a + self.link.drain_s(a)) + S / r) + self.cfg.rtt_s


def simulate_adaptive(arrival_s: Arr, alt: Alternatives, output_tokens: Arr, cfg: SimConfig, policy: AdaptivePolicy,
                      threshold_tokens: float, replan: Replanner | None = None, *,
                      atoms: LengthAtoms) -> AdaptiveResult:
    """Route every request at its arrival with the adaptive policy, then finish the run as `static`
    does. `threshold_tokens` is the planner's t (the policy's target)."""
    a = np.asarray(arrival_s, dtype=float)
    out = np.asarray(output_tokens, dtype=float)
    sch = _Scheduler(a, alt, out, cfg, policy, threshold_tokens, replan, atoms)
    T = policy.tick_s
    for i, ai in enumerate(sch.a_l):
        while T <= ai:
            sch.tick(T, i)
            T += policy.tick_s
        sch.route(i)
    if len(a):
        sch.tick(T, len(a))  # the state just after the last arrival's tick
    off = sch.off
    S = np.where(off, alt.kv_prfaas_bytes, alt.kv_local_bytes)
    mv = np.where(off, 0.0, alt.move_local_bytes)
    run_cfg = dataclasses.replace(cfg, link_order=policy.link_order, link_inflight_s=policy.link_inflight_s)
    rec = finish(a, off, np.array(sch.ps_l), np.array(sch.pe_l), S, out, mv, run_cfg, sorted(sch.decode_changes))
    return AdaptiveResult(rec, sch.planned, sch.rerouted, sch.series, sch.changes, sch.local_room)


def alternatives(input_tokens: Arr, prefix_pd: Arr, prefix_prfaas: Arr, mode: str,
                 t_local: Callable[[Arr], Arr], t_prfaas: Callable[[Arr], Arr], kv: Callable[[Arr], Arr],
                 egress_bytes_per_s: float, rtt_s: float, s_local: Callable[[Arr], Arr] | None = None,
                 s_prfaas: Callable[[Arr], Arr] | None = None) -> Alternatives:
    """What each route costs a request, from its input length and the prefix each cluster holds.

    mode "shared": one logical cache (prefix_pd = prefix_prfaas = the cached prefix); "scarce" /
    "abundant": the paper's rules with one cache per cluster (`traces.route_two_caches`): scarce
    prefills l_total - l_cluster where it runs; abundant prefills l_total - max(l_pd, l_prfaas) and
    moves the longer prefix to where it runs first (to PD over the egress link; to PrfaaS over the
    reverse direction, delaying its prefill). The caches' contents follow the planned routes (an
    approximation for the requests the adaptive scheduler moves). `s_local` / `s_prfaas`: each
    pool's occupancy profile (None: the latency), as `engine.simulate` takes them."""
    inp = np.asarray(input_tokens, dtype=float)
    a, b = np.asarray(prefix_pd, dtype=float), np.asarray(prefix_prfaas, dtype=float)
    z = np.zeros(len(inp))
    if mode == "abundant":
        best = np.maximum(a, b)
        route = loc = prf = inp - best
        to_pd, to_pf = np.maximum(b - a, 0.0), np.maximum(a - b, 0.0)
    else:
        route = loc = inp - a
        prf = inp - b
        to_pd = to_pf = z

    def moved(tok: Arr) -> Arr:  # KV of the extra prefix tokens plus the state at its end
        return np.where(tok > 0, np.asarray(kv(np.maximum(tok, 1.0)), dtype=float), 0.0)

    pf_bytes = moved(to_pf)
    tl, tp = np.asarray(t_local(loc), dtype=float), np.asarray(t_prfaas(prf), dtype=float)
    bl = tl if s_local is None else np.minimum(np.asarray(s_local(loc), dtype=float), tl)
    bp = tp if s_prfaas is None else np.minimum(np.asarray(s_prfaas(prf), dtype=float), tp)
    return Alternatives(route, tl, tp, bl, bp, np.asarray(kv(prf), dtype=float), np.asarray(kv(loc), dtype=float),
                        moved(to_pd),
                        np.where(pf_bytes > 0, pf_bytes / egress_bytes_per_s + rtt_s, 0.0))
