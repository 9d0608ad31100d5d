"""Request traces: reading (Mooncake JSONL, Azure LLM inference CSV, plain CSV), prefix reuse from
block hashes, and summarising a trace into a compact workload file.

Prefix reuse (Mooncake `hash_ids`, one id per `block_tokens`-token block): a request's cached prefix
is its leading run of blocks already in the cache; after the request every one of its blocks is in
the cache (most recently used). `cache_tokens` bounds the cache (LRU by block); None = unbounded.
The cached prefix never covers the whole prompt: at least one token is always prefilled (engines
recompute the last token to produce logits). Hit ratio = cached tokens / input tokens.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.errors import InvalidFileError, PrfaasError

Arr = NDArray[np.float64]
QUANTILE_POINTS = 101


@dataclass
class Trace:
    path: str
    fmt: str
    arrival_s: Arr
    input_tokens: Arr
    output_tokens: Arr
    hash_ids: list[list[int]] | None
    skipped: list[str] = field(default_factory=list)
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.arrival_s)


def _bad(path: str, line: int, msg: str, skip: bool, skipped: list[str]) -> None:
    if skip:
        skipped.append(f"line {line}: {msg}")
        return
    raise InvalidFileError(f"{path}: line {line}: {msg}",
                           fix="fix or remove the line, or pass --skip-bad to skip bad lines (they are counted)")


def _num(v: object, name: str) -> float:
    if isinstance(v, bool) or v is None or v == "":
        raise ValueError(f"'{name}' is missing")
    x = float(v)  # type: ignore[arg-type]
    if not np.isfinite(x):
        raise ValueError(f"'{name}' is not finite")
    return x


Record = tuple[float, float, float, list[int]]


def _mooncake_records(text: str) -> Iterator[tuple[int, Record | str]]:
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
            if not isinstance(o, dict):
                raise ValueError("not a JSON object")
            h = o.get("hash_ids", [])
            if not isinstance(h, list) or not all(isinstance(x, int) for x in h):
                raise ValueError("'hash_ids' must be a list of integers")
            yield i, (_num(o.get("timestamp"), "timestamp") / 1e3, _num(o.get("input_length"), "input_length"),
                      _num(o.get("output_length"), "output_length"), h)
        except (ValueError, TypeError) as exc:
            yield i, f"malformed record ({exc})"


def _csv_records(text: str, fmt: str, path: str) -> Iterator[tuple[int, Record | str]]:
    cols = {"azure": ("TIMESTAMP", "ContextTokens", "GeneratedTokens"),
            "csv": ("timestamp_s", "input_tokens", "output_tokens")}[fmt]
    rows = list(csv.reader(text.splitlines()))
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
                t = _num(r[ix[0]], cols[0])
            yield i, (t, _num(r[ix[1]], cols[1]), _num(r[ix[2]], cols[2]), [])
        except (ValueError, IndexError) as exc:
            yield i, f"malformed row ({exc})"


def read_trace(path: str | Path, fmt: str = "auto", skip_bad: bool = False) -> Trace:
    p = Path(path)
    if not p.is_file():
        raise InvalidFileError(f"{p}: no such trace file", fix="check the path")
    raw = p.read_bytes()
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


class BlockLRU:
    """A prefix cache of blocks identified by (position, hash), LRU by block; `cap` blocks (None:
    unbounded)."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.cache: OrderedDict[tuple[int, int], None] = OrderedDict()  # insertion order = LRU order

    def hit(self, keys: list[tuple[int, int]]) -> int:
        """Length in blocks of the leading run of `keys` already cached."""
        n = 0
        while n < len(keys) and keys[n] in self.cache:
            n += 1
        return n

    def insert(self, keys: list[tuple[int, int]]) -> None:
        for k in keys:
            self.cache[k] = None
            self.cache.move_to_end(k)
        while self.cap is not None and len(self.cache) > self.cap:
            self.cache.popitem(last=False)


