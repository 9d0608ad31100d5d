"""`prfaas size`: the cheapest deployment that serves a demand within the scenario's SLOs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import Fmt, emit, out_format, parse_counts, parse_names, parse_prices, run


def _floats(text: str | None, flag: str) -> list[float] | None:
    from prfaas_plan.errors import PrfaasError

    if text is None:
        return None
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        out = []
    if not out or not all(0.001 < x <= 1e6 for x in out):
        raise PrfaasError(f"{flag} {text!r}: expected comma-separated positive numbers", fix=f"e.g. {flag} 25,100,400")
    return out


def size(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (default: prfaas-paper)")] = None,
    target_rps: Annotated[float | None, typer.Option(help="requests/s to serve")] = None,
    trace: Annotated[Path | None, typer.Option(help="take the target from this trace's busiest window")] = None,
    peak_window: Annotated[float, typer.Option(help="window (s) for --trace", min=0.001, max=1e6)] = 60.0,
    prfaas_hardware: Annotated[str | None, typer.Option(
        help="PrfaaS GPU types, comma-separated, or all (calibrated catalog GPUs); default the scenario's")] = None,
    local_hardware: Annotated[str | None, typer.Option(help="local GPU types, or all; default the scenario's")] = None,
    price: Annotated[list[str] | None, typer.Option(
        "--price", help="GPU=USD per GPU-hour, overrides the scenario and the catalog (repeatable)")] = None,
    link_gbps: Annotated[str | None, typer.Option(help="link bandwidths to size over, Gbps, comma-separated")] = None,
    gpus_per_instance: Annotated[str | None, typer.Option(help="instance sizes, comma-separated")] = None,
    recipes: Annotated[str, typer.Option(help="recipes: scenario (published or the scenario's), ep, dp2")] = "scenario,ep,dp2",
    max_gpus: Annotated[int, typer.Option(help="largest cluster, GPUs")] = 512,
    top: Annotated[int, typer.Option(help="cheapest deployments to list (one per GPU pair/recipe/link)")] = 5,
    export: Annotated[Path | None, typer.Option(help="write the chosen deployment as a scenario YAML")] = None,
    plot: Annotated[Path | None, typer.Option(help="Pareto chart of cost vs loaded P90 TTFT (.svg or .png)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario field: PATH=VALUE")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """The cheapest deployment that serves a target rate within the scenario's SLOs.

    Searches PrfaaS GPU type and count (including none), local GPU type and count, GPUs per
    instance, recipe, the prefill/decode split and the routing threshold, keeping R <= load x
    Lambda_max and the loaded P90 TTFT at R and the TPOT within the workload's SLOs; sizes the
    baselines for the same demand. Every figure is re-planned by the planner at full resolution.

    Examples:

      prfaas size --target-rps 2.5

      prfaas size --target-rps 2.5 --export sized.yaml && prfaas plan sized.yaml

      prfaas size --prfaas-hardware h200,b200 --local-hardware h20,h100 --price h20=1.8 --top 10 -f json

      prfaas size mooncake-conversation --trace mooncake-conversation.jsonl --peak-window 60
    """

    def go() -> None:
        from prfaas_plan.commands.size import SizeRequest, size_scenario, target_from_trace, target_source, write_export
        from prfaas_plan.report.plots import draw_size, save_plot
        from prfaas_plan.report.size import render_size
        from prfaas_plan.specs.limits import MAX_INSTANCE_GPUS

        gpi = None if gpus_per_instance is None else parse_counts(
            gpus_per_instance, "--gpus-per-instance", k=1000, what="GPU count", example="4,8", hi=MAX_INSTANCE_GPUS)
        req = SizeRequest(scenario, set_ or [], target_from_trace(trace, peak_window, target_rps),
                          parse_names(prfaas_hardware, "--prfaas-hardware"), parse_names(local_hardware, "--local-hardware"),
                          parse_prices(price), _floats(link_gbps, "--link-gbps"), gpi,
                          parse_names(recipes, "--recipes") or [], top, max_gpus, target_source(trace, peak_window))
        rep = size_scenario(req, export)
        if plot is not None:
            save_plot(plot, draw_size(rep))
        if export is not None:
            write_export(rep, export)
        emit(render_size(rep, out_format(ctx)), output)

    run(go, ctx)
