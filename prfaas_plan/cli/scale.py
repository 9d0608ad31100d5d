"""`prfaas scale` (egress projection) and `prfaas compare` (procurement)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import Fmt, emit, out_format, parse_counts, parse_lengths, parse_names, parse_prices, run

DEFAULT_GPUS = "32,64,128,256,512,1024,2048,4096,8192,10000"


def scale(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (omit for quick mode)")] = None,
    gpus: Annotated[str, typer.Option(help="PrfaaS cluster sizes in GPUs, comma-separated")] = DEFAULT_GPUS,
    model: Annotated[str | None, typer.Option(help="quick mode: model")] = None,
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help="quick mode: GPU")] = None,
    tokens: Annotated[str | None, typer.Option(help="quick mode: prompt length (k = x1024)")] = None,
    gpus_per_instance: Annotated[int | None, typer.Option(
        help="quick mode: GPUs per prefill instance (default 8)", min=1, max=1024)] = None,
    burstiness_scv: Annotated[float | None, typer.Option(
        help="arrival SCV for the P99 burst (default: the workload's; quick mode: 1 = Poisson)", min=0.0, max=100.0)] = None,
    threshold: Annotated[float | None, typer.Option(
        help="scenario mode: routing threshold in tokens (default: the plan's optimum)", min=1.0)] = None,
    target_utilization: Annotated[float, typer.Option(
        help="mean link utilisation to size the link for", min=0.01, max=1.0)] = 0.7,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario field: PATH=VALUE")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    plot: Annotated[Path | None, typer.Option(help="write a log-log chart (.svg or .png; needs the plot extra)")] = None,
) -> None:
    """Project PrfaaS egress (paper Eq. 2) from a few instances to 10,000 GPUs.

    Quick mode answers "how much bandwidth do N GPUs prefilling MODEL at L tokens need"; scenario
    mode routes the scenario's workload with the plan's threshold and adds the exact
    distribution version and the 1-second P99 burst.

    Examples:

      prfaas scale --model minimax-m2.5 --hardware h200 --tokens 32k --gpus 512

      prfaas scale prfaas-paper --format csv

      prfaas scale prfaas-paper --plot egress.svg
    """

    def go() -> None:
        from prfaas_plan.commands.scale import run_scale
        from prfaas_plan.report.scale import render_scale

        sizes = sorted(set(parse_counts(gpus, "--gpus", k=1000, what="GPU count", example="32,512,10k", hi=1e7)))
        toks = parse_lengths(tokens, "--tokens") if tokens is not None else None
        data = run_scale(scenario, set_ or [], sizes, model, hardware, toks, gpus_per_instance, burstiness_scv,
                         threshold, target_utilization)
        if plot is not None:
            from prfaas_plan.report.plots import draw_scale, save_plot

            save_plot(plot, draw_scale(data))
        emit(render_scale(data, out_format(ctx)), output)

    run(go, ctx)


def compare(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (default: prfaas-paper)")] = None,
    prfaas_hardware: Annotated[str | None, typer.Option(help="PrfaaS GPU types (default: the scenario's)")] = None,
    local_hardware: Annotated[str | None, typer.Option(help="local PD GPU types (default: the scenario's)")] = None,
    budget_usd_per_hour: Annotated[float | None, typer.Option(help="hourly budget (default: the scenario's own cost)")] = None,
    gpus_step: Annotated[int | None, typer.Option(
        help="GPU count step (a multiple of the instance size; default one instance)", min=1)] = None,
    price: Annotated[list[str] | None, typer.Option(
        "--price", help="GPU=USD per GPU-hour, overrides the scenario's and the catalog's (repeatable)")] = None,
    top: Annotated[int | None, typer.Option(help="list the N mixes with the highest Lambda_max", min=1, max=1000)] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario field: PATH=VALUE")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    plot: Annotated[Path | None, typer.Option(help="write the Pareto chart (.svg or .png; needs the plot extra)")] = None,
) -> None:
    """Throughput per dollar of GPU mixes within a budget: Pareto front, best mix, best homogeneous.

    Every mix (PrfaaS type and count, local type and count, whole instances) is planned with the
    planner's exact optimiser, vectorised. Prices come from the scenario (for its own GPUs) or the
    catalog, and are printed with their source.

    Examples:

      prfaas compare

      prfaas compare prfaas-paper --prfaas-hardware h200,b200 --local-hardware h20,h100

      prfaas compare --budget-usd-per-hour 400 --format json

      prfaas compare --local-hardware h20,l20 --price l20=0.9 --price h200=3.5 --top 5 -o mixes.csv
    """

    def go() -> None:
        from prfaas_plan.commands.compare import compare_scenario
        from prfaas_plan.report.compare import render_compare

        res = compare_scenario(scenario, set_ or [], parse_names(prfaas_hardware, "--prfaas-hardware"),
                               parse_names(local_hardware, "--local-hardware"), budget_usd_per_hour, gpus_step,
                               parse_prices(price), top)
        if plot is not None:
            from prfaas_plan.report.plots import draw_compare, save_plot

            save_plot(plot, draw_compare(res))
        emit(render_compare(res, out_format(ctx)), output)

    run(go, ctx)
