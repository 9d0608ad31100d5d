"""Rendering of `prfaas validate`: per op/dtype error table and the worst rows."""

from __future__ import annotations

from typing import Any

from prfaas_plan.report.blocks import blocks, table
from prfaas_plan.report.tables import to_csv, to_json, to_markdown

COLS = ["op", "dtype", "count", "MAPE", "median APE", "P90 APE", "bias"]
WORST_COLS = ["worst rows: op", "dtype", "shape", "measured ms", "predicted ms", "error"]


def _pct(x: object) -> str:
    return "-" if not isinstance(x, int | float) else f"{x * 100:.1f}%"


def render_validate(data: dict[str, Any], fmt_name: str) -> Any:
    if fmt_name == "json":
        return to_json({k: v for k, v in data.items() if k != "source"})
    rows = [[g["op"], g["dtype"], g["count"], g["mape"], g["median_ape"], g["p90_ape"], g["bias"]] for g in data["summary"]]
    rows.append(["overall", "", data["rows"], data["overall"]["mape"], data["overall"]["median_ape"], None, None])
    if fmt_name == "csv":
        return to_csv(COLS, rows)
    srows = [[str(r[0]), str(r[1]), str(r[2])] + [_pct(x) for x in r[3:]] for r in rows]
    title = f"{data['hardware']}: roofline vs {data['rows']} measured kernels ({data['source']})"
    wrows = [[w["op"], w["dtype"], w["shape"], f"{w['measured_ms']:.4g}", f"{w['predicted_ms']:.4g}",
              f"{w['error'] * 100:+.0f}%"] for w in data["worst"]]
    if fmt_name == "markdown":
        return to_markdown(COLS, srows, title) + "\n" + to_markdown(WORST_COLS, wrows)

    return blocks(table(COLS, srows, title), table(WORST_COLS, wrows))
