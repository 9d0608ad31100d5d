"""The adaptive (dual-timescale) scheduler against the static one, on the core engine directly.

Figures from these runs are printed (pytest -s) and quoted in the README's scheduler section."""

from __future__ import annotations

import dataclasses
import functools
import json
import math

import numpy as np
import pytest

from prfaas_plan.assemble.inputs import build_inputs
from prfaas_plan.assemble.scenario import load_scenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.commands.scheduling import length_atoms, poisson_run
from prfaas_plan.plan.planner import make_plan, routing_cut
from prfaas_plan.plan.rebalance import replan_split
from prfaas_plan.sim.adaptive import AdaptivePolicy, LinkState, _Scheduler, alternatives, simulate_adaptive
from prfaas_plan.sim.engine import (
    SimConfig,
    _link,
    check_conservation,
    fcfs_changing,
    link_capacity,
    link_sent,
    simulate,
)
from prfaas_plan.sim.metrics import decode_wait, series_dict, ttft_breakdown
from prfaas_plan.sim.replay import replay

# t_eff pinned to the plan (max_factor 1), the link shared as static shares it, no decode lent:
# static's decisions taken event by event
PINNED = AdaptivePolicy(max_factor=1.0, link_order="ps", borrow_decode=False, shed_local=False)


def _paper(load: float = 0.8, duration: float | None = 900.0, n: int | None = None, seed: int = 0,
           drop: tuple[float, float, float] | None = None, lengths_scale: np.ndarray | None = None):
    """The paper scenario's plan and Poisson arrivals (`commands.scheduling.poisson_run`)."""
    p = poisson_run(load, duration, n, seed, drop, lengths_scale)
    return p.rm, p.cfg, p.arrival_s, p.uncached, p.output, p.threshold_tokens, p.plan


def _alts(rm, cfg, unc):
    z = np.zeros(len(unc))
    return alternatives(unc, z, z, "shared", rm.local_profile, rm.prfaas_profile, rm.kv_profile,
                        cfg.link_bytes_per_s, cfg.rtt_s, rm.local_occupancy, rm.prfaas_occupancy)


def _counted(r):
    """Statistics skip the first 10% of arrivals, as `prfaas simulate` does."""
    return r.arrival_s >= r.arrival_s[int(len(r.arrival_s) * 0.1)]


def _throughput(r) -> float:
    a = r.arrival_s
    w0 = a[int(len(a) * 0.1)]
    return float(((r.decode_end_s >= w0) & (r.decode_end_s <= a[-1])).sum() / (a[-1] - w0))


def test_adaptive_that_never_deviates_is_static_exactly():
    """With t_eff pinned to the plan (max_factor 1), the event-driven path routes and times every request as the
    vectorised static engine does (same arrays, bit for bit)."""
    rm, cfg, arr, unc, out, thr, _ = _paper(n=3000, drop=(300, 420, 4.0))
    never = PINNED
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, never, thr, atoms=length_atoms(rm))
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    assert ad.rerouted == 0
    for f in ("offloaded", "prefill_start_s", "prefill_end_s", "transfer_end_s", "ready_s", "decode_end_s"):
        np.testing.assert_array_equal(getattr(ad.records, f), getattr(st, f), err_msg=f)
    assert set(ad.series.threshold_tokens) == {thr}


def test_replay_reproduces_the_adaptive_run_and_the_static_engine():
    """`sim.replay` (the hindsight oracle's evaluator, benchmarks/scheduler_oracle.py) times fixed routes
    and loans as the simulators do: the adaptive run's own routes and decode loans give its records bit
    for bit (a loan decided inside the drop), static's routes with no loan and the processor-sharing
    link give `engine.simulate`'s; other routes move the requests they touch."""
    rm, cfg, arr, unc, out, thr, _ = _paper(n=3000, drop=(300, 420, 4.0))
    alt = _alts(rm, cfg, unc)
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    loans = [(c["time_s"], int(c["borrow"])) for c in ad.changes]
    assert [d for _, d in loans] == [1, -1] and 300 < loans[0][0] < 420
    fields = ("offloaded", "prefill_start_s", "prefill_end_s", "transfer_start_s", "transfer_end_s", "ready_s",
              "decode_start_s", "decode_end_s")
    rp = replay(arr, alt, out, cfg, ad.records.offloaded, loans, AdaptivePolicy().drain_delay_s)
    for f in fields:
        np.testing.assert_array_equal(getattr(rp, f), getattr(ad.records, f), err_msg=f)
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    rs = replay(arr, alt, out, cfg, st.offloaded, [], 30.0, link_order="ps")
    for f in fields:
        np.testing.assert_array_equal(getattr(rs, f), getattr(st, f), err_msg=f)
    # the largest KV of the drop kept local: its first token no longer waits for the bandwidth
    big = int(np.argmax(np.where((arr > 300) & (arr < 360) & st.offloaded, unc, 0.0)))
    off = st.offloaded.copy()
    off[big] = False
    rb = replay(arr, alt, out, cfg, off, [], 30.0, link_order="ps")
    assert rb.ready_s[big] - arr[big] < st.ready_s[big] - arr[big] - 10
    early_local = ~st.offloaded & (np.arange(len(arr)) < big)  # the local pool before it is untouched
    np.testing.assert_array_equal(rb.ready_s[early_local], st.ready_s[early_local])


def _oracle():
    """benchmarks/scheduler_oracle.py, loaded from its path (a script, not part of the package)."""
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        spec = importlib.util.spec_from_file_location("scheduler_oracle", bench / "scheduler_oracle.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["scheduler_oracle"] = mod  # its dataclass looks its module up there
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(bench))
    return mod


