"""The adaptive scheduler's figures (run: python benchmarks/scheduler.py [--requests N] [--skip-million]).

1. Paper scenario, 80% load, 900 s, link at 4 Gbps over [300, 420) s: static vs adaptive TTFT,
   each lever of the adaptive policy alone and together (the KV sender's order, the decode loan,
   the local queue allowed while congestion lasts), --local-wait-max from 2 to 40 s, the default
   over seeds 0-4 and over other drops; for reference, static routing with a fixed threshold
   during the drop (an oracle: the in-drop threshold is known in advance there).
2. Constant link, Poisson, 20,000 requests: t_eff against the planner's t, throughput.
3. One adaptive run of --requests (default 1,000,000) requests on the core engine, in a child
   process: wall time and peak resident memory (the issue's goal: < 20 s, < 2 GB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def setup(n: int | None = None, duration: float = 900.0, drop: bool = False, seed: int = 0):
    from prfaas_plan.commands.scheduling import poisson_run
    from prfaas_plan.sim.adaptive import alternatives

    p = poisson_run(0.8, duration, n, seed, (300.0, 420.0, 4.0) if drop else None)
    rm, cfg, unc = p.rm, p.cfg, p.uncached
    z = np.zeros(len(unc))
    alt = alternatives(unc, z, z, "shared", rm.local_profile, rm.prfaas_profile, rm.kv_profile,
                       cfg.link_bytes_per_s, cfg.rtt_s, rm.local_occupancy, rm.prfaas_occupancy)
    return rm, cfg, p.arrival_s, unc, p.output, p.threshold_tokens, alt


def length_atoms(rm):
    from prfaas_plan.commands.scheduling import length_atoms as la

    return la(rm)


def ttft(r) -> dict[str, float]:
    from prfaas_plan.sim.metrics import decode_wait, ttft_breakdown

    m = r.arrival_s >= r.arrival_s[int(len(r.arrival_s) * 0.1)]
    b = ttft_breakdown(r, m)
    o = b["overall"]
    return {"mean": round(o["mean_s"], 2), "p90": round(o["p90_s"], 2), "p99": round(o["p99_s"], 1),
            "p99.9": round(o["p999_s"], 1), "max": round(o["max_s"], 1), "off_p99": round(b["offloaded"]["p99_s"], 1),
            "local_p99": round(b["local"]["p99_s"], 1), "decode_wait_p99": round(decode_wait(r, m)["p99_s"], 1)}


def _static(rm, cfg, arr, unc, out, **kw):
    from prfaas_plan.sim.engine import simulate

    return simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                    s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy, **kw)


def _vs(a: dict[str, float], s: dict[str, float]) -> str:
    return f"P99 {a['p99'] / s['p99']:.2f}x, mean {a['mean'] / s['mean']:.2f}x static"


BEFORE = {"link_order": "ps", "borrow_decode": False, "local_wait_max_s": 2.0,
          "shed_local": False, "price_delay": False}  # the policy before the levers
LEVERS = [("before: ps sender, no loan, no local backlog", BEFORE),
          ("+ sjf sender only", {**BEFORE, "link_order": "sjf"}),
          ("+ fifo sender only", {**BEFORE, "link_order": "fifo"}),
          ("+ decode loan only", {**BEFORE, "borrow_decode": True}),
          ("+ local backlog only", {**BEFORE, "local_wait_max_s": None}),
          ("sjf + loan", {"local_wait_max_s": 2.0, "price_delay": False}),
          ("sjf + local backlog", {"borrow_decode": False, "price_delay": False}),
          ("sjf + loan + local backlog (no shedding: the first #15 merge)", {"shed_local": False, "price_delay": False}),
          ("sjf + loan + local backlog + shedding (the default until pricing the delay)", {"price_delay": False}),
          ("default: sjf + loan + local backlog + shedding + pricing the delay", {})]


def drop_figures() -> None:
    import dataclasses

    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    rm, cfg, arr, unc, out, thr, alt = setup(drop=True)
    s0 = ttft(_static(rm, cfg, arr, unc, out))
    print(f"drop 300-420 s at 4 Gbps, {len(arr):,} requests: static {s0}")
    for name, kw in LEVERS:
        ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(**kw), thr, atoms=length_atoms(rm))
        a = ttft(ad.records)
        print(f"  adaptive, {name}: {a} ({_vs(a, s0)}; rerouted {ad.rerouted}, "
              f"decode lent {sum(c['borrow'] > 0 for c in ad.changes)})")
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    print(f"  (the default local backlog allowance resolved to {ad.local_wait_max_s:.1f} s)")
    for w in (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0):
        a = ttft(simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(local_wait_max_s=w), thr, atoms=length_atoms(rm)).records)
        print(f"  adaptive, --local-wait-max {w:g}: {a} ({_vs(a, s0)})")
    for order in ("fifo", "sjf"):
        a = ttft(_static(rm, dataclasses.replace(cfg, link_order=order), arr, unc, out))
        print(f"  static routing, {order} sender: {a} ({_vs(a, s0)})")
    for t_drop in (25000, 30000, 36000, 45000):
        t = np.where((arr >= 300) & (arr < 420), t_drop, thr)
        a = ttft(_static(rm, cfg, arr, unc, out, offload=unc > t))
        print(f"  static with t = {t_drop:,} during the drop (oracle): {a} ({_vs(a, s0)})")
    for seed in range(1, 5):
        rm, cfg, arr, unc, out, thr, alt = setup(drop=True, seed=seed)
        s = ttft(_static(rm, cfg, arr, unc, out))
        a = ttft(simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm)).records)
        print(f"  seed {seed}: static P99 {s['p99']}, mean {s['mean']}; adaptive P99 {a['p99']}, mean {a['mean']} "
              f"({_vs(a, s)})")


def _drop(base, start: int, end: int, gbps: float):
    """`setup()`'s config with the link at `gbps` over [start, end) of the hour."""
    import dataclasses

    cfg = base[1]
    f = np.ones(3600)
    f[start:end] = gbps / (cfg.link_bytes_per_s * 8 / 1e9)
    return dataclasses.replace(cfg, bandwidth_factors=f)


