"""`prfaas plan`: the main job."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import emit, out_format, run


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
        from prfaas_plan.commands.plan import plan_command

        out = plan_command(scenario, set_ or [], calibration, trace, load, paper_approximation,
                           sweep.value if sweep else None, out_format(ctx), output)
        emit(out.rendered, output)
        sys.stderr.write(out.stderr)
        return out.exit_code

    run(go, ctx)