def _cap(cache_tokens: float | None, block_tokens: int) -> int | None:
    return None if cache_tokens is None else max(0, int(cache_tokens // block_tokens))


def cached_prefix(tr: Trace, block_tokens: int = 512, cache_tokens: float | None = None) -> Arr:
    """Cached prefix tokens of each request (see the module docstring)."""
    if tr.hash_ids is None:
        return np.zeros(len(tr))
    lru = BlockLRU(_cap(cache_tokens, block_tokens))
    out = np.zeros(len(tr))
    for r, h in enumerate(tr.hash_ids):
        keys = list(enumerate(h))  # a block is identified by its position and hash
        out[r] = lru.hit(keys)
        lru.insert(keys)
    return np.minimum(out * block_tokens, tr.input_tokens - 1)


@dataclass
class ClusterRouting:
    """Per-request outcome of routing with one prefix cache per cluster (`route_two_caches`)."""

    offload: NDArray[np.bool_]  # prefilled on the PrfaaS cluster
    compute_tokens: Arr  # tokens prefilled where the request runs (input - prefix usable there)
    prefix_pd: Arr  # cached prefix in the PD cluster at arrival (tokens)
    prefix_prfaas: Arr  # cached prefix in the PrfaaS cluster at arrival (tokens)
    move_to_pd_tokens: Arr  # prefix tokens whose KV moves PrfaaS -> PD (shares the egress link)
    move_to_prfaas_tokens: Arr  # prefix tokens whose KV moves PD -> PrfaaS (the reverse direction)


def route_two_caches(tr: Trace, threshold: float, mode: str, block_tokens: int = 512,
                     pd_cache_tokens: float | None = None, prfaas_cache_tokens: float | None = None) -> ClusterRouting:
    """The paper's routing rule (section 3.3) with a separate prefix cache in each cluster.

    l_total = input length, l_pd / l_prfaas = leading cached run in each cluster's cache.
    - scarce bandwidth: each cluster is judged on its own cache: PD-P if l_total - l_pd <= t, else
      PrfaaS, which prefills l_total - l_prfaas tokens. No cache moves.
    - abundant bandwidth: l_prefix = max(l_prfaas, l_pd); PD-P if l_total - l_prefix <= t, else
      PrfaaS; when the longer prefix is in the other cluster its extra blocks move there first.
    Cache contents: the PD cluster holds the KV of every request (it decodes all of them: local
    prefills, and PrfaaS prefills whose KV crossed the link); the PrfaaS cluster holds what it
    prefilled. Moved blocks are inserted where they land. Caches are updated in arrival order.
    Only the incremental KV (compute_tokens) crosses the link after a PrfaaS prefill.
    """
    if mode not in ("scarce", "abundant"):
        raise PrfaasError(f"unknown prefix routing mode {mode!r}", fix="use scarce or abundant")
    n = len(tr)
    off = np.zeros(n, bool)
    pre_pd, pre_pf, comp = np.zeros(n), np.zeros(n), np.zeros(n)
    mv_pd, mv_pf = np.zeros(n), np.zeros(n)
    pd, pf = BlockLRU(_cap(pd_cache_tokens, block_tokens)), BlockLRU(_cap(prfaas_cache_tokens, block_tokens))
    inp = tr.input_tokens
    hashes = tr.hash_ids if tr.hash_ids is not None else [[] for _ in range(n)]
    for r, h in enumerate(hashes):
        keys = list(enumerate(h))
        top = float(inp[r]) - 1.0  # at least one token is prefilled
        a, b = min(pd.hit(keys) * block_tokens, top), min(pf.hit(keys) * block_tokens, top)
        pre_pd[r], pre_pf[r] = a, b
        if mode == "scarce":
            go = inp[r] - a > threshold
            comp[r] = inp[r] - (b if go else a)
        else:
            best = max(a, b)
            go = inp[r] - best > threshold
            comp[r] = inp[r] - best
            if go and a > b:
                mv_pf[r] = a - b
            elif not go and b > a:
                mv_pd[r] = b - a
        off[r] = go
        if go:
            pf.insert(keys)
        pd.insert(keys)
    return ClusterRouting(off, comp, pre_pd, pre_pf, mv_pd, mv_pf)


def _quantiles(x: Arr) -> list[list[float]]:
    q = np.linspace(0, 1, QUANTILE_POINTS)
    v = np.quantile(x, q)
    v = np.maximum(np.maximum.accumulate(v), 1.0)
    return [[round(float(a), 4), round(float(b), 1)] for a, b in zip(q, v, strict=True)]


def window_peak_to_mean(t: Arr, window: float) -> float:
    span = float(t[-1] - t[0])
    if span <= window:
        return 1.0
    counts = np.bincount(((t - t[0]) // window).astype(np.int64))
    full = counts[: int(span // window)] if int(span // window) > 0 else counts
    return float(full.max() / (len(t) / span * window))


def summarise(tr: Trace, name: str, block_tokens: int, cache_tokens: float | None) -> dict[str, object]:
    """A workload file (as a dict) from a trace: compact quantile tables, arrivals, provenance."""
    cached = cached_prefix(tr, block_tokens, cache_tokens)
    unc = tr.input_tokens - cached
    gaps = np.diff(tr.arrival_s)
    span = float(tr.arrival_s[-1] - tr.arrival_s[0])
    if len(tr) < 2 or span <= 0:
        raise InvalidFileError(f"{tr.path}: needs at least two requests at different times to measure arrivals",
                               fix="give a longer trace")
    scv = float(gaps.var() / gaps.mean() ** 2) if gaps.mean() > 0 else 1.0
    hit = float(cached.sum() / tr.input_tokens.sum())
    out_len = np.maximum(tr.output_tokens, 1.0)
    return {
        "name": name,
        "description": f"imported from {Path(tr.path).name} ({tr.fmt}) by prfaas workload import",
        "input_length": {"kind": "quantiles", "points": _quantiles(tr.input_tokens)},
        "output_length": {"kind": "quantiles", "points": _quantiles(out_len)},
        "prefix_cache": {
            "uncached_length": {"kind": "quantiles", "points": _quantiles(unc)},
            "cached_prefix_length": {"kind": "quantiles", "points": _quantiles(np.maximum(cached, 1.0))},
            "hit_ratio": round(hit, 4),
        },
        "arrival": {
            "rate_rps": round(len(tr) / span, 6) if span > 0 else None,
            "burstiness_scv": round(max(scv, 0.0), 4),
            "peak_to_mean_1s": round(window_peak_to_mean(tr.arrival_s, 1.0), 3),
            "peak_to_mean_10s": round(window_peak_to_mean(tr.arrival_s, 10.0), 3),
        },
        "slo": {"decode_tokens_per_s": 40.0},
        "provenance": {
            "file": Path(tr.path).name, "sha256": tr.sha256, "format": tr.fmt, "requests": len(tr),
            "skipped_lines": len(tr.skipped), "time_span_s": round(span, 3),
            "mean_input_tokens": round(float(tr.input_tokens.mean()), 1),
            "p90_input_tokens": round(float(np.quantile(tr.input_tokens, 0.9)), 1),
            "mean_output_tokens": round(float(tr.output_tokens.mean()), 1),
            "block_tokens": block_tokens, "cache_tokens": "unbounded" if cache_tokens is None else float(cache_tokens),
            "prefix_hit_ratio": round(hit, 4),
        },
    }


def read_bandwidth_trace(path: str | Path, nominal_gbps: float) -> Arr:
    """Per-second link bandwidth factors (measured / nominal) from a CSV with columns `time_s,gbps`.

    Each row's bandwidth holds from its time until the next row's; the last row holds at least one
    second (to a whole second); before the first row the first value holds. The series is averaged into 1-s slots and
    repeats when the simulation runs longer than the file. Factors above 1 are kept (the file is
    the truth); an all-zero file is rejected (nothing could ever cross the link).
    """
    from prfaas_plan.fileio import read_text

    p = Path(path)
    text = read_text(p, "bandwidth trace")
    rows = list(csv.reader(text.splitlines()))
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
            raise InvalidFileError(f"{p}: line {i}: expected two numbers 'time_s,gbps', got {','.join(row)!r}") from None
        if not (np.isfinite(t) and np.isfinite(g)) or t < 0 or g < 0:
            raise InvalidFileError(f"{p}: line {i}: time and bandwidth must be finite and >= 0")
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
    sec = np.arange(0.0, end + 0.5)
    area = np.interp(sec, edges, cum)
    return np.asarray(np.diff(area) / nominal_gbps, dtype=float)
