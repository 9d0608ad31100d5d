"""Reading request traces (Mooncake JSONL, Azure LLM inference CSV, plain CSV) and measured link
bandwidth traces. Every malformed line is named (file and line) with the fix; `--skip-bad` counts
and skips them instead. To add a trace format: a `_NAME_records` generator yielding
(line, (time_s, input_tokens, output_tokens, hash_ids)) or (line, error text), wired in `read_trace`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from prfaas_plan.errors import InvalidFileError, PrfaasError
from prfaas_plan.io.files import csv_rows, read_bytes, read_text
from prfaas_plan.specs.limits import MAX_LINK_GBPS, MAX_TOKENS, MIN_LINK_GBPS
from prfaas_plan.specs.trace import Arr, Trace

__all__ = ["Trace", "read_bandwidth_trace", "read_trace"]


def _bad(path: str, line: int, msg: str, skip: bool, skipped: list[str]) -> None:
    if skip:
        skipped.append(f"line {line}: {msg}")
        return
    raise InvalidFileError(f"{path}: line {line}: {msg}",
                           fix="fix or remove the line, or pass --skip-bad to skip bad lines (they are counted)")


MAX_TIME_S = 1e9  # timestamps: about 32 years from the trace's start
MAX_TRACE_TOKENS = MAX_TOKENS
MAX_BW_TRACE_S = 1e7  # bandwidth traces: 116 days of 1-s slots (80 MB)


def _num(v: object, name: str, hi: float = MAX_TRACE_TOKENS, whole: bool = False) -> float:
    """A finite number within +-`hi`; `whole`: a token count, so 10.5 is refused (a length is counted in
    tokens; a fraction means the column holds something else, e.g. kilo-tokens)."""
    if isinstance(v, bool) or v is None or v == "":
        raise ValueError(f"'{name}' is missing")
    try:
        x = float(v)  # type: ignore[arg-type]
    except OverflowError:
        x = float("inf")
    if not np.isfinite(x):
        raise ValueError(f"'{name}' is not finite")
    if abs(x) > hi:
        raise ValueError(f"'{name}' {x:g} is beyond {hi:g} (not a plausible value)")
    if whole and not x.is_integer():
        raise ValueError(f"'{name}' {x:g} is not a whole number of tokens")
    return x


def _json_num(o: dict[str, object], name: str, hi: float = MAX_TRACE_TOKENS, whole: bool = True) -> float:
    """A JSON number field: a string ("100") is refused, not read as a number (a trace writer that
    quotes its numbers has other fields wrong too)."""
    v = o.get(name)
    if isinstance(v, str):
        raise ValueError(f"'{name}' is the string {v[:20]!r}, not a number")
    return _num(v, name, hi, whole)


Record = tuple[float, float, float, list[int]]


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose key is given twice is refused (json keeps the last one without a word; the
    YAML loader refuses the same)."""
    d = dict(pairs)
    if len(d) != len(pairs):
        keys = [k for k, _ in pairs]
        dup = next(k for i, k in enumerate(keys) if k in keys[:i])
        raise ValueError(f"key '{dup}' is given more than once")
    return d


def _mooncake_records(text: str) -> Iterator[tuple[int, Record | str]]:
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line, object_pairs_hook=_unique_keys)
            if not isinstance(o, dict):
                raise ValueError("not a JSON object")
            h = o.get("hash_ids", [])
            if not isinstance(h, list) or not all(isinstance(x, int) for x in h):
                raise ValueError("'hash_ids' must be a list of integers")
            inp = _json_num(o, "input_length")
            if len(h) > inp:  # whatever the block size, a block holds at least one token
                raise ValueError(f"'hash_ids' lists {len(h)} prefix blocks for a {inp:g}-token prompt")
            yield i, (_json_num(o, "timestamp", MAX_TIME_S * 1e3, whole=False) / 1e3,
                      inp, _json_num(o, "output_length"), h)
        except (ValueError, TypeError) as exc:
            yield i, f"malformed record ({exc})"
        except RecursionError:
            yield i, "malformed record (nested too deeply)"


def _csv_rows(text: str, path: str | Path) -> list[list[str]]:
    """CSV rows, one per line (`io.files.csv_rows`: an unclosed quote or a row the csv module refuses
    is named by its line)."""
    return [r for _, r in csv_rows(text, path)]


def _csv_records(text: str, fmt: str, path: str) -> Iterator[tuple[int, Record | str]]:
    cols = {"azure": ("TIMESTAMP", "ContextTokens", "GeneratedTokens"),
            "csv": ("timestamp_s", "input_tokens", "output_tokens")}[fmt]
    rows = _csv_rows(text, path)
    if not rows:
        raise InvalidFileError(f"{path}: the trace is empty", fix="give a trace with a header and at least one request")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in cols if c not in header]
    if missing:
        raise InvalidFileError(f"{path}: line 1: missing column(s) {', '.join(missing)} (have {', '.join(header)})",
                               fix=f"a {fmt} trace needs columns {', '.join(cols)}")
    ix = [header.index(c) for c in cols]
    t0 = None
    for i, r in enumerate(rows[1:], 2):
        if not r or not any(x.strip() for x in r):
            continue
        try:
            if fmt == "azure":  # ISO timestamps, seconds from the first request
                tt = _dt.datetime.fromisoformat(r[ix[0]].strip()[:26]).timestamp()
                t0 = tt if t0 is None else t0
                t = tt - t0
            else:
                t = _num(r[ix[0]], cols[0], MAX_TIME_S)
            yield i, (t, _num(r[ix[1]], cols[1], whole=True), _num(r[ix[2]], cols[2], whole=True), [])
        except (ValueError, IndexError) as exc:
            yield i, f"malformed row ({exc})"


