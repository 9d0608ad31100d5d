"""`prfaas workload import` (traces to workload files) and `prfaas simulate`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import Fmt, emit, out_format, run

workload_app = typer.Typer(help="Workload tools (import a request trace).", no_args_is_help=True)


class TraceFmt(str, Enum):
    auto = "auto"
    mooncake = "mooncake"
    azure = "azure"
    csv = "csv"


class PrefixRouting(str, Enum):
    shared = "shared"
    scarce = "scarce"
    abundant = "abundant"


@workload_app.command("import")
def import_(
    ctx: typer.Context,
    trace: Annotated[Path, typer.Argument(help="trace file (Mooncake JSONL, Azure CSV or plain CSV)")],
    format: Annotated[TraceFmt, typer.Option("--format", help="trace format (auto: by extension)")] = TraceFmt.auto,
    block_tokens: Annotated[int, typer.Option(help="tokens per hash_ids block", min=1)] = 512,
    cache_tokens: Annotated[float | None, typer.Option(help="prefix-cache size, tokens (LRU)", min=0)] = None,
    name: Annotated[str | None, typer.Option(help="workload name (default: the file's stem)")] = None,
    skip_bad: Annotated[bool, typer.Option(help="skip malformed lines and count them")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="workload YAML to write (default: stdout)")] = None,
) -> None:
    """Turn a request trace into a workload file: quantile tables of input, cached-prefix, uncached
    and output length, arrival rate and burstiness, prefix hit ratio, provenance.

    Plain CSV needs columns timestamp_s, input_tokens, output_tokens.

    Examples:

      prfaas workload import mooncake-conversation.jsonl -o workloads/mooncake.yaml

      prfaas workload import azure.csv --format azure --skip-bad

      prfaas workload import trace.jsonl --cache-tokens 50000000
    """

    def go() -> None:
        import sys

        from prfaas_plan.commands.workload import import_trace

        res = import_trace(trace, format.value, skip_bad, block_tokens, cache_tokens, name)
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
    cache_tokens: Annotated[float | None, typer.Option(
        help="with --trace: prefix-cache size in tokens (the PD cluster's with --prefix-routing)", min=0)] = None,
    prefix_routing: Annotated[PrefixRouting, typer.Option(
        help="shared: one logical prefix cache (the planner's view); scarce/abundant: one cache per cluster "
        "and the paper's routing rule for scarce or abundant bandwidth (needs --trace with hash_ids)")
    ] = PrefixRouting.shared,
    prfaas_cache_tokens: Annotated[float | None, typer.Option(
        help="with --prefix-routing: the PrfaaS cluster's cache size in tokens (default: --cache-tokens)", min=0)] = None,
    bandwidth_trace: Annotated[Path | None, typer.Option(
        help="CSV 'time_s,gbps': the link's bandwidth over time (step-wise, repeats)")] = None,
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

      prfaas simulate --bandwidth-trace link.csv --load 0.8
    """

    def go() -> None:
        from prfaas_plan.commands.simulate import simulate_scenario
        from prfaas_plan.report.simulate import render_simulation

        res = simulate_scenario(scenario, set_ or [], trace_path=trace, bandwidth_trace=bandwidth_trace,
                                cache_tokens=cache_tokens, requests=requests, duration=duration, load=load, seed=seed,
                                link_cv=link_cv, prefix_routing=prefix_routing.value,
                                prfaas_cache_tokens=prfaas_cache_tokens)
        emit(render_simulation(res, out_format(ctx)), output)

    run(go, ctx)