@pytest.mark.slow
def test_hindsight_oracle_improves_on_adaptive_and_respects_its_lower_bound():
    """The oracle's search (300 evaluations on seed 0's link drop) finds routes with a lower P99 than
    adaptive's and a mean no higher than static's, checked by re-timing them; its lower bound lies
    below every P99 actually achieved: static's, adaptive's, the search's, and those of 20 random
    perturbations of adaptive's routes (a bound above any of them would be wrong)."""
    o = _oracle()
    run = o.load_run(0)
    # no time budget: the 300 evaluations (and the seeds) decide the result, whatever the machine's load
    off, key, mean, evals, _ = o.search(run, run.adaptive_loans, (250.0, 480.0), math.inf, 1500, 1, 300)
    p_ad = o.stats(run.ttft(run.adaptive_off, run.adaptive_loans), run.counted)[0]
    p, m, _ = o.stats(run.ttft(off, run.adaptive_loans), run.counted)
    assert evals == 300 and (p, m) == (key[0], mean)
    assert p < p_ad - 1.0 and m <= run.static_mean
    bound, _ = o.lower_bound(run)
    rng = np.random.default_rng(0)
    window = np.flatnonzero((run.arr >= 250) & (run.arr < 480))
    achieved = [run.static_p99, p_ad, p]
    for _ in range(20):
        cand = run.adaptive_off.copy()
        flip = rng.choice(window, size=30, replace=False)
        cand[flip] = ~cand[flip]
        achieved.append(o.stats(run.ttft(cand, run.adaptive_loans), run.counted)[0])
    print(f"\noracle P99 {p:.1f} s (adaptive {p_ad:.1f}, static {run.static_p99:.1f}); lower bound {bound:.1f} s; "
          f"perturbed {min(achieved[3:]):.1f}-{max(achieved[3:]):.1f} s")
    assert 0 < bound < min(achieved)


def test_link_state_sends_what_the_batch_link_sends():
    """The incremental link (advanced join by join) and `engine._link` (one pass) agree: the bytes
    sent by each instant are those of the transfers the batch loop has finished or started."""
    rng = np.random.default_rng(3)
    n = 200
    join = np.sort(rng.uniform(0, 50, n))
    nbytes = rng.uniform(1, 30, n)
    factors = rng.uniform(0.2, 1.5, 100)
    ts, te = _link(join, join, nbytes, 10.0, factors)
    link = LinkState(10.0, factors)
    for j, b in zip(join, nbytes, strict=True):
        link.add(float(j), float(b))
    for t in (5.0, 17.5, 33.0, 80.0, float(te.max()) + 1):
        link.advance(t)
        done = te <= t
        running = (ts < t) & ~done
        # finished transfers are fully sent; running ones partly
        assert nbytes[done].sum() - 1e-6 <= link.sent <= nbytes[done | running].sum() + 1e-6
    assert link.sent == pytest.approx(nbytes.sum(), rel=1e-12)
    assert link.unsent == pytest.approx(0.0, abs=1e-6) and not link.active



@pytest.mark.parametrize("factors", [None, "dips", "outage"])
def test_link_sent_is_the_link_replayed_second_by_second(factors):
    """`engine.link_sent` (the closed-form fluid queue `static_series` uses) equals `LinkState`
    replayed second by second, to rounding: constant link, 0.2x dips, and zero-bandwidth outages
    (where bytes wait with nothing sent); non-routed requests (nan starts) send nothing."""
    rng = np.random.default_rng(5)
    n = 400
    join = np.sort(rng.uniform(0, 60, n))
    join[rng.random(n) < 0.3] = np.nan
    nbytes = rng.exponential(8.0, n)
    f = None if factors is None else np.where(rng.random(30) < 0.3, 0.0 if factors == "outage" else 0.2, 1.0)
    link = LinkState(10.0, f)
    for j, b in zip(join[np.isfinite(join)], nbytes[np.isfinite(join)], strict=True):
        link.add(float(j), float(b))
    t = np.arange(0.0, 400.0, 1.0)
    ref = []
    for tk in t:
        link.advance(float(tk))
        ref.append(link.sent)
    got = link_sent(join, nbytes, 10.0, f, t)
    assert got == pytest.approx(np.array(ref), rel=1e-12, abs=1e-9)
    assert got[-1] == pytest.approx(nbytes[np.isfinite(join)].sum(), rel=1e-12)
    assert np.all(np.diff(got) <= np.diff(link_capacity(t, 10.0, f)) + 1e-9)


def test_paper_drop_adaptive_against_static():
    """Acceptance: paper scenario, 80% load, 900 s, link at 4 Gbps over [300, 420) s."""
    rm, cfg, arr, unc, out, thr, _ = _paper(drop=(300, 420, 4.0))
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    m = _counted(st)
    s, a = ttft_breakdown(st, m)["overall"], ttft_breakdown(ad.records, m)["overall"]
    print(f"\nstatic mean {s['mean_s']:.2f} P99 {s['p99_s']:.1f}; adaptive mean {a['mean_s']:.2f} "
          f"P99 {a['p99_s']:.1f} ({a['p99_s'] / s['p99_s']:.2f} of static), rerouted {ad.rerouted}")
    # conservation: every arrival completed or still inside, causal timestamps
    done, inside = check_conservation(ad.records, float(arr[-1]), len(arr))
    assert done + inside == len(arr) and inside > 0
    assert a["mean_s"] <= s["mean_s"]
    assert a["p99_s"] < s["p99_s"]
    assert ad.rerouted > 0
    # the threshold rose during the drop and sits at the plan's most of the time after it
    ser = series_dict(ad.series)
    t_eff, time = np.array(ser["threshold_tokens"]), np.array(ser["time_s"])
    assert t_eff[(time > 300) & (time < 420)].max() > 1.2 * thr
    assert np.median(t_eff[time >= 600]) == pytest.approx(thr)


