"""What ANY routing could achieve on the link-drop acceptance run (#15): a hindsight search and a bound.

Run: python benchmarks/scheduler_oracle.py --seed 0 [--budget-s 180] [--loan adaptive|none|drop]

The scenario is the acceptance's: paper plan, Poisson at 80% load, 900 s, the link at 4 Gbps over
[300, 420) s (`scheduler.setup(drop=True, seed=...)`). Figures are over the requests counted as
`prfaas simulate` counts them (the first 10% of arrivals skipped).

1. Hindsight search (an ACHIEVABLE figure: an upper bound on the best P99, not a proof of what no
   routing can beat). Knowing every arrival and the bandwidth trace, it chooses per request PrfaaS
   or local and evaluates each candidate with the project's own simulator: `sim.replay` times the
   routes exactly as the adaptive run would (same FCFS pools, the adaptive scheduler's sjf KV sender,
   the decode loans given; replaying the adaptive run's own routes reproduces its records bit for
   bit). Objective: the P99 TTFT, subject to the mean TTFT no higher than static's (the acceptance's
   two conditions); ties broken by the sum of the 25 TTFTs at and just below the P99 rank (lowering
   them is what makes room for a lower P99). Moves, each accepted only if it improves: flip one
   request arriving in the search window (default [250, 480] s); flip one of the 60 longest; flip a
   request offloaded in the minute before one of the 60 longest (it competes for the link); swap a
   tail request's route with an opposite-route request of the window. Restarts from the adaptive
   run's routes, from static's, and from perturbations of the best so far, each climb followed by
   one from its best pruned: every change from adaptive's routes undone where the P99 does not rise
   (hill climbing accepts changes that spend the mean's room for nothing, and the constraint then
   blocks the changes that matter). Loans (`--loan`): the adaptive run's
   (decided when the policy decided them), none, or one instance decided at the drop's start (300 s,
   serving from 330 s: earlier than the policy can know the drop will last; it costs the decode pool,
   whose slot wait is reported, and TTFT does not include it).
2. Lower bound (valid for every routing, any KV sender order, and a local prefill pool of at most
   its planned instances plus `--bound-lent` (default 1) lent instances over the whole window).
   For a window [s, e] and a target X, every counted request i arriving in [s, e - X] that has
   TTFT <= X either (a) is offloaded: its KV (S_i bytes) leaves after its prefill starts, i.e. after
   a_i >= s, and has arrived by a_i + X <= e, so all S_i bytes cross the link within [s, e], and it
   needs T_prfaas,i + RTT <= X; or (b) is local: its prefill starts at or after a_i >= s and ends by
   a_i + X <= e, so its instance occupancy b_i (<= the latency T_local,i) lies within [s, e], and it
   needs T_local,i <= X. The link sends at most C_link = its capacity over [s, e] (bytes sent per
   second never exceed the bandwidth then, whatever the order), and the local pool at most
   C_loc = instances x (e - s) instance-seconds. So the number of such requests that can meet X is
   at most the optimum K of the LP relaxation: maximise sum(x_i + y_i) subject to x_i + y_i <= 1,
   sum x_i S_i <= C_link, sum y_i b_i <= C_loc, 0 <= x, y (x_i = 0 / y_i = 0 where (a) / (b) is
   impossible); everything else dropped (the backlogs at s, requests outside the set, PrfaaS
   prefill capacity) only loosens it. At least M(X) = |set| - floor(K) of them exceed X. The P99
   (numpy's linear quantile at position 0.99 (n - 1) of the n counted) exceeds X once
   M(X) >= n - floor(0.99 (n - 1)). The bound is the largest such X over a grid of windows.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scheduler import _static, length_atoms, setup  # noqa: E402

DRAIN_S = 30.0  # AdaptivePolicy.drain_delay_s, the loan's conversion time
NEAR = 25  # ranks at and below the P99 whose sum breaks ties


@dataclass
class Run:
    """One seed's acceptance run: inputs, baselines and the evaluator."""

    arr: np.ndarray
    alt: object
    out: np.ndarray
    cfg: object
    counted: np.ndarray
    static_p99: float
    static_mean: float
    adaptive_off: np.ndarray
    adaptive_loans: list[tuple[float, int]]
    static_off: np.ndarray
    unc: np.ndarray

    def ttft(self, off: np.ndarray, loans: list[tuple[float, int]]) -> np.ndarray:
        from prfaas_plan.sim.replay import replay

        r = replay(self.arr, self.alt, self.out, self.cfg, off, loans, DRAIN_S)  # type: ignore[arg-type]
        return r.ready_s - r.arrival_s


