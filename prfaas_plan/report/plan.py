"""Rendering of `prfaas plan`. JSON (stable; throughputs in requests/s):
{"scenario", "prfaas_pd": PLAN|null, "homogeneous_pd": PLAN, "naive_heterogeneous": PLAN|null,
 "gains": {"vs_homogeneous_pd", "vs_naive_heterogeneous", "equal_cost_vs_homogeneous_pd"} (ratios),
 "optimiser", "inputs", "notes"}
PLAN = {"threshold_tokens", "offload_fraction", "mean_offloaded_tokens", "instances": {"prfaas",
 "pd_prefill", "pd_decode"}, "stage_throughput_rps": {"prfaas", "pd_prefill", "pd_decode"},
 "max_throughput_rps", "binding", "egress_gbps", "ttft_s": {"mean", "p90"}, "loaded_ttft_s":
 {"mean", "p90"}, "cost_usd_per_hour", "slo": [{"name", "limit", "actual", "met", "margin"}] (the workload's
 SLOs at the operating load; margin < 0 = violated by that fraction), "goodput_rps" (highest rate meeting the
 TTFT SLO; null without one), plus detail fields (bounds_rps, exact_rps,
 paper_approximation_rps, eq7_gap, eq8_gap, egress_gbps_at_max, egress_utilization)}.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from prfaas_plan.plan.expect import Check
from prfaas_plan.plan.planner import Plan, PlanReport
from prfaas_plan.report.blocks import Note, blocks, table
from prfaas_plan.report.tables import to_json, to_markdown


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def plan_data(r: PlanReport, info: dict[str, Any], checks: list[Check] | None = None) -> dict[str, Any]:
    def pd(p: Plan | None) -> Any:
        return None if p is None else _clean(dataclasses.asdict(p))

    return {
        "scenario": r.scenario, "prfaas_pd": pd(r.prfaas_pd), "homogeneous_pd": pd(r.homogeneous_pd),
        "naive_heterogeneous": pd(r.naive_heterogeneous), "gains": _clean(r.gains),
        "optimiser": r.optimiser, "inputs": _clean(info), "notes": r.notes,
        "expectations": [_clean(c.as_dict()) for c in checks or []],
    }


def _f(v: float | None, spec: str = ".2f", unit: str = "") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:{spec}}{unit}"


def _slo_mark(p: Plan, name: str) -> str:
    c = next((c for c in p.slo if c.name == name), None)
    if c is None:
        return ""
    return f" (SLO {c.limit:g} met)" if c.met else f" VIOLATES SLO {c.limit:g} by {-c.margin:.0%}"


def _slo_text(p: Plan, name: str) -> str:
    c = next((c for c in p.slo if c.name == name), None)
    return "-" if c is None else f"{c.actual:.1f}" + _slo_mark(p, name)


def _rows(plans: list[Plan]) -> list[list[str]]:
    def inst(p: Plan) -> str:
        i = p.instances
        return "/".join(str(i[k]) if i[k] or k == "pd_decode" else "-" for k in ("prfaas", "pd_prefill", "pd_decode"))

    def st(p: Plan, k: str) -> str:
        v = p.stage_throughput_rps[k]
        return _f(v) if v else "-"

    spec = [
        ("threshold t (tokens)", lambda p: _f(p.threshold_tokens, ",.0f")),
        ("offloaded", lambda p: _f(p.offload_fraction * 100, ".1f", "%")),
        ("mean offloaded length (tokens)", lambda p: _f(p.mean_offloaded_tokens, ",.0f")),
        ("instances PrfaaS/PD-P/PD-D", inst),
        ("Theta PrfaaS (req/s)", lambda p: st(p, "prfaas")),
        ("Theta PD-P (req/s)", lambda p: st(p, "pd_prefill")),
        ("Theta PD-D (req/s)", lambda p: st(p, "pd_decode")),
        ("Lambda_max (req/s)", lambda p: _f(p.max_throughput_rps, ".3f")),
        ("binding stage", lambda p: p.binding),
        ("TTFT unloaded mean / P90 (s)", lambda p: f"{_f(p.ttft_s['mean'])} / {_f(p.ttft_s['p90'])}"),
        ("TTFT loaded mean / P90 (s)", lambda p: f"{_f(p.loaded_ttft_s['mean'])} / {_f(p.loaded_ttft_s['p90'])}"
                                                 + _slo_mark(p, "ttft_p90_s")),
        ("decode tokens/s per request", lambda p: _slo_text(p, "decode_tokens_per_s")),
        ("goodput: max req/s within the TTFT SLO", lambda p: _f(p.goodput_rps, ".3f")),
        ("egress at load / at max (Gbps)", lambda p: f"{_f(p.egress_gbps, '.1f')} / {_f(p.egress_gbps_at_max, '.1f')}"),
        ("link utilisation at load", lambda p: _f(p.egress_utilization * 100, ".1f", "%")),
        ("cost ($/h)", lambda p: _f(p.cost_usd_per_hour, ",.0f")),
        ("Lambda exact / paper approx. (req/s)", lambda p: f"{_f(p.exact_rps, '.3f')} / {_f(p.paper_approximation_rps, '.3f')}"),
    ]
    return [[name] + [fn(p) for p in plans] for name, fn in spec]


def _decode_text(d: dict[str, Any]) -> str:
    step = d.get("step_time_s")
    parts = [f"{d.get('mode', '?')} mode", f"max batch {d['max_batch']:,}" if "max_batch" in d else "",
             f"step {step * 1e3:.1f} ms" if isinstance(step, int | float) else ""]
    return ", ".join(p for p in parts if p)


def expectation_rows(checks: list[Check]) -> list[list[str]]:
    return [[c.name, c.kind, f"{c.expected:.4g}", "-" if c.actual is None else f"{c.actual:.4g}", c.unit,
              "pass" if c.passed else "FAIL"] for c in checks]


EXPECT_COLS = ["expectation", "kind", "expected", "actual", "unit", "result"]


def render_plan(r: PlanReport, info: dict[str, Any], fmt_name: str, load: float,
                checks: list[Check] | None = None) -> Any:
    checks = checks or []
    if fmt_name == "json":
        return to_json(plan_data(r, info, checks))
    if fmt_name == "yaml":
        import yaml

        return yaml.safe_dump(plan_data(r, info, checks), sort_keys=False)
    plans = [p for p in (r.prfaas_pd, r.homogeneous_pd, r.naive_heterogeneous) if p is not None]
    cols = ["metric"] + [p.label for p in plans]
    rows = _rows(plans)
    g = r.gains
    gain_line = (
        f"Gains: {_f(g['vs_homogeneous_pd'], '.2f', 'x')} vs homogeneous PD, "
        f"{_f(g['vs_naive_heterogeneous'], '.2f', 'x')} vs naive heterogeneous, "
        f"{_f(g['equal_cost_vs_homogeneous_pd'], '.2f', 'x')} throughput per $ vs homogeneous PD"
    )
    foot = [
        gain_line,
        f"Optimiser: {r.optimiser}; loaded TTFT at {load:.0%} of each column's Lambda_max "
        "(Allen-Cunneen M/G/c approximation).",
        f"Prefill profiles: PrfaaS {info.get('prfaas_profile', '-')}; local {info.get('local_profile')}.",
        "Prefill capacity: " + ("steady-state throughput (GPU time per request with forwards filled to the "
                                "engine's token budget, request overhead overlapped); TTFT uses the "
                                "single-request latency." if info.get("prefill_capacity", "throughput") == "throughput"
                                else "1 / single-request latency (the paper's Eqs. 3-4)."),
        f"Decode: {_decode_text(info['decode'])}.",
    ] + [f"Serving recipe, {k} cluster: {v}." for k, v in (info.get("recipes") or {}).items()] + r.notes
    title = f"Scenario {r.scenario}: {info['model']}"
    if fmt_name == "markdown":
        exp = ("\n" + to_markdown(EXPECT_COLS, expectation_rows(checks), "Expectations")) if checks else ""
        return to_markdown(cols, rows, title) + "\n" + "\n".join(f"- {x}" for x in foot) + "\n" + exp

    extra = [table(EXPECT_COLS, expectation_rows(checks), "Expectations")] if checks else []
    return blocks(table(cols, rows, title), *[Note(x) for x in foot], *extra)


def expectation_lines(checks: list[Check]) -> str:
    """One line per `expect:` check, for stderr."""
    out = []
    for c in checks:
        mark = "ok  " if c.passed else "FAIL"
        out.append(f"expect {mark} {c.name}: {c.describe()}" + ("" if c.passed else f" ({c.hint})") + "\n")
    return "".join(out)
