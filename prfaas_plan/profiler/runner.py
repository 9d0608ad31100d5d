"""Timing protocol and output files of `prfaas profile`.

Per case: enough rotating buffer sets that together they exceed the last-level cache (at most
MAX_SETS); one warm-up call on every set (faults pages in, loads kernels); then timed calls,
cycling through the sets, until `min_reps` and either `max_reps` or the time budget; the row's
latency is the median. A case that runs out of memory, or that the backend refuses (e.g. an fp8
shape its kernel does not take), is skipped with a warning and counted in the sidecar.
"""

from __future__ import annotations

import datetime as _dt
import math
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prfaas_plan.profiler.backends import elements
from prfaas_plan.profiler.suite import Case

MAX_SETS = 32
REPS = {"smoke": (3, 5, 0.05), "quick": (3, 11, 0.8), "full": (5, 25, 1.5)}  # min, max, budget s


@dataclass
class ProfileResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def measure(backend: Any, case: Case, suite: str) -> float:
    n_in, n_out = elements(case)
    per_set = max(1, (n_in + n_out) * backend.elem_bytes)
    sets = max(1, min(MAX_SETS, math.ceil(backend.rotate_bytes / per_set)))
    calls = backend.build(case, sets)
    for c in calls:  # warm-up
        c()
    backend.synchronize()
    lo, hi, budget = REPS[suite]
    times: list[float] = []
    spent, i = 0.0, 0
    while len(times) < lo or (len(times) < hi and spent < budget):
        t = backend.time(calls[i % len(calls)])
        times.append(t)
        spent += t
        i += 1
    return statistics.median(times)


def _eta_line(done: int, total: int, elapsed: float) -> str:
    left = elapsed / done * (total - done) if done else float("nan")
    return f"profiling: {done}/{total} kernels, {elapsed:.0f} s elapsed, about {left:.0f} s left\n"


def run_profile(backend: Any, cases: list[Case], suite: str, progress: bool = True,
                log: Any = None) -> ProfileResult:
    """Times every case. `progress`: a live bar (a terminal); `log(text)`: plain progress lines
    instead (off a terminal: the start, then about every 10% with the time left at the rate so far)."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    res = ProfileResult()
    t0 = time.perf_counter()
    source = f"prfaas profile {backend.name} {suite}"
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("profiling", total=len(cases))
        if log is not None:
            log(f"profiling: {len(cases)} kernels on {backend.name} ({suite} suite)\n")
        for case in cases:
            bar.update(task, description=case.describe()[:60])
            try:
                lat = measure(backend, case, suite)
            except backend.skip_errors as e:
                why = "out of memory" if isinstance(e, MemoryError) or "memory" in type(e).__name__.lower() else str(e)
                msg = f"skipped ({why}): {case.describe()}"
                res.skipped.append(msg)
                sys.stderr.write(f"warning: {msg}\n")
                backend.synchronize()
            else:
                row = case.row()
                choice = getattr(backend, "choice", "")
                row.update(latency_ms=lat * 1e3, source=source + (f" {case.label}" if case.label else "")
                           + (f" [{choice}]" if choice else ""))
                res.rows.append(row)
            bar.advance(task)
            done = len(res.rows) + len(res.skipped)
            if log is not None and (done % max(1, len(cases) // 10) == 0 or done == len(cases)):
                log(_eta_line(done, len(cases), time.perf_counter() - t0))
    res.seconds = time.perf_counter() - t0
    return res


def sidecar_path(csv_path: Path) -> Path:
    """measurements.csv -> measurements.meta.yaml (next to it)."""
    return csv_path.with_name(csv_path.stem + ".meta.yaml")


def meta_yaml(backend: Any, suite: str, model: str | None, gpus: int, res: ProfileResult) -> str:
    import yaml

    from prfaas_plan import __version__

    meta = backend.meta()
    meta.update({
        "tool": "prfaas-plan", "tool_version": __version__,
        "date": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "suite": suite, "model": model, "model_gpus": gpus if model else None,
        "dtypes": list(backend.dtypes), "rows": len(res.rows), "skipped": res.skipped,
        "seconds": round(res.seconds, 2),
        "protocol": (f"warm-up on every buffer set, median of {REPS[suite][0]}-{REPS[suite][1]} repeats "
                     f"(budget {REPS[suite][2]} s per case), random inputs, buffer sets rotated past "
                     f"{backend.rotate_bytes / 2**20:.0f} MiB"),
    })
    return yaml.safe_dump(meta, sort_keys=False, width=100)