def test_paper_drop_adaptive_halves_p99():
    """Acceptance (#15): on the link drop, adaptive's P99 TTFT is at most half of static's with a mean
    no higher (static processor-shares the thin link and has no spare capacity to call on; adaptive
    sends KV shortest-first, lends the idle decode instance, lets the local queue take up to the
    local prefill time of the P99 length while the congestion is forecast to last, and moves a request
    to the local pool only if that adds no delay counting the requests queued behind it). Measured
    0.40x (35.4 vs 88.7 s; 0.47x without pricing the delay: README 'Scheduling', 8 of 15 development
    seeds and 7 of 15 held-out seeds hold). The tail is shown whole: P99.9 and max stay at about
    static's (the largest KVs wait for the bandwidth), and the offloaded/local split moves."""
    rm, cfg, arr, unc, out, thr, _ = _paper(drop=(300, 420, 4.0))
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    m = _counted(st)
    bs, ba = ttft_breakdown(st, m), ttft_breakdown(ad.records, m)
    s, a = bs["overall"], ba["overall"]
    print(f"\nstatic mean {s['mean_s']:.2f} P99 {s['p99_s']:.1f} P99.9 {s['p999_s']:.1f} max {s['max_s']:.1f}; adaptive "
          f"mean {a['mean_s']:.2f} P99 {a['p99_s']:.1f} P99.9 {a['p999_s']:.1f} max {a['max_s']:.1f} "
          f"({a['p99_s'] / s['p99_s']:.2f}x P99, {a['mean_s'] / s['mean_s']:.2f}x mean); offloaded P99 "
          f"{bs['offloaded']['p99_s']:.1f} -> {ba['offloaded']['p99_s']:.1f}, local P99 {bs['local']['p99_s']:.1f} -> "
          f"{ba['local']['p99_s']:.1f}; decode-slot wait P99 {decode_wait(st, m)['p99_s']:.1f} -> "
          f"{decode_wait(ad.records, m)['p99_s']:.1f}")
    # seed 0 (README 'Scheduling' lists seeds 0-14; seeds 1-4 in the tests below)
    assert a["p99_s"] <= 0.5 * s["p99_s"] and a["mean_s"] <= s["mean_s"]
    # the default allowance is the planner's (its length atoms), not the run's own prompts'
    assert ad.local_wait_max_s == pytest.approx(max(float(np.quantile(rm.t_local, 0.99)), 2.0))
    done, inside = check_conservation(ad.records, float(arr[-1]), len(arr))
    assert done + inside == len(arr)


@functools.cache
def _dev_seed_drop(seed: int) -> dict[str, dict[str, float]]:
    """TTFT over the counted requests of the 4-Gbps 120-s drop on one seed: static (the issue's
    baseline, processor-sharing link), static routing with the sjf sender (the like-for-like
    baseline), adaptive with and without shedding. Cached: two tests read each seed's runs."""
    rm, cfg, arr, unc, out, thr, _ = _paper(drop=(300, 420, 4.0), seed=seed)
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    sj = simulate(arr, unc, out, dataclasses.replace(cfg, link_order="sjf"), rm.prfaas_profile, rm.local_profile,
                  rm.kv_profile, s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    m = _counted(st)
    runs = {"static": st, "static_sjf": sj}
    for name, on in (("adaptive", True), ("no_shedding", False)):
        runs[name] = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(shed_local=on), thr,
                                       atoms=length_atoms(rm)).records
    return {k: ttft_breakdown(r, m)["overall"] for k, r in runs.items()}


@pytest.mark.parametrize("seed", range(5))
def test_paper_drop_over_the_development_seeds(seed):
    """The link drop over the development seeds 0-4 (README 'Scheduling', every-seed table), what holds
    on each: adaptive's mean TTFT is below static's, and no higher with shedding than without (what
    shedding is for: the local backlog unwound by the short prompts); its P99 is below that of static
    routing with the same sjf sender, i.e. the routing, loan and local backlog, which cost the mean
    1.1-1.2x of that like-for-like baseline's, do buy tail (0.43-0.55x of its P99 on these seeds).
    The issue's 0.5x-of-static P99 is the next test."""
    r = _dev_seed_drop(seed)
    a, b, s, sj = r["adaptive"], r["no_shedding"], r["static"], r["static_sjf"]
    print(f"\nseed {seed}: P99 {a['p99_s'] / s['p99_s']:.2f}x static, {a['p99_s'] / sj['p99_s']:.2f}x static+sjf; "
          f"mean {a['mean_s'] / s['mean_s']:.2f}x (no shedding {b['mean_s'] / s['mean_s']:.2f}x)")
    assert a["mean_s"] <= s["mean_s"] and a["mean_s"] <= b["mean_s"]
    assert a["p99_s"] < sj["p99_s"]


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.xfail(
    strict=True, reason="not held: 0.52x since the host-bound forward floor (0.47x before), README 'Scheduling'")),
    3, 4])
def test_paper_drop_p99_acceptance_over_the_development_seeds(seed):
    """The issue's acceptance (#15) per development seed: adaptive's P99 TTFT at most half of
    static's (measured 0.39 / 0.52 / 0.39 / 0.43x on seeds 1-4: seed 2 is a strict xfail that reports
    when it holds again; seeds 5, 7, 11-14 and 8 of the held-out 15-29 do not hold either: README
    'Scheduling')."""
    r = _dev_seed_drop(seed)
    print(f"\nseed {seed}: P99 {r['adaptive']['p99_s'] / r['static']['p99_s']:.3f}x static")
    assert r["adaptive"]["p99_s"] <= 0.5 * r["static"]["p99_s"]