def stats(t: np.ndarray, counted: np.ndarray) -> tuple[float, float, float]:
    """(P99, mean, tie-break: sum of the NEAR values at and just below the P99 rank)."""
    x = np.sort(t[counted])
    p = 0.99 * (len(x) - 1)
    k = int(math.floor(p))
    return float(np.quantile(x, 0.99)), float(x.mean()), float(x[max(k - NEAR + 1, 0):k + 1].sum())


def load_run(seed: int) -> Run:
    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    rm, cfg, arr, unc, out, thr, alt = setup(drop=True, seed=seed)
    counted = arr >= arr[int(len(arr) * 0.1)]
    st = _static(rm, cfg, arr, unc, out)
    t_st = st.ready_s - st.arrival_s
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    loans = [(c["time_s"], int(c["borrow"])) for c in ad.changes if c["borrow"] != 0]
    return Run(arr, alt, out, cfg, counted, float(np.quantile(t_st[counted], 0.99)), float(t_st[counted].mean()),
               ad.records.offloaded.copy(), loans, st.offloaded.copy(), unc)


def loans_for(run: Run, mode: str) -> list[tuple[float, int]]:
    if mode == "adaptive":
        return list(run.adaptive_loans)
    if mode == "none":
        return []
    back = [ln for ln in run.adaptive_loans if ln[1] < 0]
    return [(300.0, 1), *(back or [(480.0, -1)])]  # lent at the drop's start, returned when adaptive did


class Search:
    """Hill climbing over route vectors with restarts (module docstring)."""

    def __init__(self, run: Run, loans: list[tuple[float, int]], window: tuple[float, float], rng: np.random.Generator):
        self.run, self.loans, self.rng = run, loans, rng
        self.idx = np.flatnonzero((run.arr >= window[0]) & (run.arr < window[1]))
        self.evals = 0
        self.max_evals = math.inf

    def spent(self, deadline: float) -> bool:
        return time.perf_counter() >= deadline or self.evals >= self.max_evals

    def score(self, off: np.ndarray) -> tuple[tuple[float, float], float, np.ndarray]:
        """((P99, tie-break), mean, TTFTs); P99 inf where the mean exceeds static's."""
        t = self.run.ttft(off, self.loans)
        self.evals += 1
        p99, mean, near = stats(t, self.run.counted)
        return ((p99, near) if mean <= self.run.static_mean else (math.inf, near)), mean, t

    def move(self, off: np.ndarray, t: np.ndarray) -> np.ndarray:
        """A neighbour of `off` (module docstring's four moves)."""
        r, rng, idx = self.run, self.rng, self.idx
        new = off.copy()
        tail = idx[np.argsort(t[idx])[-60:]]
        kind = rng.integers(4)
        if kind == 0:
            j = [rng.choice(idx)]
        elif kind == 1:
            j = [rng.choice(tail)]
        elif kind == 2:
            a = r.arr[rng.choice(tail)]
            pool = idx[(r.arr[idx] >= a - 60) & (r.arr[idx] <= a) & off[idx]]
            j = [rng.choice(pool)] if len(pool) else [rng.choice(idx)]
        else:
            i = rng.choice(tail)
            other = idx[off[idx] != off[i]]
            j = [i, rng.choice(other)] if len(other) else [i]
        new[j] = ~new[j]
        return new

    def prune(self, off: np.ndarray) -> np.ndarray:
        """`off` with each change from adaptive's routes undone (latest arrival first) where the P99
        does not rise and the mean stays within static's."""
        off = off.copy()
        p0 = self.score(off)[0][0]
        for i in np.flatnonzero(off != self.run.adaptive_off)[::-1]:
            off[i] = ~off[i]
            if self.score(off)[0][0] > p0:
                off[i] = ~off[i]
        return off

    def climb(self, off: np.ndarray, deadline: float, patience: int) -> tuple[np.ndarray, tuple[float, float], float]:
        key, mean, t = self.score(off)
        stale = 0
        while not self.spent(deadline) and stale < patience:
            cand = self.move(off, t)
            k2, m2, t2 = self.score(cand)
            if k2 < key:
                off, key, mean, t, stale = cand, k2, m2, t2, 0
            else:
                stale += 1
        return off, key, mean


