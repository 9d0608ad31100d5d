"""Evaluates a scenario's `expect:` block against a plan report."""

from __future__ import annotations

from dataclasses import dataclass

from prfaas_plan.plan.planner import PlanReport
from prfaas_plan.specs.scenario import Expectations


@dataclass(frozen=True)
class Check:
    name: str
    actual: float | None
    expected: float
    kind: str  # "min" or "max"
    passed: bool


def check_expectations(r: PlanReport, e: Expectations | None) -> list[Check]:
    if e is None:
        return []
    p = r.prfaas_pd or r.homogeneous_pd
    actual = {
        "min_max_throughput_rps": p.max_throughput_rps,
        "max_ttft_p90_s": p.ttft_s["p90"],
        "max_ttft_mean_s": p.ttft_s["mean"],
        "max_loaded_ttft_p90_s": p.loaded_ttft_s["p90"],
        "max_egress_utilization": p.egress_utilization,
        "min_gain_vs_homogeneous_pd": r.gains["vs_homogeneous_pd"],
        "min_gain_vs_naive_heterogeneous": r.gains["vs_naive_heterogeneous"],
        "min_equal_cost_gain_vs_homogeneous_pd": r.gains["equal_cost_vs_homogeneous_pd"],
    }
    out = []
    for name, want in e.model_dump().items():
        if want is None:
            continue
        got = actual[name]
        kind = "min" if name.startswith("min_") else "max"
        ok = got is not None and (got >= want if kind == "min" else got <= want)
        out.append(Check(name, got, float(want), kind, bool(ok)))
    return out


def junit_xml(scenario: str, checks: list[Check]) -> str:
    from xml.sax.saxutils import escape, quoteattr

    fails = sum(not c.passed for c in checks)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name={quoteattr("prfaas-plan " + scenario)} tests="{len(checks)}" failures="{fails}">',
    ]
    for c in checks:
        lines.append(f'  <testcase classname={quoteattr(scenario)} name={quoteattr(c.name)}>')
        if not c.passed:
            msg = f"actual {c.actual} vs {c.kind} {c.expected}"
            lines.append(f"    <failure message={quoteattr(msg)}>{escape(msg)}</failure>")
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"
