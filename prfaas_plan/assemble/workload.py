"""Workloads from traces: `summarise` turns a trace into a compact workload file (quantile tables of
input, cached-prefix, uncached and output length; arrival rate and burstiness; provenance), and
`trace_workload` validates it as a `WorkloadSpec`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prfaas_plan.errors import InvalidFileError, PrfaasError
from prfaas_plan.io.yamlfile import validate_data
from prfaas_plan.sim.prefix_cache import cached_prefix
from prfaas_plan.specs.trace import Arr, Trace
from prfaas_plan.specs.workload import WorkloadSpec

QUANTILE_POINTS = 101


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
            "rate_rps": float(f"{len(tr) / span:.6g}"),  # significant digits: 2 requests a year is not 0
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



def split_trace_sets(sets: list[str], trace: object | None) -> tuple[list[str], list[str]]:
    """With a --trace, (the scenario's --set overrides, the `workload.*` ones the trace's workload
    takes); `--set workload=W` is refused then (it was dropped without a word: the trace is the
    workload). Without a trace, (sets, [])."""
    if trace is None:
        return sets, []
    whole = [s for s in sets if s.split("=", 1)[0].strip() == "workload"]
    if whole:
        raise PrfaasError(f"--set {whole[0]} with --trace: the trace is the workload (its lengths and arrivals; the "
                          "scenario's SLO is kept)", fix="drop --trace to plan workload W, or drop --set workload=W "
                          "(--set workload.FIELD=V still changes a field of the trace's workload)")
    wsets = [s for s in sets if s.strip().startswith("workload.")]
    return [s for s in sets if s not in wsets], wsets


def trace_workload(trace: Trace, name: str, block_tokens: int, cache_tokens: float | None,
                   base: WorkloadSpec | None = None, sets: list[str] | None = None) -> WorkloadSpec:
    """The trace as a workload. With `base` (the scenario's workload, which the trace replaces) its
    SLO is kept: a trace measures lengths and arrivals, not service objectives; `--set workload.*`
    overrides (`sets`) then apply to the trace's workload."""
    data = summarise(trace, name, block_tokens, cache_tokens)
    if base is not None:
        data["slo"] = base.slo.model_dump(exclude_none=True)
    wsets = [s for s in sets or [] if s.strip().startswith("workload.")]
    if wsets:
        from prfaas_plan.assemble.scenario import apply_overrides

        data = apply_overrides({"workload": data}, wsets, f"{trace.path} (--set)")["workload"]
    return validate_data(WorkloadSpec, data, trace.path)
