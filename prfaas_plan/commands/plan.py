"""`prfaas plan`: scenario (+ calibrations, + a trace as the workload) -> planner inputs -> the
optimal threshold and split with baselines, and the scenario's expectations checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prfaas_plan.assemble.calibration import calibration_overrides
from prfaas_plan.assemble.inputs import build_inputs
from prfaas_plan.assemble.scenario import LoadedScenario, load_scenario
from prfaas_plan.assemble.workload import split_trace_sets, trace_workload
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan.expect import Check, check_expectations
from prfaas_plan.plan.planner import PlanInputs, PlanReport, make_plan
from prfaas_plan.specs.scenario import Expectations


@dataclass
class PlanRun:
    scenario: str
    inputs: PlanInputs
    info: dict[str, Any]
    expect: Expectations | None = None
    report: PlanReport | None = None  # None when only the inputs were asked for (a sweep)
    checks: list[Check] = field(default_factory=list)


def calibrated_catalog(cat: Catalog, loaded: LoadedScenario, calibration: list[Path] | None) -> Catalog:
    """The catalog with the calibration files' GPU entries; a file for a GPU no cluster uses is an error."""
    if not calibration:
        return cat
    over = calibration_overrides(cat, calibration)
    sc = loaded.spec
    used = {cat.hardware(c.hardware).name for c in (sc.prfaas, sc.local) if c is not None}
    unused = sorted(set(over) - used)
    if unused:
        raise PrfaasError(f"--calibration for {', '.join(unused)}, which no cluster of {sc.name} uses",
                          fix=f"the scenario's GPUs are {', '.join(sorted(used))}")
    return cat.with_hardware(over)


def plan_inputs(scenario: str | None, sets: list[str], calibration: list[Path] | None, trace: Path | None,
                load: float | None, paper_approximation: bool) -> PlanRun:
    """Loads the scenario once and assembles the planner's inputs (no optimisation yet)."""
    cat = Catalog()
    ssets, wsets = split_trace_sets(sets, trace)
    loaded = load_scenario(cat, scenario, ssets)
    cat = calibrated_catalog(cat, loaded, calibration)
    wl = loaded.workload
    if trace is not None:  # the trace replaces lengths and arrivals; the scenario's SLO stays
        from prfaas_plan.io.traces import read_trace

        wl = trace_workload(read_trace(cat.trace(trace)), trace.stem, 512, None, loaded.workload, wsets)
    inp, info = build_inputs(cat, loaded.spec, wl, loaded.path, paper_approximation, load)
    return PlanRun(loaded.spec.name, inp, info, loaded.spec.expect)


def run_plan(scenario: str | None, sets: list[str], calibration: list[Path] | None, trace: Path | None,
             load: float | None, paper_approximation: bool) -> PlanRun:
    """The plan and the scenario's `expect:` checks."""
    run = plan_inputs(scenario, sets, calibration, trace, load, paper_approximation)
    run.report = make_plan(run.inputs)
    run.checks = check_expectations(run.report, run.expect)
    return run


@dataclass
class PlanOutput:
    rendered: Any  # text or a rich renderable
    stderr: str = ""
    exit_code: int = 0


def plan_command(scenario: str | None, sets: list[str], calibration: list[Path] | None, trace: Path | None,
                 load: float | None, paper_approximation: bool, sweep: str | None, fmt: str,
                 output: Path | None) -> PlanOutput:
    """`prfaas plan` in one call: a sweep, or the plan in `fmt` with its expectations (exit 1 when
    one fails). With `--format junit -o FILE`, a scenario that cannot be planned still gets a JUnit
    file: one errored test case carrying the message (then the error propagates: exit 2)."""
    from prfaas_plan.plan.expect import junit_error_xml, junit_xml
    from prfaas_plan.report.plan import expectation_lines, render_plan

    if sweep is not None:
        from prfaas_plan.report.sweep import render_sweep

        if fmt in ("yaml", "junit"):
            raise PrfaasError(f"--sweep prints a table: --format {fmt} does not apply",
                              fix="use --format table, csv, json or markdown")
        pre = plan_inputs(scenario, sets, calibration, trace, load, paper_approximation)
        return PlanOutput(render_sweep(pre.inputs, sweep, fmt))
    if fmt == "csv":
        raise PrfaasError("--format csv needs --sweep: a plan is not one table",
                          fix="use --format json, yaml or markdown, or add --sweep threshold|split")
    try:
        r = run_plan(scenario, sets, calibration, trace, load, paper_approximation)
    except PrfaasError as exc:
        if fmt == "junit" and output is not None:
            from prfaas_plan.io.files import atomic_write_text

            atomic_write_text(output, junit_error_xml(scenario or "prfaas-paper", exc.render()))
        raise
    assert r.report is not None
    text = junit_xml(r.scenario, r.checks) if fmt == "junit" else render_plan(r.report, r.info, fmt, r.inputs.load,
                                                                              r.checks)
    return PlanOutput(text, expectation_lines(r.checks), 1 if any(not c.passed for c in r.checks) else 0)