def other_drops() -> None:
    """The default policy, and the policy before the levers, on other drops (seed 0, 900 s)."""
    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    base = setup()
    rm, _, arr, unc, out, thr, alt = base
    for start, end, gbps in ((300, 302, 1.0), (300, 303, 4.0), (300, 310, 4.0), (300, 360, 4.0), (300, 540, 4.0),
                             (300, 420, 2.0), (300, 420, 8.0), (300, 420, 20.0)):
        cfg = _drop(base, start, end, gbps)
        s = ttft(_static(rm, cfg, arr, unc, out))
        b = ttft(simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(**BEFORE), thr, atoms=length_atoms(rm)).records)
        ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
        a = ttft(ad.records)
        print(f"drop {start}-{end} s at {gbps:g} Gbps: static P99 {s['p99']}, mean {s['mean']}; before {_vs(b, s)}; "
              f"default {_vs(a, s)}; loans at {[c['time_s'] for c in ad.changes if c['borrow'] > 0]}")


def flapping_figures() -> None:
    import dataclasses

    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    rm, cfg, arr, unc, out, thr, alt = setup()
    cfg = dataclasses.replace(cfg, bandwidth_factors=np.where(np.arange(40) < 20, 1.0, 0.1))
    s = ttft(_static(rm, cfg, arr, unc, out))
    print(f"flapping (100 / 10 Gbps every 20 s), {len(arr):,} requests: static {s}")
    for name, kw in (("before", BEFORE), ("default", {})):
        ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(**kw), thr, atoms=length_atoms(rm))
        a = ttft(ad.records)
        print(f"  adaptive {name}: {a} ({_vs(a, s)}; rerouted {ad.rerouted}, decode lent "
              f"{sum(c['borrow'] > 0 for c in ad.changes)})")


