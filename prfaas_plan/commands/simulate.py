"""`prfaas simulate`: plans a scenario, simulates the planned PrfaaS-PD deployment with
`sim.engine`, and puts the closed-form prediction beside each simulated figure.

Arrivals: the trace's own timestamps (`--trace`), or a renewal process (gamma inter-arrival times
with the workload's squared CV; 1 = Poisson) at `load` x Lambda_max. Lengths: the trace's
requests, or samples of the workload's uncached-length atoms and output distribution.
Statistics skip a warm-up of the first 10% of arrivals; throughput counts decode completions in
[warm-up end, last arrival].
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from prfaas_plan.assemble.distributions import length_dist
from prfaas_plan.assemble.inputs import build_inputs
from prfaas_plan.assemble.scenario import load_scenario
from prfaas_plan.assemble.workload import split_trace_sets, trace_workload
from prfaas_plan.catalog import Catalog, bandwidth_trace_path
from prfaas_plan.commands.scheduling import (
    SCHEDULERS,
    adaptive_series,
    block,
    check_scheduler,
    make_policy,
    run_adaptive,
    static_series,
)
from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan import dist as D
from prfaas_plan.plan.latency import thinned_scv
from prfaas_plan.plan.planner import Plan, PlanInputs, make_plan, routing_cut
from prfaas_plan.plan.scale import burst_p99_bytes
from prfaas_plan.plan.throughput import RouteModel
from prfaas_plan.sim.adaptive import AdaptivePolicy, AdaptiveResult
from prfaas_plan.sim.engine import (
    MAX_LINK_SLOTS,
    MAX_REQUESTS,
    LinkTooSlowError,
    SimConfig,
    SimRecords,
    check_conservation,
    growth_slope,
    simulate,
    window_bytes,
)
from prfaas_plan.sim.prefix_cache import ClusterRouting, cached_prefix, route_two_caches
from prfaas_plan.specs.scenario import FixedDecode, ScenarioSpec
from prfaas_plan.specs.trace import Trace
from prfaas_plan.specs.workload import WorkloadSpec

WARMUP = 0.1
BOUND_STAGE = {"prfaas_compute": "prfaas", "prfaas_link": "link"}  # planner bound -> simulated stage
DEFAULT_REQUESTS = 20000


def _rel(sim: float | None, pred: float | None) -> float | None:
    if sim is None or pred is None or not np.isfinite(sim) or not np.isfinite(pred) or sim == 0:
        return None
    return pred / sim - 1.0


@dataclass
class Arrivals:
    arrival_s: np.ndarray
    uncached: np.ndarray
    output: np.ndarray
    offered_rps: float
    load: float
    source: str


def _check_span(span_s: float, what: str, fix: str) -> None:
    """The run's per-second series (link slots, the adaptive scheduler's ticks) cover the arrivals'
    span: a span beyond MAX_LINK_SLOTS seconds is refused before they are sized (two trace requests
    10^8 s apart ran the adaptive scheduler for ever)."""
    if span_s > MAX_LINK_SLOTS:
        raise PrfaasError(f"{what} {span_s:,.0f} s, more than the {MAX_LINK_SLOTS:,} one-second slots one run holds",
                          fix=fix)


def _arrivals(rng: np.random.Generator, wl: WorkloadSpec, rm: RouteModel, lam_max: float, trace: Trace | None,
              block_tokens: int, cache_tokens: float | None, requests: int | None, duration: float | None,
              load: float | None, seed: int) -> Arrivals:
    scv_in = wl.arrival.burstiness_scv  # for a trace, its workload was measured from the same trace
    if trace is not None:
        arr = trace.arrival_s - trace.arrival_s[0]
        unc = trace.input_tokens - cached_prefix(trace, block_tokens, cache_tokens)
        if len(arr) > MAX_REQUESTS:
            raise PrfaasError(f"{trace.path}: {len(arr):,} requests, more than the {MAX_REQUESTS:,} one run may hold",
                              fix=f"replay at most {MAX_REQUESTS:,} requests (cut the trace file)")
        _check_span(float(arr[-1]), f"{trace.path}: its requests span", "replay a shorter part of the trace")
        offered = len(arr) / max(float(arr[-1]), 1e-9)
        return Arrivals(arr, unc, trace.output_tokens, offered, offered / lam_max,
                        f"trace {trace.path} ({len(arr):,} requests at their own timestamps)")
    load_used = 0.8 if load is None else load
    offered = load_used * lam_max
    n = requests if requests is not None else int(np.ceil((duration or 0.0) * offered))
    if duration is None and requests is None:
        n = DEFAULT_REQUESTS
    if n < 10:
        raise PrfaasError(f"too few requests to simulate ({n})", fix="raise --requests or --duration")
    if n > MAX_REQUESTS:
        raise PrfaasError(f"--requests/--duration: {n:,} requests is more than the {MAX_REQUESTS:,} one run may hold",
                          fix=f"simulate at most {MAX_REQUESTS:,} requests (lower --requests or --duration)")
    if scv_in > 0:
        k = 1.0 / scv_in
        gaps = rng.gamma(k, 1.0 / (k * offered), size=n)
    else:
        gaps = np.full(n, 1.0 / offered)
    arr = np.cumsum(gaps) - gaps[0]
    _check_span(float(arr[-1]), f"--requests/--duration at {offered:.3g} req/s: the arrivals span",
                "lower --requests or --duration, or raise --load")
    unc = rm.atoms[rng.integers(0, len(rm.atoms), size=n)]
    out = length_dist(wl.output_length).discretize(D.DEFAULT_ATOMS)[rng.integers(0, D.DEFAULT_ATOMS, size=n)]
    return Arrivals(arr, unc, out, offered, load_used,
                    f"renewal arrivals, SCV {scv_in:g}, {load_used:.0%} of Lambda_max ({n:,} requests, seed {seed})")


def _random_link(rng: np.random.Generator, horizon: float, link_cv: float) -> np.ndarray:
    """Lognormal AR(1) bandwidth factor per second, mean 1, capped at 1 (the nominal bandwidth is the peak)."""
    from scipy.signal import lfilter

    m = int(horizon) + 3600
    e = rng.standard_normal(m)
    e[1:] *= np.sqrt(1 - 0.81)
    z = lfilter([1.0], [1.0, -0.9], e)  # z[i] = 0.9 z[i-1] + sqrt(0.19) e[i]: stationary N(0, 1)
    s2 = np.log1p(link_cv ** 2)
    return np.asarray(np.minimum(np.exp(np.sqrt(s2) * z - s2 / 2), 1.0))


def _two_caches(trace: Trace, thr: float, mode: str, rm: RouteModel, rtt_s: float, block_tokens: int,
                cache_tokens: float | None, prfaas_cache_tokens: float | None
                ) -> tuple[np.ndarray, dict[str, Any], dict[str, Any], ClusterRouting]:
    """Per-cluster prefix caches: computed tokens, the engine's extra arguments, the report's summary
    and the routing itself (the adaptive scheduler prices both routes from its prefixes)."""
    cr = route_two_caches(trace, thr, mode, block_tokens, cache_tokens,
                          cache_tokens if prfaas_cache_tokens is None else prfaas_cache_tokens)

    def moved(tok: np.ndarray) -> np.ndarray:
        # KV of the extra prefix tokens plus the recurrent / window state at its end
        return np.where(tok > 0, np.asarray(rm.kv_profile(np.maximum(tok, 1.0)), dtype=float), 0.0)

    to_pd, to_pf = moved(cr.move_to_pd_tokens), moved(cr.move_to_prfaas_tokens)
    kw = {"offload": cr.offload, "move_bytes": to_pd,
          "release_delay_s": np.where(to_pf > 0, to_pf / rm.egress_bytes_per_s + rtt_s, 0.0)}
    tin = trace.input_tokens
    info = {
        "mode": mode,
        "prefix_hit_ratio_pd": float(cr.prefix_pd.sum() / tin.sum()),
        "prefix_hit_ratio_prfaas": float(cr.prefix_prfaas.sum() / tin.sum()),
        "computed_token_fraction": float(cr.compute_tokens.sum() / tin.sum()),
        "moves_to_pd": int((cr.move_to_pd_tokens > 0).sum()),
        "moves_to_prfaas": int((cr.move_to_prfaas_tokens > 0).sum()),
        "moved_to_pd_gb": float(to_pd.sum() / 1e9),
        "moved_to_prfaas_gb": float(to_pf.sum() / 1e9),
    }
    return cr.compute_tokens, kw, info, cr


def _stages(r: SimRecords, rm: RouteModel, stat: np.ndarray, w0: float, horizon: float) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    for name, mask, st, ref in (
        ("prfaas", r.offloaded, r.prefill_start_s, r.arrival_s),
        ("pd_prefill", ~r.offloaded, r.prefill_start_s, r.arrival_s),
        # link: the delay sharing adds over an idle link (transfer end vs an exclusive transfer)
        ("link", r.offloaded, r.transfer_end_s, r.transfer_start_s + r.kv_bytes / rm.egress_bytes_per_s),
        ("pd_decode", np.ones(len(r.arrival_s), bool), r.decode_start_s, r.ready_s),
    ):
        mm = mask & stat
        wait = np.maximum(st[mm] - ref[mm], 0.0)
        stages[name] = {
            "requests": int(mm.sum()),
            "mean_wait_s": float(wait.mean()) if mm.any() else 0.0,
            "mean_queue_length": float(wait.sum() / max(horizon - w0, 1e-9)),
            "wait_growth_s_per_s": growth_slope(r.arrival_s[mm], wait) if mm.any() else 0.0,
        }
    return stages


def _simulated(r: SimRecords, rm: RouteModel, stat: np.ndarray, w0: float, horizon: float) -> dict[str, Any]:
    ttft = r.ready_s - r.arrival_s
    t_s, t_e, t_b = r.transfer_start_s, r.transfer_end_s, r.kv_bytes
    if r.move_bytes is not None and r.move_start_s is not None and r.move_end_s is not None:
        t_s, t_e, t_b = (np.concatenate(x) for x in ((t_s, r.move_start_s), (t_e, r.move_end_s), (t_b, r.move_bytes)))
    wb = window_bytes(t_s, t_e, t_b, w0, horizon)
    return {
        "throughput_rps": float(((r.decode_end_s >= w0) & (r.decode_end_s <= horizon)).sum() / max(horizon - w0, 1e-9)),
        "ttft_mean_s": float(ttft[stat].mean()), "ttft_p50_s": float(np.quantile(ttft[stat], 0.5)),
        "ttft_p90_s": float(np.quantile(ttft[stat], 0.9)), "ttft_p99_s": float(np.quantile(ttft[stat], 0.99)),
        "egress_mean_gbps": float(wb.sum() / max(horizon - w0, 1e-9) * 8 / 1e9),
        "egress_p99_1s_gbps": float(np.quantile(wb, 0.99) * 8 / 1e9) if len(wb) else 0.0,
        "link_utilization": float(wb.sum() / max(horizon - w0, 1e-9) / rm.egress_bytes_per_s),
        "offload_fraction": float(r.offloaded[stat].mean()),
    }


def _closed_form(inp: PlanInputs, plan: Plan, a: Arrivals, j: int, scv_in: float, seed: int) -> dict[str, Any]:
    rm, lam_max = inp.route, plan.max_throughput_rps
    pred: dict[str, Any] = {"throughput_rps": min(a.offered_rps, lam_max), "ttft_mean_s": None, "ttft_p90_s": None}
    if a.load < 0.99:
        p2 = make_plan(dataclasses.replace(inp, load=a.load)).prfaas_pd
        assert p2 is not None
        pred["ttft_mean_s"], pred["ttft_p90_s"] = p2.loaded_ttft_s["mean"], p2.loaded_ttft_s["p90"]
    p_off = plan.offload_fraction
    long_S = rm.kv_bytes[j:] if j < len(rm.atoms) else np.zeros(1)
    rate_off = min(a.offered_rps, lam_max) * p_off
    pred["egress_mean_gbps"] = rate_off * float(long_S.mean()) * 8 / 1e9
    pred["link_utilization"] = pred["egress_mean_gbps"] * 1e9 / 8 / rm.egress_bytes_per_s
    pred["egress_p99_1s_gbps"] = burst_p99_bytes(rate_off, long_S, thinned_scv(scv_in, p_off), seed) * 8 / 1e9 \
        if rate_off > 0 else 0.0
    return pred


def _notes(plan: Plan, growing: list[str], routing_info: dict[str, Any] | None, factors: np.ndarray | None,
           load_used: float) -> list[str]:
    notes = [
        "closed form: throughput = min(offered, Lambda_max); TTFT = planner's loaded TTFT (Allen-Cunneen) at the "
        "simulated load; egress P99 = renewal-burst model of `prfaas scale`",
        f"statistics skip the first {WARMUP:.0%} of arrivals (warm-up)",
    ]
    if growing:
        notes.append(f"queues growing without bound at: {', '.join(growing)} "
                     f"(planner's binding stage: {BOUND_STAGE.get(plan.binding, plan.binding)}, bound {plan.binding})")
    if routing_info is not None:
        ri = routing_info
        notes.append(
            f"per-cluster prefix caches, {ri['mode']}-bandwidth rule: PD cache covers "
            f"{ri['prefix_hit_ratio_pd']:.1%} of input tokens, PrfaaS cache "
            f"{ri['prefix_hit_ratio_prfaas']:.1%}; {ri['moves_to_pd']:,} prefix moves to PD "
            f"({ri['moved_to_pd_gb']:.2f} GB on the egress link), {ri['moves_to_prfaas']:,} to "
            f"PrfaaS ({ri['moved_to_prfaas_gb']:.2f} GB, reverse direction); the closed form assumes one "
            "shared cache")
    if factors is not None:
        notes.append(f"link bandwidth follows a per-second factor (mean {float(np.mean(factors)):.2f}, min "
                     f"{float(np.min(factors)):.2f} of nominal); the closed form uses the nominal bandwidth")
    if load_used >= 0.99:
        notes.append(f"offered load is {load_used:.0%} of Lambda_max: no steady-state closed-form TTFT")
    return notes


def _run_engines(scheduler: str, both: bool, a: Arrivals, unc: np.ndarray, kw: dict[str, Any], cfg: SimConfig,
                 rm: RouteModel, thr: float, policy: AdaptivePolicy | None, trace: Trace | None,
                 cr: ClusterRouting | None, mode: str) -> tuple[SimRecords | None, AdaptiveResult | None]:
    """The static and/or the adaptive run on the same arrivals."""
    want = {scheduler} | (set(SCHEDULERS) if both else set())
    st, ad = None, None
    assert rm.prfaas_profile is not None
    try:
        if "static" in want:
            st = simulate(a.arrival_s, unc, a.output, cfg, rm.prfaas_profile, rm.local_profile, rm.kv_profile,
                          s_prfaas=rm.prfaas_occupancy, s_local=rm.local_occupancy, **kw)
        if "adaptive" in want:
            ad = run_adaptive(a.arrival_s, a.uncached, a.output, cfg, rm, thr, policy or AdaptivePolicy(),
                              trace.input_tokens if trace is not None else None, cr, mode)
    except LinkTooSlowError as exc:
        raise PrfaasError(f"--bandwidth-trace/--link-cv: {exc}",
                          fix="check the bandwidth trace's units (Gbps), or simulate fewer requests") from None
    return st, ad


def _check_options(sc: ScenarioSpec, path: str, trace: Trace | None, prefix_routing: str, link_cv: float,
                   bandwidth_factors: np.ndarray | None) -> None:
    if sc.prfaas is None:
        raise PrfaasError(f"{path}: simulate needs a prfaas cluster", fix="add a prfaas: block")
    if prefix_routing != "shared" and trace is not None and not any(trace.hash_ids or []):
        raise PrfaasError(f"--prefix-routing {prefix_routing}: {trace.path} has no hash_ids (prefix blocks) in any "
                          "request, so no cache could ever hit", fix="replay a Mooncake trace with hash_ids, or drop "
                          "--prefix-routing")
    if prefix_routing != "shared" and (trace is None or trace.hash_ids is None):
        raise PrfaasError(f"--prefix-routing {prefix_routing} needs per-request prefix blocks",
                          fix="replay a Mooncake trace with hash_ids (--trace FILE)")
    if link_cv > 0 and bandwidth_factors is not None:
        raise PrfaasError("give --link-cv or --bandwidth-trace, not both", fix="drop one of them")


def run_simulation(cat: Catalog, sc: ScenarioSpec, wl: WorkloadSpec, path: str, *, requests: int | None,
                   duration: float | None, load: float | None, seed: int, trace: Trace | None, block_tokens: int = 512,
                   cache_tokens: float | None = None, link_cv: float = 0.0,
                   bandwidth_factors: np.ndarray | None = None, prefix_routing: str = "shared",
                   prfaas_cache_tokens: float | None = None, scheduler: str = "static",
                   policy: AdaptivePolicy | None = None, compare_schedulers: bool = False) -> dict[str, Any]:
    """`prefix_routing`: "shared" routes on the uncached length of one logical cache (as the planner
    assumes); "scarce" / "abundant" keep one prefix cache per cluster and apply the paper's rule
    (`sim.prefix_cache.route_two_caches`); they need a trace with block hashes. `scheduler`: static
    routes on the plan's threshold before the run; adaptive routes each request at its arrival
    (`commands.scheduling`); `compare_schedulers` runs both on the same arrivals."""
    _check_options(sc, path, trace, prefix_routing, link_cv, bandwidth_factors)
    check_scheduler(scheduler)
    inp, info = build_inputs(cat, sc, wl, path, False, None)
    plan = make_plan(inp).prfaas_pd
    assert plan is not None and inp.route.prfaas_profile is not None
    rm, rng = inp.route, np.random.default_rng(seed)
    a = _arrivals(rng, wl, rm, plan.max_throughput_rps, trace, block_tokens, cache_tokens, requests, duration, load, seed)
    slots, step = ((sc.decode.max_batch, sc.decode.step_time_ms / 1e3) if isinstance(sc.decode, FixedDecode)
                   else (int(info["decode"]["max_batch"]), float(info["decode"]["step_time_s"])))
    factors = _random_link(rng, float(a.arrival_s[-1]), link_cv) if link_cv > 0 else bandwidth_factors
    j, thr = routing_cut(plan, rm)
    cfg = SimConfig(thr, plan.instances["prfaas"], plan.instances["pd_prefill"], plan.instances["pd_decode"],
                    slots, step, rm.egress_bytes_per_s, inp.rtt_s, factors)
    unc, kw, routing_info, cr = a.uncached, dict[str, Any](), None, None
    if prefix_routing != "shared":
        assert trace is not None
        unc, kw, routing_info, cr = _two_caches(trace, thr, prefix_routing, rm, inp.rtt_s, block_tokens, cache_tokens,
                                                prfaas_cache_tokens)
    st, ad = _run_engines(scheduler, compare_schedulers, a, unc, kw, cfg, rm, thr, policy, trace, cr, prefix_routing)
    r = ad.records if scheduler == "adaptive" and ad is not None else st
    assert r is not None
    horizon = float(a.arrival_s[-1])
    done, inside = check_conservation(r, horizon, len(a.arrival_s))
    w0 = float(a.arrival_s[int(len(a.arrival_s) * WARMUP)])
    stat = a.arrival_s >= w0
    stages = _stages(r, rm, stat, w0, horizon)
    growing = [k for k, v in stages.items() if v["wait_growth_s_per_s"] > 0.01]
    sim = _simulated(r, rm, stat, w0, horizon)
    pred = _closed_form(inp, plan, a, j, wl.arrival.burstiness_scv, seed)
    compare = {k: {"simulated": sim.get(k), "closed_form": pred.get(k), "relative_difference": _rel(sim.get(k), pred.get(k))}
               for k in ("throughput_rps", "ttft_mean_s", "ttft_p90_s", "egress_mean_gbps", "egress_p99_1s_gbps",
                         "link_utilization")}
    res: dict[str, Any] = {
        "scenario": sc.name, "arrivals": a.source, "requests": len(a.arrival_s), "offered_rps": a.offered_rps,
        "load": a.load, "max_throughput_rps": plan.max_throughput_rps, "binding": plan.binding,
        "binding_stage": BOUND_STAGE.get(plan.binding, plan.binding),
        "plan": {"threshold_tokens": plan.threshold_tokens, "instances": plan.instances},
        "simulated": sim, "closed_form": pred, "comparison": compare, "stages": stages,
        "prefix_routing": routing_info or {"mode": "shared"},
        "growing_queues": growing, "conservation": {"arrived": len(a.arrival_s), "completed": done, "in_system": inside},
        "notes": _notes(plan, growing, routing_info, factors, a.load),
    }
    if ad is not None:
        res["scheduler"] = scheduler
        res["schedulers"] = _scheduler_blocks(st, ad, cfg, rm, thr, stat, w0, horizon, policy or AdaptivePolicy())
        res["notes"].append(ADAPTIVE_NOTE)
    return res


ADAPTIVE_NOTE = (
    "adaptive scheduler: routes each request at its arrival; t_eff rises while the PrfaaS path (queue or link) "
    "is the bottleneck and the local pool has room, falls back to the plan's t with hysteresis; a request leaves "
    "its planned route only for a cluster expected to finish it no later (and, while the link's congestion lasts, "
    "only to the local pool if that adds no delay in total counting the requests queued behind it: --price-delay); "
    "while the local queue is the bottleneck "
    "every local-bound request expected to finish first at PrfaaS goes there (--shed-local); finished KV is sent in "
    "--link-order; while "
    "the link's congestion is forecast to last, idle decode instances may serve prefill and the local queue may reach "
    "--local-wait-max (README 'Scheduling'); with per-cluster "
    "caches the caches follow the planned routes (an approximation for rerouted requests)")


def _scheduler_blocks(st: SimRecords | None, ad: AdaptiveResult, cfg: SimConfig, rm: RouteModel, thr: float,
                      stat: np.ndarray, w0: float, horizon: float, policy: AdaptivePolicy) -> dict[str, Any]:
    out = {}
    if st is not None:
        out["static"] = block("static", st, stat, _simulated(st, rm, stat, w0, horizon),
                              static_series(st, cfg, thr, horizon))
    out["adaptive"] = block("adaptive", ad.records, stat, _simulated(ad.records, rm, stat, w0, horizon),
                            adaptive_series(ad), ad, policy)
    for name, r in (("static", st), ("adaptive", ad.records)):
        if r is not None:
            done, inside = check_conservation(r, horizon, len(stat))
            out[name]["conservation"] = {"arrived": len(stat), "completed": done, "in_system": inside}
    return out


def simulate_scenario(scenario: str | None, sets: list[str], *, trace_path: Path | None,
                      bandwidth_trace: Path | str | None,
                      cache_tokens: float | None, requests: int | None, duration: float | None,
                      plot: Path | None = None, policy_params: dict[str, Any] | None = None,
                      **kw: Any) -> dict[str, Any]:
    """`prfaas simulate` from the command line's arguments: loads the scenario (and the trace as its
    workload, and a measured link) and runs `run_simulation`."""
    from prfaas_plan.io.traces import read_bandwidth_trace, read_trace

    if requests is not None and duration is not None:
        raise PrfaasError("give --requests or --duration, not both", fix="drop one of them")
    given = [f for f, v in (("--requests", requests), ("--duration", duration), ("--load", kw.get("load"))) if v is not None]
    if trace_path is not None and given:  # they were ignored without a word
        raise PrfaasError(f"{given[0]} with --trace: the trace's own requests are replayed at their own timestamps",
                          fix=f"drop {given[0]} (cut the trace file to replay part of it)")
    if trace_path is None and cache_tokens is not None:  # the same: sized nothing
        raise PrfaasError("--cache-tokens sizes the prefix cache a --trace replay runs through; without a trace "
                          "the scenario's workload.prefix_cache sets the cached share",
                          fix="add --trace FILE, or drop --cache-tokens (--set workload.prefix_cache.cached_fraction=F)")
    if kw.get("prfaas_cache_tokens") is not None and kw.get("prefix_routing", "shared") == "shared":
        raise PrfaasError("--prfaas-cache-tokens sizes the PrfaaS cluster's own cache, which only "
                          "--prefix-routing scarce or abundant keeps (shared: one logical cache)",
                          fix="add --prefix-routing scarce (with a --trace that has hash_ids), or drop "
                          "--prfaas-cache-tokens")
    if plot is not None and kw.get("scheduler") != "adaptive" and not kw.get("compare_schedulers"):
        raise PrfaasError("--plot draws the adaptive scheduler's series",
                          fix="add --scheduler adaptive or --compare-schedulers")
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise PrfaasError(f"--plot {plot}: the file must end in .svg or .png", fix="e.g. --plot sched.svg")
    check_scheduler(kw.get("scheduler", "static"), bool(kw.get("compare_schedulers")), policy_params)
    policy = make_policy(**(policy_params or {}))
    cat = Catalog()
    ssets, wsets = split_trace_sets(sets, trace_path)
    ld = load_scenario(cat, scenario, ssets)
    wl, tr = ld.workload, None
    if trace_path is not None:  # the trace replaces lengths and arrivals; the scenario's SLO stays
        tr = read_trace(cat.trace(trace_path))
        wl = trace_workload(tr, trace_path.stem, 512, cache_tokens, ld.workload, wsets)
    factors = None
    if bandwidth_trace is not None:
        factors = read_bandwidth_trace(bandwidth_trace_path(bandwidth_trace), ld.spec.link.bandwidth_gbps)
    return run_simulation(cat, ld.spec, wl, ld.path, requests=requests, duration=duration, trace=tr,
                          cache_tokens=cache_tokens, bandwidth_factors=factors, policy=policy, **kw)
