"""`prfaas plan`: scenario (+ calibrations, + a trace as the workload) -> planner inputs -> the
optimal threshold and split with baselines, and the scenario's expectations checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prfaas_plan.assemble.calibration import calibration_overrides
from prfaas_plan.assemble.inputs import build_inputs
from prfaas_plan.assemble.scenario import LoadedScenario, load_scenario
from prfaas_plan.assemble.workload import trace_workload
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
    loaded = load_scenario(cat, scenario, sets)
    cat = calibrated_catalog(cat, loaded, calibration)
    wl = loaded.workload
    if trace is not None:
        from prfaas_plan.io.traces import read_trace

        wl = trace_workload(read_trace(trace), trace.stem, 512, None)
    inp, info = build_inputs(cat, loaded.spec, wl, loaded.path, paper_approximation, load)
    return PlanRun(loaded.spec.name, inp, info, loaded.spec.expect)


def run_plan(scenario: str | None, sets: list[str], calibration: list[Path] | None, trace: Path | None,
             load: float | None, paper_approximation: bool) -> PlanRun:
    """The plan and the scenario's `expect:` checks."""
    run = plan_inputs(scenario, sets, calibration, trace, load, paper_approximation)
    run.report = make_plan(run.inputs)
    run.checks = check_expectations(run.report, run.expect)
    return run
