"""Rendering of `prfaas validate`: per op/dtype error table and the worst rows."""

from __future__ import annotations

from typing import Any

from prfaas_plan.report.blocks import Note, Table, blocks, table
from prfaas_plan.report.tables import to_csv, to_json, to_markdown

COLS = ["op", "dtype", "count", "MAPE", "median APE", "P90 APE", "bias"]
WORST_COLS = ["worst rows: op", "dtype", "shape", "measured ms", "predicted ms", "error"]
FLOOR_COLS = ["below the floor: op", "dtype", "shape", "measured ms", "floor ms", "predicted ms"]


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
    below = data.get("below_floor") or []
    frows = [[b["op"], b["dtype"], b["shape"], f"{b['measured_ms']:.4g}", f"{b['floor_ms']:.4g}",
              f"{b['predicted_ms']:.4g}"] for b in below]
    note = _floor_note(data) if below else ""
    if fmt_name == "markdown":
        out = to_markdown(COLS, srows, title) + "\n" + to_markdown(WORST_COLS, wrows)
        return out + ("\n" + to_markdown(FLOOR_COLS, frows) + "\n" + note + "\n" if below else "")
    extra: list[Table | Note] = [table(FLOOR_COLS, frows), Note(note)] if below else []
    return blocks(table(COLS, srows, title), table(WORST_COLS, wrows), *extra)


def _floor_note(data: dict[str, Any]) -> str:
    """Why rows were left out, and the affected groups' figures with them left in."""
    n = len(data["below_floor"])
    with_them = "; ".join(f"{g['op']} {g['dtype']} median APE {g['median_ape'] * 100:.1f}% over {g['count']} rows"
                          for g in data.get("summary_with_below_floor") or [])
    return (f"NOTE: {n} row(s) measured faster than the GPU's physical floor (the op's irreducible work at the "
            "datasheet's peak FLOP/s or HBM bandwidth, `prfaas_plan/perf/floors.py`) cannot be the shape their "
            "columns describe; they are left out of the statistics above and out of `prfaas calibrate`'s fits. "
            f"With them: {with_them}.")
