"""Rendering of `prfaas simulate`. JSON: {"scenario", "arrivals", "requests", "offered_rps", "load",
"max_throughput_rps", "binding", "plan", "simulated": {...}, "closed_form": {...}, "comparison":
{metric: {"simulated", "closed_form", "relative_difference"}}, "stages": {stage: {"requests",
"mean_wait_s", "mean_queue_length", "wait_growth_s_per_s"}}, "growing_queues", "conservation", "notes"};
with `--scheduler adaptive` or `--compare-schedulers` also "scheduler" and "schedulers": {name: {"ttft_s":
{"overall"|"offloaded"|"local": {"requests", "mean_s", "p90_s", "p99_s", "p999_s", "max_s"}},
"decode_wait_s": {same keys}, "throughput_rps", "egress_mean_gbps", "offload_fraction", "rerouted",
"split_changes", "decode_instances_lent" (adaptive), "conservation", "series": {arrays per second},
"policy" (adaptive)}}.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prfaas_plan.report.blocks import Note, blocks, table
from prfaas_plan.report.tables import fmt, to_csv, to_json, to_markdown

LABELS = {
    "throughput_rps": "throughput (req/s)", "ttft_mean_s": "TTFT mean (s)", "ttft_p90_s": "TTFT P90 (s)",
    "egress_mean_gbps": "egress mean (Gbps)", "egress_p99_1s_gbps": "egress P99 over 1 s (Gbps)",
    "link_utilization": "link utilisation",
}


def scheduler_rows(res: dict[str, Any]) -> tuple[list[str], list[list[str]], list[str]]:
    """Side-by-side table of the schedulers run (columns) and one line per split change."""
    blocks = res["schedulers"]
    names = list(blocks)
    rows = []
    for part in ("overall", "offloaded", "local"):
        for key, lab in (("mean_s", "mean"), ("p90_s", "P90"), ("p99_s", "P99"), ("p999_s", "P99.9"), ("max_s", "max")):
            rows.append([f"TTFT {lab}, {part} (s)"] + [fmt(blocks[n]["ttft_s"][part][key], ".3f") for n in names])
    for key, lab in (("mean_s", "mean"), ("p99_s", "P99")):
        rows.append([f"decode-slot wait {lab} (s)"] + [fmt(blocks[n]["decode_wait_s"][key], ".3f") for n in names])
    for key, lab, f in (("throughput_rps", "throughput (req/s)", ".4f"), ("egress_mean_gbps", "egress mean (Gbps)", ".3f"),
                        ("offload_fraction", "offloaded", ".3f"), ("rerouted", "requests rerouted", ",")):
        rows.append([lab] + [fmt(blocks[n][key], f) for n in names])
    rows.append(["split changes"] + [str(len(blocks[n]["split_changes"])) for n in names])
    why = {1: "decode lent to prefill: link backlog", -1: "lent decode returned", 0: "re-plan"}
    lines = [f"split change at {c['time_s']:.0f} s: local prefill {c['pd_prefill_from']:.0f} -> {c['pd_prefill_to']:.0f}, "
             f"decode -> {c['pd_decode_to']:.0f} (effective {c['effective_s']:.0f} s; "
             f"{why[int(np.sign(c['borrow']))]}" + (f"; window {c['window_rps']:.3f} req/s)" if c["window_requests"] else ")")
             for c in blocks["adaptive"]["split_changes"]]
    return ["metric"] + names, rows, lines


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
    sch = scheduler_rows(res) if "schedulers" in res else None
    if fmt_name == "csv":
        if sch is not None:
            rows += [[r[0] + f" [{n}]", r[i + 1], "-", "-"] for r in sch[1] for i, n in enumerate(sch[0][1:])]
        return to_csv(cols, rows)
    st_cols = ["stage", "requests", "mean wait (s)", "mean queue", "wait growth (s/s)"]
    st_rows = [[k, fmt(v["requests"]), fmt(v["mean_wait_s"], ".3f"), fmt(v["mean_queue_length"], ".2f"),
                fmt(v["wait_growth_s_per_s"], ".4f")] for k, v in res["stages"].items()]
    c = res["conservation"]
    title = (f"{res['scenario']}: {res['arrivals']}; offered {res['offered_rps']:.3f} req/s = {res['load']:.0%} of "
             f"Lambda_max {res['max_throughput_rps']:.3f} (binding: {res['binding']})")
    lines = [f"conservation: {c['arrived']:,} arrived = {c['completed']:,} completed + {c['in_system']:,} in system"]
    lines += res["notes"]
    if sch is not None:
        lines = sch[2] + lines
    if fmt_name == "markdown":
        extra = to_markdown(sch[0], sch[1], "schedulers") + "\n" if sch is not None else ""
        return (to_markdown(cols, rows, title) + "\n" + to_markdown(st_cols, st_rows) + "\n" + extra
                + "".join(f"- {x}\n" for x in lines))

    tables = [table(cols, rows, title), table(st_cols, st_rows)]
    if sch is not None:
        tables.append(table(sch[0], sch[1], "schedulers (same arrivals)"))
    return blocks(*tables, *[Note(x, style="dim") for x in lines])
