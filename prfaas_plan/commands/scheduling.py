"""`prfaas simulate --scheduler adaptive | --compare-schedulers`: builds the adaptive policy from the
flags (bad values name the flag), prices both routes of every request, wires the long-timescale
re-planner to the planner's optimiser, runs `sim.adaptive`, and summarises each scheduler's run
(TTFT overall / offloaded / local, throughput, reroutes, split changes, per-second series)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from prfaas_plan.assemble.distributions import length_dist
from prfaas_plan.assemble.inputs import build_inputs
from prfaas_plan.assemble.scenario import load_scenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan import dist as D
from prfaas_plan.plan.planner import Plan, make_plan, routing_cut
from prfaas_plan.plan.rebalance import replan_split
from prfaas_plan.plan.throughput import RouteModel
from prfaas_plan.sim.adaptive import (
    AdaptivePolicy,
    AdaptiveResult,
    LengthAtoms,
    Replanner,
    alternatives,
    simulate_adaptive,
)
from prfaas_plan.sim.engine import SimConfig, SimRecords, link_capacity, link_sent
from prfaas_plan.sim.metrics import decode_wait, series_dict, ttft_breakdown
from prfaas_plan.sim.prefix_cache import ClusterRouting
from prfaas_plan.specs.scenario import FixedDecode

SCHEDULERS = ("static", "adaptive")
FLAGS = {"window_s": "--window", "raise_s": "--raise-delay", "settle_s": "--settle-delay",
         "util_high": "--util-high", "step": "--threshold-step", "max_factor": "--max-factor",
         "rebalance_interval_s": "--rebalance-interval", "drain_delay_s": "--drain-delay", "tick_s": "--tick",
         "link_order": "--link-order", "link_inflight_s": "--link-inflight", "borrow_decode": "--borrow-decode",
         "local_wait_max_s": "--local-wait-max", "persist": "--congestion-persist",
         "shed_local": "--shed-local", "price_delay": "--price-delay"}


@dataclass(frozen=True)
class PoissonRun:
    """A planned scenario with Poisson arrivals, as the core engine takes them."""

    rm: RouteModel
    cfg: SimConfig
    arrival_s: np.ndarray
    uncached: np.ndarray
    output: np.ndarray
    threshold_tokens: float
    plan: Plan


def poisson_run(load: float = 0.8, duration: float | None = 900.0, n: int | None = None, seed: int = 0,
                drop: tuple[float, float, float] | None = None, lengths_scale: np.ndarray | None = None,
                scenario: str | None = None) -> PoissonRun:
    """The scenario's plan (default: the paper's) and `n` (or `duration` seconds of) Poisson arrivals at
    `load` x Lambda_max, uncached lengths drawn from the planner's atoms (x `lengths_scale`) and outputs
    from the workload; `drop` (start s, end s, Gbps): the link at that bandwidth over [start, end) of
