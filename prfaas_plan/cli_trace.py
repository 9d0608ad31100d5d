"""`prfaas workload import` (traces to workload files) and `prfaas simulate`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.cli import Fmt, _emit, _run, app

workload_app = typer.Typer(help="Workload tools (import a request trace).", no_args_is_help=True)
app.add_typer(workload_app, name="workload")


class TraceFmt(str, Enum):
    auto = "auto"
    mooncake = "mooncake"
    azure = "azure"
    csv = "csv"


class PrefixRouting(str, Enum):
    shared = "shared"
    scarce = "scarce"
    abundant = "abundant"


def trace_workload(trace: Any, name: str, block_tokens: int, cache_tokens: float | None) -> Any:
    from prfaas_plan import catalog
    from prfaas_plan.specs.workload import WorkloadSpec
    from prfaas_plan.traces import summarise

    return catalog.validate_data(WorkloadSpec, summarise(trace, name, block_tokens, cache_tokens), trace.path)


@workload_app.command("import")
def import_(
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

        import yaml

        from prfaas_plan.traces import read_trace

        tr = read_trace(trace, format.value, skip_bad)
        wl = trace_workload(tr, name or trace.stem.replace("_", "-"), block_tokens, cache_tokens)
        data = wl.model_dump(mode="json", exclude_none=True)
        _emit(yaml.safe_dump(data, sort_keys=False, width=120), output)
        pv = data["provenance"]
        sys.stderr.write(
            f"{pv['requests']:,} requests over {pv['time_span_s']:,.0f} s; mean input {pv['mean_input_tokens']:,.0f}, "
            f"P90 {pv['p90_input_tokens']:,.0f}; prefix hit ratio {pv['prefix_hit_ratio']:.1%}; "
            f"arrival SCV {data['arrival']['burstiness_scv']:.2f}"
            + (f"; {len(tr.skipped)} bad lines skipped" if tr.skipped else "") + "\n")

    _run(go)


@app.command()
def simulate(
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (default: prfaas-paper)")] = None,
    requests: Annotated[int | None, typer.Option(help="number of requests (default 20,000)", min=10)] = None,
    duration: Annotated[float | None, typer.Option(help="simulated seconds of arrivals instead of --requests", min=1.0)] = None,
    trace: Annotated[Path | None, typer.Option(help="replay a trace at its own timestamps (and plan on it)")] = None,
    load: Annotated[float | None, typer.Option(help="offered load / Lambda_max (default 0.8)", min=0.01, max=5.0)] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
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
        from prfaas_plan.report.simulate import render_simulation
        from prfaas_plan.scenario_io import load_scenario
        from prfaas_plan.sim_io import run_simulation
        from prfaas_plan.traces import read_trace

        if requests is not None and duration is not None:
            from prfaas_plan.errors import PrfaasError

            raise PrfaasError("give --requests or --duration, not both")
        sc, wl, path = load_scenario(scenario, set_ or [])
        tr = None
        if trace is not None:
            tr = read_trace(trace)
            wl = trace_workload(tr, trace.stem, 512, cache_tokens)
        factors = None
        if bandwidth_trace is not None:
            from prfaas_plan.traces import read_bandwidth_trace

            factors = read_bandwidth_trace(bandwidth_trace, sc.link.bandwidth_gbps)
        res = run_simulation(sc, wl, path, requests=requests, duration=duration, load=load, seed=seed, trace=tr,
                             cache_tokens=cache_tokens, link_cv=link_cv, bandwidth_factors=factors,
                             prefix_routing=prefix_routing.value,
                             prfaas_cache_tokens=prfaas_cache_tokens)
        _emit(render_simulation(res, format.value), output)

    _run(go)
