"""`prfaas plan`: the main job."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import emit, run


class PlanFmt(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"
    csv = "csv"
    junit = "junit"


class Sweep(str, Enum):
    threshold = "threshold"
    split = "split"  # type: ignore[assignment]  # shadows str.split on purpose: the CLI value


def plan(
    ctx: typer.Context,
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (default: prfaas-paper)")] = None,
    format: Annotated[PlanFmt, typer.Option("--format", "-f")] = PlanFmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a field: PATH=VALUE")] = None,
    load: Annotated[float | None, typer.Option(help="operating point, fraction of Lambda_max", min=0.01, max=0.99)] = None,
    sweep: Annotated[Sweep | None, typer.Option(help="print the bound curves against t or N_p")] = None,
    paper_approximation: Annotated[bool, typer.Option(help="optimise with representative lengths, as the paper")] = False,
    trace: Annotated[Path | None, typer.Option(help="use this request trace as the workload")] = None,
    calibration: Annotated[list[Path] | None, typer.Option(
        help="calibration YAML from `prfaas calibrate` (repeat for several GPU types); applies to the "
        "clusters of the GPU it names")] = None,
) -> None:
    """Find the throughput-optimal routing threshold and prefill/decode split, with baselines.

    Exit code 1 when an `expect:` in the scenario fails; 2 on bad input.

    Examples:

      prfaas plan

      prfaas plan scenarios/prfaas-paper.yaml --format json

      prfaas plan --set link.bandwidth_gbps=10 --load 0.6

      prfaas plan --sweep threshold --format csv

      prfaas plan --trace mooncake-conversation.jsonl

      prfaas plan --calibration h200-cal.yaml --calibration h20-cal.yaml
    """

    def go() -> int:
        from prfaas_plan.commands.plan import plan_inputs, run_plan

        if sweep is not None:
            from prfaas_plan.report.sweep import render_sweep

            pre = plan_inputs(scenario, set_ or [], calibration, trace, load, paper_approximation)
            emit(render_sweep(pre.inputs, sweep.value, format.value), output)
            return 0
        from prfaas_plan.plan.expect import junit_xml
        from prfaas_plan.report.plan import expectation_lines, render_plan

        r = run_plan(scenario, set_ or [], calibration, trace, load, paper_approximation)
        assert r.report is not None
        if format == PlanFmt.junit:
            emit(junit_xml(r.scenario, r.checks), output)
        else:
            fmt_name = "markdown" if format == PlanFmt.csv else format.value
            emit(render_plan(r.report, r.info, fmt_name, r.inputs.load), output)
        sys.stderr.write(expectation_lines(r.checks))
        return 1 if any(not c.passed for c in r.checks) else 0

    run(go, ctx)
