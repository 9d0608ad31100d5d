"""`prfaas plan`: the main job."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli import _emit, _run, app


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


@app.command()
def plan(
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
        from prfaas_plan import catalog
        from prfaas_plan.plan.expect import check_expectations, junit_xml
        from prfaas_plan.plan.planner import make_plan
        from prfaas_plan.report.plan import render_plan
        from prfaas_plan.scenario_io import build_inputs, load_scenario

        sc, wl, path = load_scenario(scenario, set_ or [])
        over = {}
        if calibration:
            from prfaas_plan.calibration_io import calibration_overrides
            from prfaas_plan.errors import PrfaasError

            over = calibration_overrides(calibration)
            used = {catalog.load_hardware(c.hardware).name for c in (sc.prfaas, sc.local) if c is not None}
            unused = sorted(set(over) - used)
            if unused:
                raise PrfaasError(f"--calibration for {', '.join(unused)}, which no cluster of {sc.name} uses",
                                  fix=f"the scenario's GPUs are {', '.join(sorted(used))}")
        if trace is not None:
            from prfaas_plan.cli_trace import trace_workload
            from prfaas_plan.traces import read_trace

            wl = trace_workload(read_trace(trace), trace.stem, 512, None)
        with catalog.calibrated(over):  # hardware is loaded while the inputs are built
            inp, info = build_inputs(sc, wl, path, paper_approximation, load)
        if sweep is not None:
            from prfaas_plan.report.sweep import render_sweep

            _emit(render_sweep(inp, sweep.value, format.value), output)
            return 0
        rep = make_plan(inp)
        checks = check_expectations(rep, sc.expect)
        if format == PlanFmt.junit:
            _emit(junit_xml(sc.name, checks), output)
        else:
            fmt_name = "markdown" if format == PlanFmt.csv else format.value
            _emit(render_plan(rep, info, fmt_name, inp.load), output)
        failed = [c for c in checks if not c.passed]
        for c in checks:
            mark = "ok  " if c.passed else "FAIL"
            sys.stderr.write(f"expect {mark} {c.name}: actual {c.actual if c.actual is None else round(c.actual, 4)} "
                             f"({c.kind} {c.expected})\n")
        return 1 if failed else 0

    _run(go)
