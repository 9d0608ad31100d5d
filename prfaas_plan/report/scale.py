"""Rendering of `prfaas scale` (table, JSON, Markdown, CSV)."""

from __future__ import annotations

from typing import Any

from prfaas_plan.report.blocks import Note, blocks, table
from prfaas_plan.report.tables import fmt, to_csv, to_json, to_markdown

COLS = ["gpus", "instances", "egress_gbps", "egress_gbps_exact", "p99_1s_gbps", "link_gbps_needed"]
HEADERS = ["GPUs", "instances", "egress Eq.2 (Gbps)", "egress exact (Gbps)", "P99 1 s (Gbps)", "link needed (Gbps)"]


def render_scale(data: dict[str, Any], fmt_name: str) -> Any:
    if fmt_name == "json":
        return to_json(data)
    rows = [[r[c] for c in COLS] for r in data["rows"]]
    if fmt_name == "csv":
        return to_csv(COLS, rows)
    srows = [[fmt(r[0]), fmt(r[1])] + [fmt(x, ",.1f") if isinstance(x, float) else fmt(x) for x in r[2:]] for r in rows]
    where = data.get("scenario") or f"{data['tokens']:,} tokens"
    title = (f"Egress projection: {data['model']} on {data['gpus_per_instance']}x{data['hardware']} instances, {where} "
             f"(Phi_kv {data['kv_gbps_per_instance']:.2f} Gbps per instance at {data['representative_tokens']:,.0f} tokens)")
    if fmt_name == "markdown":
        return to_markdown(HEADERS, srows, title) + "".join(f"\n- {n}" for n in data["notes"]) + "\n"

    return blocks(table(HEADERS, srows, title), *[Note(n, style="dim") for n in data["notes"]])
