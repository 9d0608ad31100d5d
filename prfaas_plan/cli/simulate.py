"""`prfaas workload import` (traces to workload files) and `prfaas simulate`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.cli.common import Fmt, emit, out_format, run

workload_app = typer.Typer(help="Workload tools (import a request trace).", no_args_is_help=True)


class TraceFmt(str, Enum):
    auto = "auto"
    mooncake = "mooncake"
    azure = "azure"
    csv = "csv"


class Scheduler(str, Enum):
    static = "static"
    adaptive = "adaptive"


class PrefixRouting(str, Enum):
    shared = "shared"
    scarce = "scarce"
    abundant = "abundant"


# Options of `prfaas simulate` (the adaptive scheduler's with each default's reason in its help);
# aliases keep the command's signature short.
CacheTokensOpt = Annotated[float | None, typer.Option(
        help="with --trace: prefix-cache size in tokens (the PD cluster's with --prefix-routing)", min=0)]
PrefixRoutingOpt = Annotated[PrefixRouting, typer.Option(
        help="shared: one logical prefix cache (the planner's view); scarce/abundant: one cache per cluster "
        "and the paper's routing rule for scarce or abundant bandwidth (needs --trace with hash_ids)")
    ]
PrfaasCacheTokensOpt = Annotated[float | None, typer.Option(
        help="with --prefix-routing: the PrfaaS cluster's cache size in tokens (default: --cache-tokens)", min=0)]
BandwidthTraceOpt = Annotated[str | None, typer.Option(
        help="CSV 'time_s,gbps': the link's bandwidth over time (step-wise, repeats), or a shipped example: "
        "link-drop (100 Gbps, 4 Gbps over 300-420 s), link-flapping (100 / 10 Gbps every 20 s)")]
SchedulerOpt = Annotated[Scheduler, typer.Option(
        help="static: route on the plan's threshold before the run; adaptive: route each request at its arrival "
        "from the link and queue state (README 'Scheduling')")]
CompareSchedulersOpt = Annotated[bool, typer.Option(
        help="run static and adaptive on the same arrivals and show them side by side")]
WindowOpt = Annotated[float | None, typer.Option(
        help="adaptive: link-utilisation window, s (default 5: several transfers, reacts within seconds)")]
RaiseDelayOpt = Annotated[float | None, typer.Option(
        help="adaptive: extra wait on one path, s, that counts as a bottleneck (default 2: about the unloaded "
        "TTFT)")]
SettleDelayOpt = Annotated[float | None, typer.Option(
        help="adaptive: imbalance, s, under which t returns toward the plan (default 0.5: hysteresis)")]
UtilHighOpt = Annotated[float | None, typer.Option(
        help="adaptive: link utilisation counted as its ceiling (default 0.9)")]
ThresholdStepOpt = Annotated[float | None, typer.Option(
        help="adaptive: relative change of t per second (default 0.1)")]
MaxFactorOpt = Annotated[float | None, typer.Option(
        help="adaptive: t stays within plan / F .. plan x F (default 8)")]
RebalanceIntervalOpt = Annotated[float | None, typer.Option(
        help="adaptive: re-plan the local prefill/decode split every S seconds from the last S seconds' "
        "lengths and rate (default: off)")]
DrainDelayOpt = Annotated[float | None, typer.Option(
        help="adaptive: seconds an instance changing role takes to drain (default 30: a 1,024-token decode "
        "batch at 25 ms/step)")]
LinkOrderOpt = Annotated[str | None, typer.Option(
        help="adaptive: order the PrfaaS cluster sends finished KV in: sjf (default: smallest first, the fewest "
        "requests kept waiting), fifo (finish order), ps (all at once, sharing the link: static's model)")]
LinkInflightOpt = Annotated[float | None, typer.Option(
        help="adaptive, sjf/fifo: KV in flight on the link, in seconds of its bandwidth then (default 1: far "
        "above the bandwidth-delay product, one paper-sized KV at a time at 4 Gbps)")]
BorrowDecodeOpt = Annotated[bool | None, typer.Option(
        "--borrow-decode/--no-borrow-decode",
        help="adaptive: lend idle decode instances to local prefill while the link's backlog is forecast to "
        "outlast --drain-delay (default on)")]
ShedLocalOpt = Annotated[bool | None, typer.Option(
        "--shed-local/--no-shed-local",
        help="adaptive: while the local prefill queue is the bottleneck, send each local-bound request to PrfaaS "
        "when it is expected to finish there first (default on)")]
PriceDelayOpt = Annotated[bool | None, typer.Option(
        "--price-delay/--no-price-delay",
        help="adaptive: while the link's congestion is sustained, move a request to the local pool only if its own "
        "completion plus the delay it imposes on the requests queued behind it there is no later than on the "
        "PrfaaS path (default on)")]
LocalWaitMaxOpt = Annotated[float | None, typer.Option(
        help="adaptive: local prefill wait, s, up to which t may still rise while the link's congestion is "
        "sustained (default: the local prefill time of the P99 of the planner's length atoms, 19.6 s in the paper "
        "scenario; at least --raise-delay, which applies otherwise; larger trades mean TTFT for the tail)")]
CongestionPersistOpt = Annotated[float | None, typer.Option(
        help="adaptive: the link's congestion forecast must hold this fraction of --drain-delay before it counts as "
        "sustained (decode loan, local backlog) (default 0.5: a dip of a few seconds lends nothing)")]
PlotOpt = Annotated[Path | None, typer.Option(
        help="with an adaptive run: chart of t_eff, link utilisation, queues and bandwidth (.svg or .png)")]


# the adaptive policy's options, passed to `commands.scheduling.make_policy` by name
POLICY_OPTIONS = ("window", "raise_delay", "settle_delay", "util_high", "threshold_step", "max_factor",
                  "rebalance_interval", "drain_delay", "link_order", "link_inflight", "borrow_decode", "local_wait_max",
                  "congestion_persist", "shed_local", "price_delay")


def _show(res: dict[str, Any], fmt: str, output: Path | None, path: Path | None) -> None:
    from prfaas_plan.report.simulate import render_simulation

    emit(render_simulation(res, fmt), output)
    if path is not None:
        from prfaas_plan.report.plots import draw_schedulers, save_plot

        save_plot(path, draw_schedulers(res))


@workload_app.command("import")
def import_(
    ctx: typer.Context,
    trace: Annotated[Path, typer.Argument(help="trace file (Mooncake JSONL, Azure CSV or plain CSV)")],
    format: Annotated[TraceFmt, typer.Option("--format", help="trace format (auto: by extension)")] = TraceFmt.auto,
    block_tokens: Annotated[int, typer.Option(help="tokens per hash_ids block", min=1)] = 512,
    cache_tokens: Annotated[float | None, typer.Option(help="prefix-cache size, tokens (LRU)", min=0)] = None,
    name: Annotated[str | None, typer.Option(help="workload name (default: the file's stem)")] = None,
    skip_bad: Annotated[bool, typer.Option(help="skip malformed lines and count them")] = False,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="workload file to write (default: stdout); JSON if it ends in .json, else YAML")] = None,
) -> None:
    """Turn a request trace into a workload file: quantile tables of input, cached-prefix, uncached
    and output length, arrival rate and burstiness, prefix hit ratio, provenance.

    Plain CSV needs columns timestamp_s, input_tokens, output_tokens. The file is YAML, or JSON when
    -o ends in .json; either loads as a workload.

    Examples:

      prfaas workload import mooncake-conversation.jsonl -o workloads/mooncake.yaml

      prfaas workload import azure.csv --format azure --skip-bad

      prfaas workload import trace.jsonl --cache-tokens 50000000
    """

    def go() -> None:
        import sys

        from prfaas_plan.commands.workload import import_trace

        as_json = output is not None and output.suffix.lower() == ".json"
        res = import_trace(trace, format.value, skip_bad, block_tokens, cache_tokens, name, as_json)
        emit(res.yaml_text, output)
        sys.stderr.write(res.summary + "\n")

    run(go, ctx)


def simulate(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (default: prfaas-paper)")] = None,
    requests: Annotated[int | None, typer.Option(help="number of requests (default 20,000)", min=10, max=2_000_000)] = None,
    duration: Annotated[float | None, typer.Option(help="simulated seconds of arrivals instead of --requests", min=1.0)] = None,
    trace: Annotated[Path | None, typer.Option(help="replay a trace at its own timestamps (and plan on it)")] = None,
    load: Annotated[float | None, typer.Option(help="offered load / Lambda_max (default 0.8)", min=0.01, max=5.0)] = None,
    seed: Annotated[int, typer.Option(help="random seed (0 to 2^63 - 1)", min=0, max=2**63 - 1)] = 0,
    link_cv: Annotated[float, typer.Option(help="CV of a random per-second link bandwidth factor", min=0.0, max=3.0)] = 0.0,
    cache_tokens: CacheTokensOpt = None,
    prefix_routing: PrefixRoutingOpt = PrefixRouting.shared,
    prfaas_cache_tokens: PrfaasCacheTokensOpt = None,
    bandwidth_trace: BandwidthTraceOpt = None,
    scheduler: SchedulerOpt = Scheduler.static,
    compare_schedulers: CompareSchedulersOpt = False,
    window: WindowOpt = None,
    raise_delay: RaiseDelayOpt = None,
    settle_delay: SettleDelayOpt = None,
    util_high: UtilHighOpt = None,
    threshold_step: ThresholdStepOpt = None,
    max_factor: MaxFactorOpt = None,
    rebalance_interval: RebalanceIntervalOpt = None,
    drain_delay: DrainDelayOpt = None,
    link_order: LinkOrderOpt = None,
    link_inflight: LinkInflightOpt = None,
    borrow_decode: BorrowDecodeOpt = None, shed_local: ShedLocalOpt = None, price_delay: PriceDelayOpt = None,
    local_wait_max: LocalWaitMaxOpt = None, congestion_persist: CongestionPersistOpt = None,
    plot: PlotOpt = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario field: PATH=VALUE")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Simulate the planned deployment (discrete events) and compare with the closed form.

    Examples:

      prfaas simulate --load 0.8 --requests 50000

      prfaas simulate mooncake-conversation --trace mooncake-conversation.jsonl

      prfaas simulate --load 1.05 --format json

      prfaas simulate mooncake-conversation --trace mooncake-conversation.jsonl --prefix-routing scarce

      prfaas simulate --duration 900 --bandwidth-trace link-drop --compare-schedulers --local-wait-max 10

      prfaas simulate --bandwidth-trace link-flapping --scheduler adaptive --rebalance-interval 300 --plot s.svg
    """
    pol = {k: v for k, v in locals().items() if k in POLICY_OPTIONS}

    def go() -> None:
        from prfaas_plan.commands.simulate import simulate_scenario

        res = simulate_scenario(scenario, set_ or [], trace_path=trace, bandwidth_trace=bandwidth_trace,
                                cache_tokens=cache_tokens, requests=requests, duration=duration, load=load, seed=seed,
                                link_cv=link_cv, prefix_routing=prefix_routing.value, prfaas_cache_tokens=prfaas_cache_tokens,
                                scheduler=scheduler.value, policy_params=pol, compare_schedulers=compare_schedulers, plot=plot)
        _show(res, out_format(ctx), output, plot)

    run(go, ctx)
