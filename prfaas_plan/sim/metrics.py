"""Figures of one simulated run that the schedulers are compared on (pure: records in, dicts out)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.sim.adaptive import Series
from prfaas_plan.sim.engine import Arr, SimRecords


def _summary(x: Arr) -> dict[str, float | int | None]:
    if len(x) == 0:
        return {"requests": 0, "mean_s": None, "p90_s": None, "p99_s": None, "p999_s": None, "max_s": None}
    return {"requests": int(len(x)), "mean_s": float(x.mean()), "p90_s": float(np.quantile(x, 0.9)),
            "p99_s": float(np.quantile(x, 0.99)), "p999_s": float(np.quantile(x, 0.999)), "max_s": float(x.max())}


def ttft_breakdown(r: SimRecords, counted: NDArray[np.bool_]) -> dict[str, Any]:
    """TTFT mean / P90 / P99 over the `counted` requests: overall, offloaded and local."""
    ttft = r.ready_s - r.arrival_s
    return {"overall": _summary(ttft[counted]), "offloaded": _summary(ttft[counted & r.offloaded]),
            "local": _summary(ttft[counted & ~r.offloaded])}


def decode_wait(r: SimRecords, counted: NDArray[np.bool_]) -> dict[str, Any]:
    """Wait for a decode slot after the first token (not part of TTFT; it delays the second token):
    where lending decode instances to prefill costs."""
    return _summary((r.decode_start_s - r.ready_s)[counted])


def series_dict(s: Series) -> dict[str, list[float] | list[int]]:
    """The per-tick series as JSON-ready arrays, rounded to what they can mean (1 ms, 0.01 token,
    0.01% of the link, 0.1 Mbps; the raw doubles tripled the size and the write time of a
    1M-request report); infinite values, e.g. a drain time over a link at zero bandwidth, become None."""
    def clean(v: list[float], decimals: int) -> list[float]:
        a = np.round(np.asarray(v, dtype=float), decimals)
        out: list[float] = a.tolist()
        for i in np.flatnonzero(~np.isfinite(a)):
            out[i] = None  # type: ignore[call-overload]
        return out

    return {"time_s": clean(s.time_s, 3), "threshold_tokens": clean(s.threshold_tokens, 2),
            "link_utilization": clean(s.link_utilization, 4), "link_drain_s": clean(s.link_drain_s, 3),
            "prfaas_queue_s": clean(s.prfaas_queue_s, 3), "local_queue_s": clean(s.local_queue_s, 3),
            "bandwidth_gbps": clean(s.bandwidth_gbps, 4), "pd_prefill_instances": list(s.pd_prefill_instances)}
