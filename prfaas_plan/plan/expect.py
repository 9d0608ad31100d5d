"""Evaluates a scenario's `expect:` block against a plan report."""

from __future__ import annotations

from dataclasses import dataclass

from prfaas_plan.plan.planner import PlanReport
from prfaas_plan.specs.scenario import Expectations

UNITS = {
    "min_max_throughput_rps": "req/s", "max_ttft_p90_s": "s", "max_ttft_mean_s": "s", "max_loaded_ttft_p90_s": "s",
    "max_egress_utilization": "fraction of the link", "min_gain_vs_homogeneous_pd": "x",
    "min_gain_vs_naive_heterogeneous": "x", "min_equal_cost_gain_vs_homogeneous_pd": "x",
}


@dataclass(frozen=True)
class Check:
    name: str
    actual: float | None
    expected: float
    kind: str  # "min" or "max"
    passed: bool
    unit: str = ""
    hint: str = ""  # where to look when it fails (the binding stage)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "expected": self.expected, "actual": self.actual,
                "unit": self.unit, "passed": self.passed}

    def describe(self) -> str:
        """'actual 3.416 req/s vs min 5 req/s' (4 significant digits)."""
        got = "none" if self.actual is None else f"{self.actual:.4g}"
        return f"actual {got} {self.unit} vs {self.kind} {self.expected:.4g} {self.unit}".replace("  ", " ")


def slo_checks(r: PlanReport) -> list[Check]:
    """The workload's SLOs as expectations on the main plan (loaded P90 TTFT at the operating load,
    decode tokens/s per request): a violated SLO fails `plan` like a failed `expect:`."""
    p = r.prfaas_pd or r.homogeneous_pd
    return [Check(f"slo_{c.name}", c.actual, c.limit, "max" if c.name == "ttft_p90_s" else "min", c.met,
                  "s" if c.name == "ttft_p90_s" else "tokens/s", f"binding stage {p.binding}")
            for c in p.slo]


def check_expectations(r: PlanReport, e: Expectations | None) -> list[Check]:
    if e is None:
        return slo_checks(r)
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
    hint = f"{p.label} binding stage: {p.binding}"
    out = []
    for name, want in e.model_dump().items():
        if want is None:
            continue
        got = actual[name]
        kind = "min" if name.startswith("min_") else "max"
        ok = got is not None and (got >= want if kind == "min" else got <= want)
        out.append(Check(name, got, float(want), kind, bool(ok), UNITS.get(name, ""), hint))
    return out + slo_checks(r)


def junit_xml(scenario: str, checks: list[Check]) -> str:
    """One test case per expectation; failures say actual vs expected (rounded, with units) and
    the binding stage as a hint; passing cases carry their actual value in system-out."""
    from xml.sax.saxutils import escape, quoteattr

    fails = sum(not c.passed for c in checks)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name={quoteattr("prfaas-plan " + scenario)} tests="{len(checks)}" failures="{fails}" errors="0">',
    ]
    for c in checks:
        lines.append(f'  <testcase classname={quoteattr(scenario)} name={quoteattr(c.name)}>')
        msg = c.describe()
        if not c.passed:
            lines.append(f"    <failure message={quoteattr(msg)}>{escape(msg + '; ' + c.hint)}</failure>")
        else:
            lines.append(f"    <system-out>{escape(msg)}</system-out>")
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def junit_error_xml(scenario: str, message: str) -> str:
    """A JUnit file with one errored test case: a scenario that could not be planned (bad input)."""
    from xml.sax.saxutils import escape, quoteattr

    first = message.splitlines()[0] if message else "error"
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuite name={quoteattr("prfaas-plan " + scenario)} tests="1" failures="0" errors="1">',
        f'  <testcase classname={quoteattr(scenario)} name="plan">',
        f"    <error message={quoteattr(first)}>{escape(message)}</error>",
        "  </testcase>",
        "</testsuite>",
    ]) + "\n"