def read_trace(path: str | Path, fmt: str = "auto", skip_bad: bool = False) -> Trace:
    p = Path(path)
    raw = read_bytes(p, "trace")
    if fmt == "auto":
        fmt = "mooncake" if p.suffix.lower() in (".jsonl", ".json") else "csv"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFileError(f"{p}: not UTF-8 text", fix="give a JSONL or CSV trace") from None
    if fmt == "mooncake":
        records = _mooncake_records(text)
    elif fmt in ("azure", "csv"):
        records = _csv_records(text, fmt, str(p))
    else:
        raise PrfaasError(f"unknown trace format {fmt!r}", fix="use --format mooncake, azure or csv")
    skipped: list[str] = []
    ts, inp, out, lines = [], [], [], []
    hashes: list[list[int]] | None = [] if fmt == "mooncake" else None
    for line, rec in records:
        if isinstance(rec, str):  # a parse error
            _bad(str(p), line, rec, skip_bad, skipped)
            continue
        t, a, b, h = rec
        if a < 1 or b < 0 or t < 0:
            _bad(str(p), line, "negative or zero length, or negative timestamp", skip_bad, skipped)
            continue
        ts.append(t)
        inp.append(a)
        out.append(b)
        lines.append(line)
        if hashes is not None:
            hashes.append(h)
    if not ts:
        extra = f" ({len(skipped)} bad lines skipped)" if skipped else ""
        raise InvalidFileError(f"{p}: the trace has no valid requests{extra}", fix="give a non-empty trace")
    arr = np.asarray(ts)
    back = np.diff(arr) < 0
    if np.any(back):
        k = int(np.argmax(back)) + 1
        raise InvalidFileError(f"{p}: line {lines[k]}: timestamp goes back in time (before line {lines[k - 1]})",
                               fix="sort the trace by timestamp")
    return Trace(str(p), fmt, arr, np.asarray(inp), np.asarray(out), hashes, skipped,
                 hashlib.sha256(raw).hexdigest())


def read_bandwidth_trace(path: str | Path, nominal_gbps: float) -> Arr:
    """Per-second link bandwidth factors (measured / nominal) from a CSV with columns `time_s,gbps`.

    Each row's bandwidth holds from its time until the next row's; the last row holds at least one
    second (to a whole second); before the first row the first value holds. The series is averaged into 1-s slots and
    repeats when the simulation runs longer than the file. Factors above 1 are kept (the file is
    the truth); an all-zero file is rejected (nothing could ever cross the link).
    """
    p = Path(path)
    text = read_text(p, "bandwidth trace")
    rows = _csv_rows(text, p)
    if not rows or [c.strip() for c in rows[0][:2]] != ["time_s", "gbps"]:
        raise InvalidFileError(f"{p}: line 1: expected a header 'time_s,gbps'",
                               fix="write one row per change: time in seconds, bandwidth in Gbps")
    ts: list[float] = []
    gs: list[float] = []
    for i, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            t, g = float(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise InvalidFileError(f"{p}: line {i}: expected two numbers 'time_s,gbps', got {','.join(row)[:80]!r}",
                                   fix="write one row per change: time in seconds, bandwidth in Gbps") from None
        if not (np.isfinite(t) and np.isfinite(g)) or t < 0 or g < 0:
            raise InvalidFileError(f"{p}: line {i}: time_s and gbps must be finite and >= 0",
                                   fix="write one row per change: time in seconds, bandwidth in Gbps")
        if t > MAX_BW_TRACE_S or g > MAX_LINK_GBPS:
            raise InvalidFileError(f"{p}: line {i}: time_s {t:g} or gbps {g:g} is beyond {MAX_BW_TRACE_S:g} s / "
                                   f"{MAX_LINK_GBPS:g} Gbps (1-s slots are simulated up to the last row)",
                                   fix="check the units: seconds from the start, Gbps")
        if ts and t <= ts[-1]:
            raise InvalidFileError(f"{p}: line {i}: time_s {t:g} is not after the previous row's {ts[-1]:g}",
                                   fix="sort the rows by time, one row per time")
        ts.append(t)
        gs.append(g)
    if not ts:
        raise InvalidFileError(f"{p}: no rows after the header", fix="add at least one 'time_s,gbps' row")
    if max(gs) <= 0:
        raise InvalidFileError(f"{p}: bandwidth is zero throughout: nothing could cross the link",
                               fix="check the units (Gbps) of the gbps column")
    if nominal_gbps <= 0:
        raise PrfaasError("the scenario's link bandwidth is zero", fix="set link.bandwidth_gbps > 0")
    t_arr, g_arr = np.array(ts), np.array(gs)
    end = float(np.ceil(t_arr[-1] + 1.0))
    edges = np.concatenate([[0.0], t_arr[1:], [end]])  # the first value also holds before t[0]
    cum = np.concatenate([[0.0], np.cumsum(g_arr * np.diff(edges))])
    if cum[-1] / end <= MIN_LINK_GBPS:
        raise InvalidFileError(f"{p}: mean gbps {cum[-1] / end:.3g} is below {MIN_LINK_GBPS:g} Gbps: the simulation "
                               "would take longer than the run it replays by orders of magnitude",
                               fix="check the units (Gbps) of the gbps column")
    sec = np.arange(0.0, end + 0.5)
    area = np.interp(sec, edges, cum)
    return np.asarray(np.diff(area) / nominal_gbps, dtype=float)
