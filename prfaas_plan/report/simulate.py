"""Rendering of `prfaas simulate`. JSON: {"scenario", "arrivals", "requests", "offered_rps", "load",
"max_throughput_rps", "binding", "plan", "simulated": {...}, "closed_form": {...}, "comparison":
{metric: {"simulated", "closed_form", "relative_difference"}}, "stages": {stage: {"requests",
"mean_wait_s", "mean_queue_length", "wait_growth_s_per_s"}}, "growing_queues", "conservation", "notes"}.
"""

from __future__ import annotations

from typing import Any

from prfaas_plan.report.tables import fmt, rich_table, to_csv, to_json, to_markdown

LABELS = {
    "throughput_rps": "throughput (req/s)", "ttft_mean_s": "TTFT mean (s)", "ttft_p90_s": "TTFT P90 (s)",
    "egress_mean_gbps": "egress mean (Gbps)", "egress_p99_1s_gbps": "egress P99 over 1 s (Gbps)",
    "link_utilization": "link utilisation",
}


def render_simulation(res: dict[str, Any], fmt_name: str) -> Any:
    if fmt_name == "json":
        return to_json(res)
    cols = ["metric", "simulated", "closed form", "difference"]
    rows = []
    for k, v in res["comparison"].items():
        d = v["relative_difference"]
        rows.append([LABELS.get(k, k), fmt(v["simulated"], ".3f"), fmt(v["closed_form"], ".3f"),
                     "-" if d is None else f"{d * 100:+.1f}%"])
    s = res["simulated"]
    rows.append(["TTFT P50 / P99 (s)", f"{s['ttft_p50_s']:.3f} / {s['ttft_p99_s']:.3f}", "-", "-"])
    if fmt_name == "csv":
        return to_csv(cols, rows)
    st_cols = ["stage", "requests", "mean wait (s)", "mean queue", "wait growth (s/s)"]
    st_rows = [[k, fmt(v["requests"]), fmt(v["mean_wait_s"], ".3f"), fmt(v["mean_queue_length"], ".2f"),
                fmt(v["wait_growth_s_per_s"], ".4f")] for k, v in res["stages"].items()]
    c = res["conservation"]
    title = (f"{res['scenario']}: {res['arrivals']}; offered {res['offered_rps']:.3f} req/s = {res['load']:.0%} of "
             f"Lambda_max {res['max_throughput_rps']:.3f} (binding: {res['binding']})")
    lines = [f"conservation: {c['arrived']:,} arrived = {c['completed']:,} completed + {c['in_system']:,} in system"]
    lines += res["notes"]
    if fmt_name == "markdown":
        return (to_markdown(cols, rows, title) + "\n" + to_markdown(st_cols, st_rows) + "\n"
                + "".join(f"- {x}\n" for x in lines))
    from rich.console import Group
    from rich.text import Text

    return Group(rich_table(cols, rows, title), rich_table(st_cols, st_rows), *[Text(x, style="dim") for x in lines])