def test_drop_lends_a_decode_instance_and_gives_it_back():
    """During the drop the link backlog outlasts the drain delay: once the forecast has held for half
    the drain delay (from 315 s at the earliest), one decode instance is lent as soon as the last
    minute's decode load leaves one idle at utilisation <= 1 (at 80% load the decode pool carries
    about 3.9 of its 5 instances, so the minute's estimate must dip under 4: at 316 s in this run);
    it serves local prefill from 30 s after the loan and returns once both paths are clear; decode
    slots are conserved (every request decodes) and the loan costs decode-slot wait against the same
    run without it."""
    rm, cfg, arr, unc, out, thr, _ = _paper(drop=(300, 420, 4.0))
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    lent = [c for c in ad.changes if c["borrow"] > 0]
    back = [c for c in ad.changes if c["borrow"] < 0]
    assert len(lent) == 1 and len(back) == 1
    # the forecast holds from the drop's first second; the loan once it has held 15 s (0.5 x 30 s) and the
    # last minute's decode load (arrivals x mean output x step, recomputed here) leaves an instance idle
    t_loan = lent[0]["time_s"]
    assert 315 <= t_loan < 420 and lent[0]["pd_prefill_to"] == cfg.n_pd_prefill + 1

    def idle(T: float) -> int:
        win = (arr >= T - 60) & (arr < T)
        load = win.sum() / 60 * float(np.mean(np.maximum(out[win], 1.0))) * cfg.decode_step_s
        return int(cfg.n_pd_decode - load / cfg.decode_slots_per_instance)

    # the forecast had held its 15 s by 315 s at the earliest; the decode load timed the loan (316 s
    # in this run): a second earlier it left no instance idle
    assert idle(t_loan) >= 1 and idle(t_loan - 1) == 0
    assert back[0]["time_s"] > 420 and back[0]["pd_prefill_to"] == cfg.n_pd_prefill
    inst = np.array(ad.series.pd_prefill_instances)
    assert inst.max() == cfg.n_pd_prefill + 1 and inst[-1] == cfg.n_pd_prefill
    check_conservation(ad.records, float(arr[-1]), len(arr))
    assert np.all(np.isfinite(ad.records.decode_end_s))
    m = _counted(ad.records)
    no_loan = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(borrow_decode=False), thr,
                                atoms=length_atoms(rm))
    assert no_loan.changes == []
    w_loan, w_none = decode_wait(ad.records, m), decode_wait(no_loan.records, m)
    print(f"\ndecode-slot wait with the loan mean {w_loan['mean_s']:.2f} P99 {w_loan['p99_s']:.1f} s; without "
          f"{w_none['mean_s']:.2f} / {w_none['p99_s']:.1f} s")
    assert w_loan["mean_s"] > w_none["mean_s"]
    # a constant link never lends, nor does the flapping one (20 s at 10 Gbps, 20 s at 100: the backlog
    # forecast one drain delay ahead stays under the drain delay)
    rm, cfg, arr, unc, out, thr, _ = _paper(n=3000)
    assert simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm)).changes == []
    flap = dataclasses.replace(cfg, bandwidth_factors=np.where(np.arange(40) < 20, 1.0, 0.1))
    assert simulate_adaptive(arr, _alts(rm, flap, unc), out, flap, AdaptivePolicy(), thr, atoms=length_atoms(rm)).changes == []


def test_shedding_unwinds_the_local_backlog_after_the_drop():
    """The local backlog built during the drop is the bottleneck once the link returns at 420 s: with
    shedding (default) each local-bound request expected to finish first at PrfaaS goes there, so the
    local queue drains faster than when only t_eff's 10%-a-second fall unwinds it (its wait halves
    sooner and is lower on average over 420-470 s) while t_eff stays nearer the plan (without shedding
    it falls to a quarter of it and sends nearly every local-bound prompt, which clears the last
    seconds of backlog as fast: both are under raise_s within a second of each other, 445 vs 444 s
    measured, so when it clears is not asserted), the requests arriving then wait less, and the mean
    TTFT falls (README 'Scheduling': 4.9 instead of 6.1 s for those arrivals). A shed request
    (planned local, below t_eff, sent to PrfaaS) arrived only while the local wait exceeded the PrfaaS
    path's delay by more than raise_s (the gate, read from the series), and without shedding there is
    none."""
    rm, cfg, arr, unc, out, thr, _ = _paper(drop=(300, 420, 4.0))
    runs = {on: simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(shed_local=on), thr,
                                  atoms=length_atoms(rm)) for on in (True, False)}
    raise_s = AdaptivePolicy().raise_s
    m = _counted(runs[True].records)
    after = (arr >= 420) & (arr < 470)
    w_after, t_after, halved, t_min, shed = {}, {}, {}, {}, {}
    for on, ad in runs.items():
        ser = series_dict(ad.series)
        time, w_l = np.array(ser["time_s"]), np.array(ser["local_queue_s"])
        back = (time >= 420) & (time < 470)
        w_after[on] = float(w_l[back].mean())
        w0 = float(w_l[time >= 420][0])
        halved[on] = float(time[(time >= 420) & (w_l <= w0 / 2)][0])
        t_min[on] = float(np.array(ser["threshold_tokens"])[back].min())
        t_after[on] = float((ad.records.ready_s - arr)[after].mean())
        # the t_eff each request was routed under: the last tick at or before its arrival (ticks at 1, 2, ... s)
        k = np.floor(arr).astype(int) - 1
        t_eff = np.where(k >= 0, np.array(ser["threshold_tokens"])[np.maximum(k, 0)], thr)
        shed[on] = ad.records.offloaded & ~ad.planned_offload & (unc <= t_eff)
    mean = {on: ttft_breakdown(ad.records, m)["overall"]["mean_s"] for on, ad in runs.items()}
    p99 = {on: ttft_breakdown(ad.records, m)["overall"]["p99_s"] for on, ad in runs.items()}
    print(f"\n420-470 s: local queue wait mean {w_after[True]:.1f} s (without shedding {w_after[False]:.1f}), halved "
          f"at {halved[True]:.0f} s ({halved[False]:.0f} s), lowest t_eff {t_min[True]:.0f} ({t_min[False]:.0f}), "
          f"TTFT of its arrivals {t_after[True]:.2f} vs {t_after[False]:.2f} s; overall TTFT mean {mean[True]:.2f} vs "
          f"{mean[False]:.2f} s, P99 {p99[True]:.1f} vs {p99[False]:.1f} s; {shed[True].sum()} shed")
    assert halved[True] < halved[False] and w_after[True] < w_after[False]
    assert t_min[True] > t_min[False]
    assert t_after[True] < t_after[False]
    assert mean[True] < mean[False]
    assert shed[True].any() and not shed[False].any()
    ser = series_dict(runs[True].series)
    gap = np.array(ser["local_queue_s"]) - np.maximum(np.array(ser["prfaas_queue_s"]), np.array(ser["link_drain_s"]))
    assert np.all(gap[np.floor(arr[shed[True]]).astype(int) - 1] > raise_s)
    check_conservation(runs[True].records, float(arr[-1]), len(arr))


