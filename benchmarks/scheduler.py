"""The adaptive scheduler's figures (run: python benchmarks/scheduler.py [--requests N] [--skip-million]).

1. Paper scenario, 80% load, 900 s, link at 4 Gbps over [300, 420) s: static vs adaptive TTFT,
   and, for reference, static routing with a fixed threshold during the drop (what the best
   threshold-only reaction could do: the in-drop threshold is known in advance there).
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
    from prfaas_plan.assemble.distributions import length_dist
    from prfaas_plan.assemble.inputs import build_inputs
    from prfaas_plan.assemble.scenario import load_scenario
    from prfaas_plan.catalog import Catalog
    from prfaas_plan.plan import dist as D
    from prfaas_plan.plan.planner import make_plan, routing_cut
    from prfaas_plan.sim.adaptive import alternatives
    from prfaas_plan.sim.engine import SimConfig

    cat = Catalog()
    ld = load_scenario(cat, None, [])
    sc, wl = ld.spec, ld.workload
    inp, _ = build_inputs(cat, sc, wl, ld.path, False, None)
    plan = make_plan(inp).prfaas_pd
    rm = inp.route
    rng = np.random.default_rng(seed)
    offered = 0.8 * plan.max_throughput_rps
    n = n or int(np.ceil(duration * offered))
    gaps = rng.exponential(1.0 / offered, size=n)
    arr = np.cumsum(gaps) - gaps[0]
    unc = rm.atoms[rng.integers(0, len(rm.atoms), size=n)]
    out = length_dist(wl.output_length).discretize(D.DEFAULT_ATOMS)[rng.integers(0, D.DEFAULT_ATOMS, size=n)]
    f = None
    if drop:
        f = np.ones(3600)
        f[300:420] = 4.0 / sc.link.bandwidth_gbps
    _, thr = routing_cut(plan, rm)
    cfg = SimConfig(thr, plan.instances["prfaas"], plan.instances["pd_prefill"], plan.instances["pd_decode"],
                    sc.decode.max_batch, sc.decode.step_time_ms / 1e3, rm.egress_bytes_per_s, inp.rtt_s, f)
    z = np.zeros(n)
    alt = alternatives(unc, z, z, "shared", rm.local_profile, rm.prfaas_profile, rm.kv_profile,
                       cfg.link_bytes_per_s, cfg.rtt_s, rm.local_occupancy, rm.prfaas_occupancy)
    return rm, cfg, arr, unc, out, thr, alt


def ttft(r) -> dict[str, float]:
    from prfaas_plan.sim.metrics import ttft_breakdown

    m = r.arrival_s >= r.arrival_s[int(len(r.arrival_s) * 0.1)]
    o = ttft_breakdown(r, m)["overall"]
    return {"mean": round(o["mean_s"], 2), "p90": round(o["p90_s"], 2), "p99": round(o["p99_s"], 1)}


def drop_figures() -> None:
    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive
    from prfaas_plan.sim.engine import simulate

    rm, cfg, arr, unc, out, thr, alt = setup(drop=True)
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr)
    print(f"drop 300-420 s at 4 Gbps, {len(arr):,} requests: static {ttft(st)}; adaptive {ttft(ad.records)} "
          f"(rerouted {ad.rerouted})")
    for t_drop in (22000, 25000, 30000, 36000, 45000):
        t = np.where((arr >= 300) & (arr < 420), t_drop, thr)
        r = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile, offload=unc > t,
                     s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
        print(f"  static with t = {t_drop:,} during the drop (oracle): {ttft(r)}")


def constant_figures() -> None:
    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive
    from prfaas_plan.sim.engine import simulate

    rm, cfg, arr, unc, out, thr, alt = setup(n=20000)
    st = simulate(arr, unc, out, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                  s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy)
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr)
    te = np.array(ad.series.threshold_tokens)
    half = te[len(te) // 2:]
    w0 = arr[len(arr) // 10]

    def thr_(r) -> float:
        return float(((r.decode_end_s >= w0) & (r.decode_end_s <= arr[-1])).sum() / (arr[-1] - w0))

    print(f"constant link, 20,000 requests: t_eff mean / t - 1 = {half.mean() / thr - 1:+.3f}, median "
          f"{np.median(half) / thr - 1:+.3f}; throughput {thr_(st):.4f} -> {thr_(ad.records):.4f} rps "
          f"({thr_(ad.records) / thr_(st) - 1:+.2%}); TTFT static {ttft(st)}, adaptive {ttft(ad.records)}")


def child(n: int) -> None:
    import resource

    from prfaas_plan.sim.adaptive import AdaptivePolicy, simulate_adaptive

    t0 = time.perf_counter()
    rm, cfg, arr, unc, out, thr, alt = setup(n=n)
    t1, c1 = time.perf_counter(), time.process_time()
    ad = simulate_adaptive(arr, alt, out, cfg, AdaptivePolicy(), thr)
    t2, c2 = time.perf_counter(), time.process_time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    print(json.dumps({"requests": n, "setup_s": t1 - t0, "adaptive_s": t2 - t1, "adaptive_cpu_s": c2 - c1, "peak_rss_mib": rss,
                      "rerouted": ad.rerouted, "ticks": len(ad.series.time_s)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--skip-million", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.requests)
        return
    drop_figures()
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
