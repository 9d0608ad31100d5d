"""Reads measurement CSV files (schema: ../shared/measurements/README.md) into column arrays.

Required columns: op, dtype, m, n, k, batch, seq_len, num_heads, num_kv_heads, head_dim, bytes,
latency_ms, source. The mechanism files' optional columns (num_experts, topk, tp, ep: numbers;
distribution, kernel, phase: text) are read when present. Extra columns are allowed. Every row is checked: known op and dtype, the
fields its op needs present, positive and numeric; errors name the file and line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prfaas_plan.errors import InvalidFileError
from prfaas_plan.io.files import csv_rows, read_text
from prfaas_plan.specs.limits import MAX_TOKENS
from prfaas_plan.specs.measurements import DTYPES, NUMERIC, OPS, REQUIRED, TEXT, Measurements

__all__ = ["DTYPES", "NUMERIC", "OPS", "REQUIRED", "Measurements", "read_many", "read_measurements"]


# plausible maxima: shapes up to 2^30 rows/columns, 1e8-token sequences (specs.limits), 1e14-byte
# copies, a latency of an hour (a kernel takes micro- to milliseconds)
MAXIMA = {"seq_len": MAX_TOKENS, "bytes": 1e14, "latency_ms": 3.6e6}
MAX_SHAPE = float(2**30)


def _num(value: str, col: str, where: str) -> float:
    try:
        x = float(value)
    except ValueError:
        raise InvalidFileError(
            f"column '{col}' is not a number: {value[:40]!r}", where=where, fix="write a number"
        ) from None
    if not np.isfinite(x) or x <= 0:
        raise InvalidFileError(
            f"column '{col}' must be positive and finite, got {value[:40]!r}", where=where,
            fix="remove the row or correct the value",
        )
    if x > MAXIMA.get(col, MAX_SHAPE):
        raise InvalidFileError(
            f"column '{col}' is {x:g}, beyond the plausible {MAXIMA.get(col, MAX_SHAPE):g}", where=where,
            fix="check the units (latency in milliseconds, sizes in elements or bytes)",
        )
    return x


# linear-attention variants a `kernel` column may name (`variant:kernel`): the fitted blocks (gdn, kda) and the
# variants costed as GDN (`perf.mechanisms.LINEAR_AS_GDN`)
LINEAR_VARIANTS = ("gdn", "kda", "lightning", "mamba2")


def _check_linear_variant(op: str, row: dict[str, str], where: str) -> None:
    if op != "linear_attention":
        return
    variant = (row.get("kernel") or "").strip().partition(":")[0]
    if variant not in LINEAR_VARIANTS:
        raise InvalidFileError(f"column 'kernel': unknown linear-attention variant {variant[:40]!r} (the part before "
                               f"':'); expected one of {', '.join(LINEAR_VARIANTS)}", where=where,
                               fix="write the kernel as VARIANT:NAME, e.g. gdn:chunk_gated_delta_rule, or remove the row")


# counts that are whole by nature (a latency or a byte count of a copy may be fractional on paper, a
# head or an expert may not)
WHOLE = ("m", "n", "k", "batch", "seq_len", "num_heads", "num_kv_heads", "head_dim", "num_experts", "topk", "tp", "ep")
PHASES = ("prefill", "decode")


def _check_shape(op: str, v: dict[str, float], row: dict[str, str], where: str) -> None:
    """Shapes no kernel can have: fractional counts, more KV heads than query heads (or a count that
    does not divide them), more routed experts per token or EP ranks than experts, an unknown phase."""
    for c in WHOLE:
        if np.isfinite(v[c]) and v[c] != int(v[c]):
            raise InvalidFileError(f"column '{c}' must be a whole number, got {row.get(c, '').strip()[:40]!r}",
                                   where=where, fix="correct the value or remove the row")
    h, kvh = v["num_heads"], v["num_kv_heads"]
    if np.isfinite(h) and np.isfinite(kvh) and (kvh > h or h % kvh):
        raise InvalidFileError(f"num_kv_heads {kvh:g} must divide num_heads {h:g} (each KV head serves a whole "
                               "group of query heads)", where=where, fix="check the two head counts, or remove the row")
    e = v["num_experts"]
    for c in ("topk", "ep"):
        if np.isfinite(e) and np.isfinite(v[c]) and v[c] > e:
            raise InvalidFileError(f"column '{c}' is {v[c]:g}, more than num_experts {e:g}", where=where,
                                   fix="check the MoE columns (experts, top-k, EP ranks), or remove the row")
    phase = (row.get("phase") or "").strip()
    if op == "linear_attention" and phase not in PHASES:
        raise InvalidFileError(f"column 'phase': {phase[:40]!r} is not one of {', '.join(PHASES)}", where=where,
                               fix="write prefill or decode, or remove the row")


def read_measurements(path: str | Path) -> Measurements:
    p = Path(path)
    text = read_text(p, "measurement file")
    table = [r for _, r in csv_rows(text, p)]
    header = [h.strip() for h in table[0]] if table else []
    dup = sorted({h for h in header if h and header.count(h) > 1})
    if dup:  # a row would keep only the last column of that name, silently
        raise InvalidFileError(f"line 1: column(s) {', '.join(dup)} appear more than once in the header", where=str(p),
                               fix="keep one column of each name")
    rows = [(i, dict(zip(header, r, strict=False))) for i, r in enumerate(table[1:], start=2) if any(x.strip() for x in r)]
    long = next((i for i, r in enumerate(table[1:], start=2) if any(x.strip() for x in r[len(header):])), None)
    if long is not None:  # zip() dropped the extra values: the row's columns are shifted, not just longer
        n = len(table[long - 1])
        raise InvalidFileError(f"line {long}: {n} values for the header's {len(header)} columns", where=str(p),
                               fix="quote a value that holds a comma, or add the extra column to the header")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidFileError(
            f"missing required column(s): {', '.join(missing)}", where=str(p),
            fix="see the measurement CSV schema in the README",
        )
    ops, dts, lat = [], [], []
    cols: dict[str, list[float]] = {c: [] for c in NUMERIC}
    texts: dict[str, list[str]] = {c: [] for c in TEXT}
    for i, row in rows:
        where = f"{p}:{i}"
        op = (row.get("op") or "").strip()
        if op not in OPS:
            raise InvalidFileError(f"unknown op {op[:40]!r}; expected one of {', '.join(OPS)}", where=where,
                                   fix="use one of the ops named")
        dt = (row.get("dtype") or "").strip()
        if dt not in DTYPES:
            raise InvalidFileError(f"unknown dtype {dt[:40]!r}; expected one of {', '.join(DTYPES)}", where=where,
                                   fix="use one of the dtypes named")
        for c in OPS[op]:
            if not (row.get(c) or "").strip():
                raise InvalidFileError(f"op '{op}' needs column '{c}', which is empty", where=where,
                                       fix=f"fill in '{c}' or remove the row")
        _check_linear_variant(op, row, where)
        vals = {c: _num(v, c, where) if (v := (row.get(c) or "").strip()) else np.nan for c in NUMERIC}
        _check_shape(op, vals, row, where)
        for c in NUMERIC:
            cols[c].append(vals[c])
        for c in TEXT:
            texts[c].append((row.get(c) or "").strip())
        lat.append(_num((row.get("latency_ms") or "").strip() or "nan", "latency_ms", where) / 1e3)
        ops.append(op)
        dts.append(dt)
    if not lat:
        raise InvalidFileError("no measurement rows", where=str(p), fix="the file has only a header")
    return Measurements(
        np.array(ops), np.array(dts), {k: np.array(v, dtype=float) for k, v in cols.items()},
        np.array(lat, dtype=float), [str(p)], {k: np.array(v, dtype=str) for k, v in texts.items()},
    )


def read_many(paths: list[str]) -> Measurements:
    if not paths:
        raise InvalidFileError("no measurement files given", fix="pass one or more CSV files")
    return Measurements.concat([read_measurements(x) for x in paths])