def test_shedding_sends_a_request_only_where_it_finishes_first():
    """Shedding's own never-later rule (`_Scheduler.route`), on a crafted state: with the local pool
    busy for 30 s, a local-bound request is shed to free PrfaaS instances, kept local when they are
    busy for 100 s (it would finish later there), and kept local whenever the gate is shut. In the
    simulated runs the gate (the local wait raise_s above the PrfaaS path's delay) nearly always
    implies the PrfaaS path is sooner (seed 0's 120-s and 60-s drops, 20,000 requests on a constant
    link and 6,000 at 90% load kept 1 of 535 candidates local), so only a crafted state tells the
    rule from 'shed them all'."""
    rm, cfg, arr, unc, out, thr, _ = _paper(n=50)
    alt = _alts(rm, cfg, unc)
    i = int(np.flatnonzero((unc < thr) & (arr > 0))[0])  # a local-bound request
    for gate, prf_busy_s, shed in ((True, 0.0, True), (True, 100.0, False), (False, 0.0, False)):
        sch = _Scheduler(arr, alt, out, cfg, AdaptivePolicy(), thr, None, length_atoms(rm))
        a = sch.a_l[i]
        assert alt.t_local_s[i] < 30.0 and alt.t_prfaas_s[i] < 30.0  # so 100 s busy is later, free is sooner
        sch.loc = [a + 30.0] * cfg.n_pd_prefill
        sch.prf = [a + prf_busy_s] * cfg.n_prfaas
        sch.shedding = gate
        sch.route(i)
        assert bool(sch.off[i]) is shed and sch.rerouted == int(shed), (gate, prf_busy_s)
        assert not sch.planned[i]


def test_a_short_deep_dip_lends_nothing():
    """Dips of 2 s at 1 Gbps, 3 s and 10 s at 4 Gbps: the congestion forecast fires from the
    dip's first second but does not hold for half the drain delay, so no decode instance is lent.
    At 75% load (decode at about 3.6 of 5 instances) a loan is possible, as the counterfactual shows;
    at 80% the decode pool rarely has an idle instance (the drop test above)."""
    rm, cfg, arr, unc, out, thr, _ = _paper(n=3000, load=0.75)
    for start, end, gbps in ((300, 302, 1.0), (300, 303, 4.0), (300, 310, 4.0)):
        f = np.ones(3600)
        f[start:end] = gbps / (cfg.link_bytes_per_s * 8 / 1e9)
        c = dataclasses.replace(cfg, bandwidth_factors=f)
        ad = simulate_adaptive(arr, _alts(rm, c, unc), out, c, AdaptivePolicy(), thr, atoms=length_atoms(rm))
        assert ad.changes == [], (start, end, gbps)
        # without the persistence (the forecast alone) the same dip lends at once
        now = simulate_adaptive(arr, _alts(rm, c, unc), out, c, AdaptivePolicy(persist=0.0), thr,
                                atoms=length_atoms(rm))
        assert [ch["time_s"] for ch in now.changes if ch["borrow"] > 0] == [300.0], (start, end, gbps)


def test_link_sender_orders_by_hand():
    """Three KVs of 3, 1 and 2 bytes ready at t = 0 on a 1 byte/s link, one in flight at a time:
    shortest-first sends 1, 2, 3 (done at 1, 3, 6); FIFO in join order 3, 1, 2 (3, 4, 6); processor
    sharing ends the 1 at 3 (a third of the link each), the 2 at 5, the 3 at 6."""
    z, kv = np.zeros(3), np.array([3.0, 1.0, 2.0])
    cases = {"sjf": ([3, 0, 1], [6, 1, 3]), "fifo": ([0, 3, 4], [3, 4, 6]), "ps": ([0, 0, 0], [6, 3, 5])}
    for order, (start, end) in cases.items():
        ts, te = _link(z, z, kv, 1.0, None, order, 1e-9)
        np.testing.assert_allclose(ts, start, err_msg=order)
        np.testing.assert_allclose(te, end, err_msg=order)


def test_link_orders_send_the_same_bytes():
    """Every order keeps the link busy while KV waits: on random joins and a varying bandwidth the
    link empties at the same instant and each transfer's bytes fit in its [start, end] at the rate
    then (its bytes at most the link's capacity over that interval); the sender never starts a
    transfer before it joins."""
    rng = np.random.default_rng(5)
    join = np.sort(rng.uniform(0, 40, 300))
    nbytes = rng.uniform(1, 30, 300)
    factors = rng.uniform(0.05, 1.5, 100)
    ends = {}
    cum = np.concatenate([[0.0], np.cumsum(10.0 * np.tile(factors, 10))])  # capacity sent by each second

    def capacity(t):
        k = np.floor(t).astype(int)
        return cum[k] + 10.0 * factors[k % len(factors)] * (t - k)

    for order in ("ps", "fifo", "sjf"):
        ts, te = _link(join, join, nbytes, 10.0, factors, order, 1.0)
        assert np.all(ts >= join - 1e-12) and np.all(te > ts)
        assert np.all(nbytes <= (capacity(te) - capacity(ts)) * (1 + 1e-9)), order
        ends[order] = te.max()
    assert ends["fifo"] == pytest.approx(ends["ps"], rel=1e-9) and ends["sjf"] == pytest.approx(ends["ps"], rel=1e-9)