def search(run: Run, loans: list[tuple[float, int]], window: tuple[float, float], budget_s: float,
           patience: int, rng_seed: int, max_evals: float = math.inf
           ) -> tuple[np.ndarray, tuple[float, float], float, int, list[str]]:
    """Climbs from the adaptive routes, from static's, then from perturbations of the best so far
    (10 window requests flipped), each followed by a climb from the best pruned (`Search.prune`),
    until the budget (seconds, or evaluations: then the result depends only on the seeds) is spent;
    returns the best and a log per climb."""
    s = Search(run, loans, window, np.random.default_rng(rng_seed))
    s.max_evals = max_evals
    deadline = time.perf_counter() + budget_s
    best: tuple[np.ndarray, tuple[float, float], float] | None = None
    log = []
    starts = [("adaptive", run.adaptive_off), ("static", run.static_off)]
    k = 0
    while not s.spent(deadline):
        if k % 2:  # the best with its needless changes from adaptive's undone (they spend the mean's room)
            assert best is not None
            name, off0 = "pruned best", s.prune(best[0])
        elif k // 2 < len(starts):
            name, off0 = starts[k // 2]
        else:
            assert best is not None
            name, off0 = "perturbed best", best[0].copy()
            flip = s.rng.choice(s.idx, size=10, replace=False)
            off0[flip] = ~off0[flip]
        k += 1
        (key0, _, _), ev0 = s.score(off0), s.evals
        off, key, mean = s.climb(off0, deadline, patience)
        log.append(f"{name}: P99 {key0[0]:.1f} -> {key[0]:.1f} s, mean {mean:.2f} s ({s.evals - ev0} evaluations)")
        if best is None or key < best[1]:
            best = (off, key, mean)
    assert best is not None
    return best[0], best[1], best[2], s.evals, log


def lower_bound(run: Run, lent: int = 1) -> tuple[float, tuple[float, float]]:
    """The largest X (and its window) such that P99 > X for every routing (module docstring, 2)."""
    from scipy.optimize import linprog

    from prfaas_plan.sim.engine import link_capacity

    cfg, alt, c = run.cfg, run.alt, run.counted
    n = int(c.sum())
    need = n - math.floor(0.99 * (n - 1))
    rtt = cfg.rtt_s  # type: ignore[attr-defined]

    def misses(s: float, e: float, x: float) -> int:
        sel = np.flatnonzero(c & (run.arr >= s) & (run.arr <= e - x))
        if len(sel) == 0:
            return 0
        S, b = alt.kv_prfaas_bytes[sel], alt.busy_local_s[sel]  # type: ignore[attr-defined]
        ok_o = alt.t_prfaas_s[sel] + rtt <= x  # type: ignore[attr-defined]
        ok_l = alt.t_local_s[sel] <= x  # type: ignore[attr-defined]
        m = len(sel)
        cap = link_capacity(np.array([s, e]), cfg.link_bytes_per_s, cfg.bandwidth_factors)  # type: ignore[attr-defined]
        c_link, c_loc = float(cap[1] - cap[0]), (cfg.n_pd_prefill + lent) * (e - s)  # type: ignore[attr-defined]
        a_ub = np.zeros((m + 2, 2 * m))
        a_ub[np.arange(m), np.arange(m)] = 1.0
        a_ub[np.arange(m), m + np.arange(m)] = 1.0
        a_ub[m, :m], a_ub[m + 1, m:] = S / 1e9, b
        bounds = [(0.0, 1.0 if o else 0.0) for o in ok_o] + [(0.0, 1.0 if o else 0.0) for o in ok_l]
        res = linprog(-np.ones(2 * m), A_ub=a_ub, b_ub=np.r_[np.ones(m), c_link / 1e9, c_loc], bounds=bounds,
                      method="highs")
        assert res.status == 0, res.message
        return m - math.floor(-res.fun + 1e-6)

    best, where = 0.0, (math.nan, math.nan)
    for s in np.arange(280.0, 341.0, 10.0):
        for e in np.arange(380.0, 441.0, 10.0):
            lo, hi = best, e - s  # misses(., ., x) falls as x grows: bisect for the last x with enough
            if misses(s, e, lo + 0.05) < need:
                continue
            while hi - lo > 0.05:
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if misses(s, e, mid) >= need else (lo, mid)
            best, where = lo, (float(s), float(e))
    return best, where


def prune(run: Run, off: np.ndarray, loans: list[tuple[float, int]], slack_s: float = 0.1) -> np.ndarray:
    """The best routes' changes from adaptive's, reverted one at a time (latest arrival first) wherever
    the P99 stays within `slack_s` of the best and the mean within static's: the changes that matter."""
    p_best = stats(run.ttft(off, loans), run.counted)[0]
    off = off.copy()
    for i in np.flatnonzero(off != run.adaptive_off)[::-1]:
        cand = off.copy()
        cand[i] = run.adaptive_off[i]
        p, m, _ = stats(run.ttft(cand, loans), run.counted)
        if p <= p_best + slack_s and m <= run.static_mean:
            off = cand
    return off


def changes(run: Run, off: np.ndarray, loans: list[tuple[float, int]]) -> list[str]:
    """One line per route that differs from adaptive's: arrival, length, KV, TTFT before -> after."""
    t, t_ad = run.ttft(off, loans), run.ttft(run.adaptive_off, loans)
    kv = run.alt.kv_prfaas_bytes  # type: ignore[attr-defined]
    return [f"    {run.arr[i]:6.1f} s {run.unc[i] / 1e3:5.0f}K tok {kv[i] / 1e9:4.2f} GB -> "
            f"{'PrfaaS' if off[i] else 'local '}: TTFT {t_ad[i]:5.1f} -> {t[i]:5.1f} s"
            for i in np.flatnonzero(off != run.adaptive_off)]


def _group(run: Run, sel: np.ndarray) -> str:
    if len(sel) == 0:
        return "none"
    kv = run.alt.kv_prfaas_bytes[sel] / 1e9  # type: ignore[attr-defined]
    return (f"{len(sel)}: arrivals {run.arr[sel].min():.0f}-{run.arr[sel].max():.0f} s, "
            f"{run.unc[sel].min() / 1e3:.0f}K-{run.unc[sel].max() / 1e3:.0f}K tokens "
            f"(median {np.median(run.unc[sel]) / 1e3:.0f}K), KV {kv.min():.2f}-{kv.max():.2f} GB")


def by_length(run: Run, offs: dict[str, np.ndarray], span: tuple[float, float] = (320.0, 410.0)) -> list[str]:
    """Share offloaded per uncached-length band among the arrivals of `span` (inside the drop)."""
    edges = [0, 10e3, 20e3, 40e3, 60e3, 80e3, np.inf]
    inside = (run.arr >= span[0]) & (run.arr < span[1])
    bands = [inside & (run.unc > lo) & (run.unc <= hi) for lo, hi in zip(edges[:-1], edges[1:])]
    head = " | ".join(f"{lo / 1e3:.0f}-{hi / 1e3:.0f}K" if np.isfinite(hi) else f">{lo / 1e3:.0f}K"
                      for lo, hi in zip(edges[:-1], edges[1:]))
    lines = [f"  offloaded share by length, arrivals {span[0]:g}-{span[1]:g} s: {head} (requests "
             f"{' / '.join(str(int(b.sum())) for b in bands)})"]
    for name, off in offs.items():
        lines.append(f"    {name}: " + " | ".join(f"{off[b].mean():.0%}" if b.any() else "-" for b in bands))
    return lines


def describe(run: Run, off: np.ndarray, loans: list[tuple[float, int]]) -> list[str]:
    """What the best routes do differently from adaptive's, and who the tail is."""
    t = run.ttft(off, loans)
    t_ad = run.ttft(run.adaptive_off, loans)
    to_loc = np.flatnonzero(run.adaptive_off & ~off)
    to_prf = np.flatnonzero(~run.adaptive_off & off)
    p99 = float(np.quantile(t[run.counted], 0.99))
    tail = np.flatnonzero(run.counted & (t > p99))
    lines = [f"  routes differing from adaptive's: {len(to_loc) + len(to_prf)}",
             f"    moved to local: {_group(run, to_loc)}", f"    moved to PrfaaS: {_group(run, to_prf)}",
             f"  requests over the best P99 ({p99:.1f} s): offloaded {_group(run, tail[off[tail]])}; "
             f"local {_group(run, tail[~off[tail]])}"]
    c = run.counted
    for name, x, o in (("best", t, off), ("adaptive (same loans)", t_ad, run.adaptive_off)):
        lines.append(f"  {name}: offloaded P99 {np.quantile(x[c & o], 0.99):.1f} s, local P99 "
                     f"{np.quantile(x[c & ~o], 0.99):.1f} s, TTFT > 30 s: {int((x[c] > 30).sum())}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget-s", type=float, default=180.0, help="wall-clock budget of the search")
    ap.add_argument("--loan", choices=("adaptive", "none", "drop"), default="adaptive")
    ap.add_argument("--window", type=float, nargs=2, default=(250.0, 480.0), help="arrivals whose routes may change")
    ap.add_argument("--max-evals", type=int, help="stop after this many evaluations (reproducible figures)")
    ap.add_argument("--patience", type=int, default=1500, help="non-improving moves before a restart")
    ap.add_argument("--rng-seed", type=int, default=1)
    ap.add_argument("--bound-lent", type=int, default=1, help="lent instances the lower bound allows")
    ap.add_argument("--no-bound", action="store_true")
    ap.add_argument("--save", help="write the best and the pruned route vectors here (.npz)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    run = load_run(a.seed)
    loans = loans_for(run, a.loan)
    c = run.counted
    p_ad, m_ad, _ = stats(run.ttft(run.adaptive_off, run.adaptive_loans), c)
    p_al, m_al, _ = stats(run.ttft(run.adaptive_off, loans), c)
    print(f"seed {a.seed}: {len(run.arr):,} requests, {int(c.sum()):,} counted; static P99 {run.static_p99:.1f} s, "
          f"mean {run.static_mean:.2f} s; adaptive P99 {p_ad:.1f} s ({p_ad / run.static_p99:.3f}x), mean {m_ad:.2f} s "
          f"({m_ad / run.static_mean:.3f}x); adaptive loans {run.adaptive_loans}")
    print(f"search: loans {loans} (adaptive's routes under them: P99 {p_al:.1f} s, mean {m_al:.2f} s), window "
          f"{a.window[0]:g}-{a.window[1]:g} s, budget {a.budget_s:g} s")
    off, key, mean, evals, log = search(run, loans, tuple(a.window), a.budget_s, a.patience, a.rng_seed,
                                     a.max_evals or math.inf)
    for line in log:
        print("  " + line)
    print(f"BEST seed {a.seed} loan {a.loan}: P99 {key[0]:.1f} s = {key[0] / run.static_p99:.3f}x static, mean "
          f"{mean:.2f} s = {mean / run.static_mean:.3f}x static ({evals:,} evaluations, "
          f"{time.perf_counter() - t0:.0f} s)")
    for line in describe(run, off, loans):
        print(line)
    pr = prune(run, off, loans)
    p_pr, m_pr, _ = stats(run.ttft(pr, loans), c)
    print(f"PRUNED (changes reverted where P99 stays within 0.1 s): P99 {p_pr:.1f} s = {p_pr / run.static_p99:.3f}x, "
          f"mean {m_pr / run.static_mean:.3f}x static; {int((pr != run.adaptive_off).sum())} changes kept:")
    for line in describe(run, pr, loans)[:3] + changes(run, pr, loans):
        print(line)
    for line in by_length(run, {"static": run.static_off, "adaptive": run.adaptive_off, "best": off, "pruned": pr}):
        print(line)
    if a.save:
        np.savez(a.save, best=off, pruned=pr, adaptive=run.adaptive_off, loans=np.array(loans))
    if not a.no_bound:
        x, w = lower_bound(run, a.bound_lent)
        print(f"LOWER BOUND seed {a.seed}: every routing has P99 > {x:.1f} s = {x / run.static_p99:.3f}x static "
              f"(window {w[0]:g}-{w[1]:g} s, local pool <= {run.cfg.n_pd_prefill + a.bound_lent} instances)")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