an hour-long period, nominal otherwise. The one setup of the scheduler's
    tests and `benchmarks/scheduler.py` (`prfaas simulate` draws its renewal gaps its own way)."""
    cat = Catalog()
    ld = load_scenario(cat, scenario, [])
    sc, wl = ld.spec, ld.workload
    inp, info = build_inputs(cat, sc, wl, ld.path, False, None)
    plan = make_plan(inp).prfaas_pd
    assert plan is not None
    slots, step = ((sc.decode.max_batch, sc.decode.step_time_ms / 1e3) if isinstance(sc.decode, FixedDecode)
                   else (int(info["decode"]["max_batch"]), float(info["decode"]["step_time_s"])))
    rm = inp.route
    rng = np.random.default_rng(seed)
    offered = load * plan.max_throughput_rps
    n = n or int(np.ceil((duration or 0.0) * offered))
    gaps = rng.exponential(1.0 / offered, size=n)
    arr = np.cumsum(gaps) - gaps[0]
    unc = rm.atoms[rng.integers(0, len(rm.atoms), size=n)]
    if lengths_scale is not None:
        unc = np.maximum(unc * lengths_scale, 1.0)
    out = length_dist(wl.output_length).discretize(D.DEFAULT_ATOMS)[rng.integers(0, D.DEFAULT_ATOMS, size=n)]
    _, thr = routing_cut(plan, rm)
    factors = None
    if drop is not None:
        factors = np.ones(3600)
        factors[int(drop[0]):int(drop[1])] = drop[2] / sc.link.bandwidth_gbps
    cfg = SimConfig(thr, plan.instances["prfaas"], plan.instances["pd_prefill"], plan.instances["pd_decode"],
                    slots, step, rm.egress_bytes_per_s, inp.rtt_s, factors)
    return PoissonRun(rm, cfg, arr, unc, out, thr, plan)


def make_policy(**flags: Any) -> AdaptivePolicy:
    """An `AdaptivePolicy` from the flags given by name without dashes (window=..., drain_delay=...;
    None: the default); the first invalid value is an error naming its flag."""
    field = {f.lstrip("-").replace("-", "_"): k for k, f in FLAGS.items()}
    pol = AdaptivePolicy(**{field[k]: v for k, v in flags.items() if v is not None})
    for name, msg in pol.problems():
        flag = FLAGS.get(name, name)
        fix = ("give --rebalance-interval at least --drain-delay" if "drain delay" in msg
               else "give --local-wait-max at least --raise-delay" if "raise_s" in msg and name == "local_wait_max_s"
               else "use sjf, fifo or ps" if name == "link_order"
               else f"give {flag} a valid value (see `prfaas simulate --help`)")
        raise PrfaasError(f"{flag}: {msg.replace('raise_s', '--raise-delay')}", fix=fix)
    return pol


def check_scheduler(scheduler: str, compare: bool = False, flags: dict[str, Any] | None = None) -> None:
    """The scheduler's name, and no adaptive-policy flag (given by name without dashes, None: not
    given) on a static-only run, where it would be silently ignored."""
    if scheduler not in SCHEDULERS:
        raise PrfaasError(f"--scheduler: unknown scheduler {scheduler!r}", fix="use static or adaptive")
    given = [k for k, v in (flags or {}).items() if v is not None]
    if scheduler == "static" and not compare and given:
        flag = "--" + given[0].replace("_", "-")
        raise PrfaasError(f"{flag}: an adaptive-scheduler option, ignored by --scheduler static",
                          fix=f"add --scheduler adaptive or --compare-schedulers, or drop {flag}")


def _replanner(rm: RouteModel, cfg: SimConfig) -> Replanner:
    n_local = cfg.n_pd_prefill + cfg.n_pd_decode

    def replan(lengths: np.ndarray, outs: np.ndarray, rate: float, n_p: int) -> tuple[int, int, float]:
        r = replan_split(rm, lengths, float(np.mean(outs)), cfg.n_prfaas, n_local, cfg.decode_slots_per_instance,
                         cfg.decode_step_s, n_p)
        return r.n_pd_prefill, r.n_pd_decode, r.threshold_tokens

    return replan


def run_adaptive(arrival: np.ndarray, uncached: np.ndarray, output: np.ndarray, cfg: SimConfig, rm: RouteModel,
                 threshold: float, policy: AdaptivePolicy, input_tokens: np.ndarray | None = None,
                 routing: ClusterRouting | None = None, mode: str = "shared") -> AdaptiveResult:
    """The adaptive run on the same arrivals as static: with per-cluster caches each route is priced
    from the prefix each cluster holds (`routing`); otherwise both prefill `uncached` tokens."""
    assert rm.prfaas_profile is not None
    if routing is not None and input_tokens is not None:
        inp, pd, pf = input_tokens, routing.prefix_pd, routing.prefix_prfaas
    else:
        inp, pd, pf, mode = uncached, np.zeros(len(uncached)), np.zeros(len(uncached)), "shared"
    alt = alternatives(inp, pd, pf, mode, rm.local_profile, rm.prfaas_profile, rm.kv_profile, cfg.link_bytes_per_s,
                       cfg.rtt_s, rm.local_occupancy, rm.prfaas_occupancy)
    replan = _replanner(rm, cfg) if policy.rebalance_interval_s is not None else None
    return simulate_adaptive(arrival, alt, output, cfg, policy, threshold, replan, atoms=length_atoms(rm))


def length_atoms(rm: RouteModel) -> LengthAtoms:
    """The planner's length atoms with both routes' prefill latency (the adaptive policy's prior)."""
    assert rm.t_prfaas is not None
    return LengthAtoms(rm.atoms, rm.t_local, rm.t_prfaas, rm.kv_bytes)


def static_series(r: SimRecords, cfg: SimConfig, threshold: float, horizon: float) -> dict[str, list[Any]]:
    """Per-second series of a static run: its (fixed) threshold and the link's utilisation, the bytes
    sent each second from the run's transfer starts (`engine.link_sent`, exact, as the adaptive series)."""
    n = int(horizon) + 1
    starts = np.concatenate([r.transfer_start_s] + ([r.move_start_s] if r.move_start_s is not None else []))
    sizes = np.concatenate([r.kv_bytes] + ([r.move_bytes] if r.move_bytes is not None else []))
    t = np.arange(n + 1, dtype=float)
    sent = np.diff(link_sent(starts, sizes, cfg.link_bytes_per_s, cfg.bandwidth_factors, t))
    cap = np.diff(link_capacity(t, cfg.link_bytes_per_s, cfg.bandwidth_factors))  # bandwidth in slot k
    util = np.where(cap > 0, sent / np.where(cap > 0, cap, 1.0), 0.0)
    thr = threshold if np.isfinite(threshold) else None
    return {"time_s": [float(k + 1) for k in range(n)], "threshold_tokens": [thr] * n,
            "link_utilization": np.round(util, 4).tolist(), "bandwidth_gbps": np.round(cap * 8 / 1e9, 4).tolist()}


def block(name: str, r: SimRecords, counted: np.ndarray, simulated: dict[str, Any], series: dict[str, Any],
          ad: AdaptiveResult | None = None, policy: AdaptivePolicy | None = None) -> dict[str, Any]:
    """One scheduler's figures for the report."""
    out: dict[str, Any] = {
        "scheduler": name, "ttft_s": ttft_breakdown(r, counted), "decode_wait_s": decode_wait(r, counted),
        "throughput_rps": simulated["throughput_rps"], "egress_mean_gbps": simulated["egress_mean_gbps"],
        "offload_fraction": simulated["offload_fraction"], "rerouted": 0, "split_changes": [], "series": series,
    }
    if ad is not None:
        out["rerouted"] = ad.rerouted
        out["split_changes"] = [{k: (float(v) if np.isfinite(v) else None) for k, v in c.items()} for c in ad.changes]
        out["decode_instances_lent"] = sum(1 for c in ad.changes if c["borrow"] > 0)
    if policy is not None:
        out["policy"] = {k: getattr(policy, k) for k in FLAGS if hasattr(policy, k)}
        if ad is not None:
            out["policy"]["local_wait_max_s"] = ad.local_wait_max_s  # resolved where the default applied
    return out


def adaptive_series(ad: AdaptiveResult) -> dict[str, Any]:
    return series_dict(ad.series)