def test_adaptive_is_deterministic_for_a_seed():
    runs = []
    for seed in (0, 0, 1):
        rm, cfg, arr, unc, out, thr, _ = _paper(n=2500, seed=seed, drop=(300, 420, 4.0))
        ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
        runs.append(ad.records.ready_s.tobytes() + np.array(ad.series.threshold_tokens).tobytes())
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_constant_link_converges_to_the_plan_and_costs_nothing():
    """Acceptance: constant link, Poisson arrivals: t_eff within 10% of the planner's t (time
    average over the second half) and throughput within 2% of static's."""
    rm, cfg, arr, unc, out, thr, _ = _paper(n=20000)
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    t_eff = np.array(ad.series.threshold_tokens)
    half = t_eff[len(t_eff) // 2:]
    err = float(half.mean() / thr - 1)
    th_s, th_a = _throughput(st), _throughput(ad.records)
    m = _counted(st)
    print(f"\nt_eff/t - 1 = {err:+.3f} (median {np.median(half) / thr - 1:+.3f}); throughput static {th_s:.4f}, "
          f"adaptive {th_a:.4f} ({th_a / th_s - 1:+.4f}); TTFT mean {ttft_breakdown(st, m)['overall']['mean_s']:.3f} "
          f"-> {ttft_breakdown(ad.records, m)['overall']['mean_s']:.3f}; rerouted {ad.rerouted}")
    # time average +0.057 (seeds 1-14: +0.026 to +0.076; +0.037 before shedding, which loads PrfaaS with
    # short prompts when the local queue runs ahead, so PrfaaS-queue excursions raise t_eff more often);
    # +0.114 before t_eff's rise was capped at the crossover length (module docstring)
    assert abs(err) <= 0.10
    assert abs(th_a / th_s - 1) <= 0.02
    check_conservation(ad.records, float(arr[-1]), len(arr))


def test_reroutes_never_make_the_request_later_than_planned():
    """Each request the scheduler moves off its planned route goes to the cluster it expected to
    finish earlier; in this run (no link drop, so the expectation is accurate up to later arrivals
    sharing the link) the moved requests' TTFT is on average no worse than the planned route's."""
    rm, cfg, arr, unc, out, thr, _ = _paper(n=6000, load=0.9)
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    moved = ad.records.offloaded != ad.planned_offload
    assert moved.sum() == ad.rerouted > 0
    # the planned route of a moved request, re-timed with everything else as it happened, is later
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    tt_a, tt_s = (ad.records.ready_s - arr)[moved], (st.ready_s - arr)[moved]
    assert tt_a.mean() <= tt_s.mean()


def test_rebalance_follows_a_mix_shift():
    """Long timescale: the first half of the arrivals is short prompts (a tenth of the lengths),
    the second the paper's mix. Re-planning every 300 s moves local instances from prefill to
    decode while prompts are short and back when they lengthen; each change takes effect after the
    drain delay and the run conserves requests."""
    n = 8000
    scale = np.where(np.arange(n) < n // 2, 0.1, 1.0)
    rm, cfg, arr, unc, out, thr, plan = _paper(n=n, lengths_scale=scale)
    n_local = plan.instances["pd_prefill"] + plan.instances["pd_decode"]

    def replan(lengths, outs, rate, n_p):
        r = replan_split(rm, lengths, float(np.mean(outs)), cfg.n_prfaas, n_local, cfg.decode_slots_per_instance,
                         cfg.decode_step_s, n_p)
        return r.n_pd_prefill, r.n_pd_decode, r.threshold_tokens

    pol = AdaptivePolicy(rebalance_interval_s=300.0, drain_delay_s=30.0)
    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, pol, thr, replan, atoms=length_atoms(rm))
    assert ad.changes, "no split change"
    first = ad.changes[0]
    assert first["pd_prefill_to"] < first["pd_prefill_from"]  # short prompts: fewer prefill instances
    assert any(c["pd_prefill_to"] > c["pd_prefill_from"] for c in ad.changes[1:])  # and back
    for c in ad.changes:
        assert c["effective_s"] == c["time_s"] + 30.0
        assert c["pd_prefill_to"] + c["pd_decode_to"] == n_local
    check_conservation(ad.records, float(arr[-1]), len(arr))
    inst = np.array(ad.series.pd_prefill_instances)
    assert inst.min() < plan.instances["pd_prefill"]


def test_replan_on_the_planners_own_distribution_is_the_plan():
    """Re-planning from a sample of the workload's own lengths gives back the planner's split, and
    its threshold within 2% (sampling error of 1,000 quantile atoms)."""
    rm, cfg, arr, unc, out, thr, plan = _paper(n=20000)
    r = replan_split(rm, unc, 1024.0, cfg.n_prfaas, 8, cfg.decode_slots_per_instance, cfg.decode_step_s)
    assert (r.n_pd_prefill, r.n_pd_decode) == (plan.instances["pd_prefill"], plan.instances["pd_decode"])
    assert r.threshold_tokens == pytest.approx(thr, rel=0.02)


def test_rebalance_keeps_the_split_on_a_stationary_workload():
    """Re-planning every 300 s on the paper's own (stationary) mix changes nothing: no window's
    optimum beats the planned split by the 5% a change must gain. (60-s windows, ~180 requests,
    do now and then by sampling noise alone: plan.rebalance.MIN_GAIN.)"""
    rm, cfg, arr, unc, out, thr, plan = _paper(n=6000)
    n_local = plan.instances["pd_prefill"] + plan.instances["pd_decode"]

    def replan(lengths, outs, rate, n_p):
        r = replan_split(rm, lengths, float(np.mean(outs)), cfg.n_prfaas, n_local, cfg.decode_slots_per_instance,
                         cfg.decode_step_s, n_p)
        return r.n_pd_prefill, r.n_pd_decode, r.threshold_tokens

    ad = simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(rebalance_interval_s=300.0), thr, replan,
                           atoms=length_atoms(rm))
    assert ad.changes == []