def constant_figures() -> None:
    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive
    from prfaas_plan.sim.engine import simulate

    rm, cfg, arr, unc, out, thr, alt = setup(n=20000)
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    te = np.array(ad.series.threshold_tokens)
    half = te[len(te) // 2:]
    w0 = arr[len(arr) // 10]

    def thr_(r) -> float:
        return float(((r.decode_end_s >= w0) & (r.decode_end_s <= arr[-1])).sum() / (arr[-1] - w0))

    print(f"constant link, 20,000 requests: t_eff mean / t - 1 = {half.mean() / thr - 1:+.3f}, median "
          f"{np.median(half) / thr - 1:+.3f}; throughput {thr_(st):.4f} -> {thr_(ad.records):.4f} rps "
          f"({thr_(ad.records) / thr_(st) - 1:+.2%}); TTFT static {ttft(st)}, adaptive {ttft(ad.records)}")


def seed_row(seed: int, policy: dict) -> dict[str, float]:
    """One seed's figures (README 'Scheduling', all-seeds table): the 120-s and 60-s drops at 4 Gbps
    (adaptive against static and against static routing with the same shortest-first sender), and the
    constant link over 20,000 requests (t_eff's second-half time average against t, throughput)."""
    import dataclasses

    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    base = setup(seed=seed)
    rm, _, arr, unc, out, thr, alt = base
    row: dict[str, float] = {}
    for tag, (start, end) in (("d120", (300, 420)), ("d60", (300, 360))):
        cfg = _drop(base, start, end, 4.0)
        s = ttft(_static(rm, cfg, arr, unc, out))
        sj = ttft(_static(rm, dataclasses.replace(cfg, link_order="sjf"), arr, unc, out))
        a = ttft(simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(**policy), thr, atoms=length_atoms(rm)).records)
        row.update({f"{tag}_p99": a["p99"] / s["p99"], f"{tag}_mean": a["mean"] / s["mean"],
                    f"{tag}_sjf_p99": a["p99"] / sj["p99"], f"{tag}_sjf_mean": a["mean"] / sj["mean"],
                    f"{tag}_static_p99": s["p99"], f"{tag}_adaptive_p99": a["p99"]})
    rm, cfg, arr, unc, out, thr, alt = setup(n=20000, seed=seed)
    st = _static(rm, cfg, arr, unc, out)
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(**policy), thr, atoms=length_atoms(rm))
    te = np.array(ad.series.threshold_tokens)
    w0 = arr[len(arr) // 10]

    def thr_(r) -> float:
        return float(((r.decode_end_s >= w0) & (r.decode_end_s <= arr[-1])).sum() / (arr[-1] - w0))

    row.update({"teff": float(te[len(te) // 2:].mean() / thr - 1), "throughput": thr_(ad.records) / thr_(st) - 1})
    return row


def seed_table(seeds: list[int]) -> None:
    """Markdown rows, before (the default until the delay a move imposes was priced) and after."""
    print("| seed | 120-s drop P99 / mean vs static | vs static+sjf | 60-s drop P99 / mean | vs static+sjf "
          "| constant link: t_eff / t - 1, throughput |")
    for seed in seeds:
        b, a = seed_row(seed, {"price_delay": False}), seed_row(seed, {})

        def pair(k: str, b: dict = b, a: dict = a) -> str:
            return f"{b[k + '_p99']:.2f} / {b[k + '_mean']:.2f} -> **{a[k + '_p99']:.2f} / {a[k + '_mean']:.2f}**"

        def sj(k: str, b: dict = b, a: dict = a) -> str:
            return f"{b[k + '_sjf_p99']:.2f} / {b[k + '_sjf_mean']:.2f} -> {a[k + '_sjf_p99']:.2f} / {a[k + '_sjf_mean']:.2f}"

        print(f"| {seed} | {pair('d120')} | {sj('d120')} | {pair('d60')} | {sj('d60')} | "
              f"{b['teff']:+.1%}, {b['throughput']:+.2%} -> {a['teff']:+.1%}, {a['throughput']:+.2%} |", flush=True)


def child(n: int) -> None:
    import resource

    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    t0 = time.perf_counter()
    rm, cfg, arr, unc, out, thr, alt = setup(n=n)
    t1, c1 = time.perf_counter(), time.process_time()
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr, atoms=length_atoms(rm))
    t2, c2 = time.perf_counter(), time.process_time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(json.dumps({"requests": n, "setup_s": t1 - t0, "adaptive_s": t2 - t1, "adaptive_cpu_s": c2 - c1, "peak_rss_mib": rss,
                      "rerouted": ad.rerouted, "ticks": len(ad.series.time_s)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--skip-million", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--seeds", help="only the all-seeds table, for these seeds (e.g. 0-4 or 5-14)")
    a = ap.parse_args()
    if a.child:
        child(a.requests)
        return
    if a.seeds:
        lo, _, hi = a.seeds.partition("-")
        seed_table(list(range(int(lo), int(hi or lo) + 1)))
        return
    drop_figures()
    other_drops()
    flapping_figures()
    constant_figures()
    if not a.skip_million:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, __file__, "--child", "--requests", str(a.requests)], check=True,
                           capture_output=True, text=True)
        d = json.loads(r.stdout)
        total = time.perf_counter() - t0
        print(f"adaptive, {d['requests']:,} requests ({d['ticks']:,} one-second ticks): {d['adaptive_s']:.1f} s "
              f"engine wall ({d['adaptive_cpu_s']:.1f} s CPU) (+{d['setup_s']:.1f} s plan and arrivals), "
              f"{total:.1f} s in all, peak RSS {d['peak_rss_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()
