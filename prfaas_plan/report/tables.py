"""Generic tabular rendering in csv, markdown and json formats (tables for the terminal: `report.blocks`)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any


def fmt(v: Any, spec: str | None = None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "-"
        if spec:
            return format(v, spec)
        return f"{v:.4g}"
    return str(v)


def format_column(values: Sequence[Any]) -> list[str]:
    """One number style for a whole column: whole numbers with thousands separators; otherwise the
    same number of decimals for every row (3 significant digits of the smallest nonzero value, at
    most 6 decimals); scientific notation for the whole column only when values fall below 1e-3,
    reach 1e12 or span more than 7 decades."""
    nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)]
    if len(nums) != sum(1 for v in values if v is not None and not (isinstance(v, float) and not math.isfinite(v))):
        return [fmt(v) for v in values]  # text in the column: leave it
    if not nums:
        return ["-" for _ in values]
    big = max(abs(v) for v in nums)
    small = min((abs(v) for v in nums if v), default=0.0)
    if all(float(v).is_integer() for v in nums) and big < 1e15:
        spec = ",.0f"
    elif big >= 1e12 or (small and (small < 1e-3 or big / small > 1e7)):
        spec = ".3e"
    else:
        spec = f",.{min(6, max(0, 2 - math.floor(math.log10(small)))) if small else 3}f"
    return ["-" if not (isinstance(v, int | float) and math.isfinite(v)) else format(v, spec) for v in values]


def format_columns(rows: Sequence[Sequence[Any]]) -> list[list[str]]:
    """`format_column` applied to every column of a table."""
    if not rows:
        return []
    cols = [format_column([r[i] for r in rows]) for i in range(len(rows[0]))]
    return [[c[k] for c in cols] for k in range(len(rows))]


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if x is None else x for x in r])
    return buf.getvalue()


def to_markdown(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> str:
    out = [f"### {title}\n"] if title else []
    out.append("| " + " | ".join(columns) + " |")
    out.append("|" + "|".join("---" for _ in columns) + "|")
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out) + "\n"


_SCALARS = (int, float, bool, type(None))
_INLINE_MIN = 8  # scalar arrays at least this long go on one line


def _jsonable(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    raise TypeError(type(o).__name__)


def _inline_arrays(o: Any, arrays: list[str], tag: str) -> Any:
    """A copy of `o` with each long array of scalars replaced by a marker string (`tag`, a nonce no
    input string carries, and the index), and its compact JSON (C encoder) appended to `arrays`."""
    if hasattr(o, "tolist") and getattr(o, "ndim", 0) >= 1:
        o = o.tolist()
    if isinstance(o, dict):
        return {k: _inline_arrays(v, arrays, tag) for k, v in o.items()}
    if isinstance(o, list | tuple):
        if len(o) >= _INLINE_MIN and all(isinstance(v, _SCALARS) for v in o):
            arrays.append(json.dumps(o, separators=(", ", ": "), allow_nan=False))
            return f"{tag}{len(arrays) - 1}{tag}"
        return [_inline_arrays(v, arrays, tag) for v in o]
    return o


def to_json(data: Any) -> str:
    """Indented JSON with long arrays of scalars (per-second series, sweeps) kept on one line:
    readable, and fast (the indenting encoder is pure Python; a 330,000-point series took seconds)."""
    arrays: list[str] = []
    tag = f"@{uuid.uuid4().hex}@"
    text = json.dumps(_inline_arrays(data, arrays, tag), indent=2, default=_jsonable, allow_nan=False)
    return re.sub(f'"{tag}(\\d+){tag}"', lambda m: arrays[int(m.group(1))], text) + "\n"