def test_fcfs_with_changing_servers_by_hand():
    # one server; a second added at t = 1; arrivals 0, 0, 0.5, 3 with service 2 each:
    # r0 [0, 2] on s1; r1 arrives 0 (before the change) waits for s1: [2, 4]; r2 arrives 0.5, the
    # change at 1 has not applied yet (it applies from the first arrival at or after 1): [4, 6];
    # r3 at 3: the added server is free since 1: [3, 5]; then removing 1 server at 5.5 leaves one.
    st = fcfs_changing(np.array([0.0, 0.0, 0.5, 3.0, 6.0, 6.0]), np.full(6, 2.0), 1, [(1.0, 1), (5.5, -1)])
    # at 6: the servers are free at 5 and 6; the removal pops the one free at 5; r4 [6, 8], r5 [8, 10]
    np.testing.assert_allclose(st, [0.0, 2.0, 4.0, 3.0, 6.0, 8.0])


def test_policy_problems_name_the_parameter():
    assert AdaptivePolicy().problems() == []
    bad = dict(AdaptivePolicy(window_s=0, rebalance_interval_s=10, drain_delay_s=30).problems())
    assert "window_s" in bad and "rebalance_interval_s" in bad and "drain delay" in bad["rebalance_interval_s"]
    assert "step" in dict(AdaptivePolicy(step=-1).problems())
    assert "rebalance_interval_s" in dict(AdaptivePolicy(rebalance_interval_s=math.inf).problems())


@pytest.mark.parametrize("mode", ["scarce", "abundant"])
def test_mooncake_replay_with_cluster_caches_under_both_schedulers(shared, mode):
    """Mooncake trace at its own timestamps, one prefix cache per cluster (2M tokens PD, 50M
    PrfaaS): both schedulers conserve requests; with t_eff pinned the adaptive path reproduces the
    static routing of `route_two_caches` exactly, and the free policy (at the trace's 37% load it
    finds little to react to) is no worse."""
    from prfaas_plan.io.traces import read_trace
    from prfaas_plan.sim.prefix_cache import route_two_caches

    tr = read_trace(shared / "traces" / "mooncake-conversation.jsonl")
    cat = Catalog()
    ld = load_scenario(cat, "mooncake-conversation", [])  # its workload was imported from this trace
    sc = ld.spec
    inp, _ = build_inputs(cat, sc, ld.workload, ld.path, False, None)
    plan = make_plan(inp).prfaas_pd
    rm = inp.route
    _, thr = routing_cut(plan, rm)
    cfg = SimConfig(thr, plan.instances["prfaas"], plan.instances["pd_prefill"], plan.instances["pd_decode"],
                    sc.decode.max_batch, sc.decode.step_time_ms / 1e3, rm.egress_bytes_per_s, inp.rtt_s)
    cr = route_two_caches(tr, thr, mode, 512, 2e6, 5e7)
    arr = tr.arrival_s - tr.arrival_s[0]
    alt = alternatives(tr.input_tokens, cr.prefix_pd, cr.prefix_prfaas, mode, rm.local_profile,
                       rm.prfaas_profile, rm.kv_profile, cfg.link_bytes_per_s, cfg.rtt_s, rm.local_occupancy,
                       rm.prfaas_occupancy)
    np.testing.assert_array_equal(alt.route_tokens > thr, cr.offload)
    st = simulate(arr, cr.compute_tokens, tr.output_tokens, cfg, rm.prfaas_profile, rm.local_profile,
                  rm.kv_profile, offload=cr.offload, move_bytes=alt.move_local_bytes,
                  release_delay_s=alt.release_prfaas_s, s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    pinned = simulate_adaptive(arr, alt, tr.output_tokens, cfg, PINNED, thr, atoms=length_atoms(rm))
    np.testing.assert_array_equal(pinned.records.ready_s, st.ready_s)
    ad = simulate_adaptive(arr, alt, tr.output_tokens, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    for r in (st, ad.records):
        done, inside = check_conservation(r, float(arr[-1]), len(tr))
        assert done + inside == len(tr)
    m = _counted(st)
    s, a = ttft_breakdown(st, m)["overall"], ttft_breakdown(ad.records, m)["overall"]
    print(f"\n{mode}: static TTFT mean {s['mean_s']:.2f} P99 {s['p99_s']:.1f}; adaptive mean {a['mean_s']:.2f} "
          f"P99 {a['p99_s']:.1f}; rerouted {ad.rerouted}")
    assert a["mean_s"] <= s["mean_s"] * 1.001 and a["p99_s"] <= s["p99_s"] * 1.001


# ---- through the CLI -------------------------------------------------------------------------

def _cli(*args):
    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    return CliRunner().invoke(app, list(args))


def test_cli_compare_schedulers_on_the_shipped_drop(tmp_path, monkeypatch):
    """The shipped example trace resolves from any directory; both schedulers run on the same
    arrivals; the static figures are those of a plain run; the JSON carries per-second arrays;
    the output is byte-identical for the same seed."""
    monkeypatch.chdir(tmp_path)
    args = ("simulate", "--duration", "900", "--bandwidth-trace", "link-drop", "-f", "json")
    r1, r2 = _cli(*args, "--compare-schedulers"), _cli(*args, "--compare-schedulers")
    assert r1.exit_code == 0, r1.output
    assert r1.output == r2.output
    plain = json.loads(_cli(*args).output)
    d = json.loads(r1.output)
    assert "schedulers" not in plain and d["simulated"] == plain["simulated"]
    st, ad = d["schedulers"]["static"], d["schedulers"]["adaptive"]
    assert st["ttft_s"]["overall"]["p99_s"] == pytest.approx(plain["simulated"]["ttft_p99_s"])
    n = len(ad["series"]["time_s"])
    assert n >= 900 and all(len(v) == n for v in ad["series"].values())
    # the trace's drop is in the series: 4 Gbps over [300, 420)
    bw = dict(zip(ad["series"]["time_s"], ad["series"]["bandwidth_gbps"], strict=True))
    assert bw[350.0] == pytest.approx(4.0) and bw[500.0] == pytest.approx(100.0)
    assert max(ad["series"]["link_utilization"]) <= 1 + 1e-9
    for b in (st, ad):
        c = b["conservation"]
        assert c["completed"] + c["in_system"] == c["arrived"] == d["requests"]
    assert ad["rerouted"] > 0 and st["rerouted"] == 0
    assert ad["ttft_s"]["overall"]["mean_s"] <= st["ttft_s"]["overall"]["mean_s"]


def test_cli_shed_local_flag_reaches_the_policy(tmp_path, monkeypatch):
    """`--no-shed-local` reaches the policy (the JSON's policy says so) and changes the run on the
    shipped drop: the requests shedding would move stay local, so fewer are rerouted; the output is
    byte-identical run to run for a seed, and the default is shedding on."""
    monkeypatch.chdir(tmp_path)
    args = ("simulate", "--duration", "900", "--bandwidth-trace", "link-drop", "--scheduler", "adaptive",
            "--seed", "3", "-f", "json")
    off, again, default = _cli(*args, "--no-shed-local"), _cli(*args, "--no-shed-local"), _cli(*args)
    assert off.exit_code == 0 and default.exit_code == 0, off.output + default.output
    assert off.output == again.output
    ad_off, ad_on = (json.loads(r.output)["schedulers"]["adaptive"] for r in (off, default))
    assert ad_off["policy"]["shed_local"] is False and ad_on["policy"]["shed_local"] is True
    assert ad_on["rerouted"] > ad_off["rerouted"]
    assert not list(tmp_path.iterdir())  # nothing written beside stdout


def test_cli_adaptive_flapping_link_plot_and_rebalance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("matplotlib")
    r = _cli("simulate", "--requests", "3000", "--bandwidth-trace", "link-flapping", "--scheduler", "adaptive",
             "--rebalance-interval", "300", "--plot", "s.png", "-f", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["scheduler"] == "adaptive" and list(d["schedulers"]) == ["adaptive"]
    assert d["schedulers"]["adaptive"]["policy"]["rebalance_interval_s"] == 300
    assert (tmp_path / "s.png").stat().st_size > 10_000
    t = _cli("simulate", "--requests", "2000", "--scheduler", "adaptive", "--compare-schedulers")
    assert t.exit_code == 0 and "requests rerouted" in t.output and "TTFT P99, offloaded" in t.output


@pytest.mark.parametrize("args, needle", [
    (("--scheduler", "fancy"), "--scheduler"),
    (("--scheduler", "adaptive", "--window", "0"), "--window"),
    (("--scheduler", "adaptive", "--raise-delay", "-1"), "--raise-delay"),
    (("--scheduler", "adaptive", "--rebalance-interval", "0"), "--rebalance-interval"),
    (("--scheduler", "adaptive", "--rebalance-interval", "10", "--drain-delay", "30"), "--rebalance-interval"),
    (("--scheduler", "adaptive", "--drain-delay", "0"), "--drain-delay"),
    (("--plot", "x.svg"), "--plot"),
    (("--bandwidth-trace", "no-such-trace"), "--bandwidth-trace"),
])
def test_cli_bad_scheduler_input_exits_2_naming_the_flag(tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    r = _cli("simulate", "--requests", "100", *args)
    assert r.exit_code == 2, r.output
    assert needle in r.output and "Traceback" not in r.output
    assert not list(tmp_path.iterdir())  # nothing written


def test_cli_mooncake_cluster_caches_under_both_schedulers(shared):
    r = _cli("simulate", "mooncake-conversation", "--trace", str(shared / "traces" / "mooncake-conversation.jsonl"),
             "--prefix-routing", "scarce", "--cache-tokens", "2000000", "--prfaas-cache-tokens", "50000000",
             "--compare-schedulers", "-f", "json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["prefix_routing"]["mode"] == "scarce"
    for b in d["schedulers"].values():
        c = b["conservation"]
        assert c["completed"] + c["in_system"] == c["arrived"] == d["requests"]


def test_pricing_the_delay_keeps_the_largest_prompts_on_the_link():
    """`price_delay` (the hindsight oracle's lead): during the 4-Gbps drop, a long prompt moved to the
    local pool holds an instance for tens of seconds while, under the sjf sender, its KV delays no other
    on the link. Priced, the prompts moved local are shorter (seed 0: longest 62K vs 68K tokens) and
    take less of the local pool (225 vs 243 instance-seconds), and the P99 falls (41.4 -> 35.4 s) with
    the mean (5.54 -> 5.51 s). Off, the policy is the previous one."""
    rm, cfg, arr, unc, out, thr, _ = _paper(drop=(300, 420, 4.0))
    runs = {p: simulate_adaptive(arr, _alts(rm, cfg, unc), out, cfg, AdaptivePolicy(price_delay=p), thr,
                                 atoms=length_atoms(rm)) for p in (True, False)}
    drop = (arr >= 300) & (arr < 420) & (unc > thr)
    moved = {p: drop & ~r.records.offloaded for p, r in runs.items()}
    busy = {p: float(np.sum(rm.local_occupancy(unc[mv]))) for p, mv in moved.items()}
    m = _counted(runs[True].records)
    t = {p: ttft_breakdown(r.records, m)["overall"] for p, r in runs.items()}
    print(f"\nmoved local in the drop: priced {moved[True].sum()} (longest {unc[moved[True]].max():.0f}, {busy[True]:.0f} "
          f"instance-s), not {moved[False].sum()} (longest {unc[moved[False]].max():.0f}, {busy[False]:.0f}); P99 "
          f"{t[True]['p99_s']:.1f} vs {t[False]['p99_s']:.1f} s, mean {t[True]['mean_s']:.2f} vs {t[False]['mean_s']:.2f} s")
    assert unc[moved[True]].max() < unc[moved[False]].max() and busy[True] < busy[False]
    assert t[True]["p99_s"] < t[False]["p99_s"] and t[True]["mean_s"] < t[False]["mean_s"]
