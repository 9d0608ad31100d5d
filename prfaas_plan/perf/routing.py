"""Routing skew of a MoE layer: how much more than its balanced share the busiest GPU's experts get.

The planner's default is balanced routing (every expert receives c x top_k / E assignments), which is
what the fused-MoE mechanism (`perf.mechanisms.moe_time`) is fitted on. `power_law` is the skew the
measured kernels were also timed under (aiconfigurator's `power_law_1.01` rows): each expert's load
is drawn independently from a power law p(x) ~ x^-alpha on [1, 0.8 c] (alpha = 1.01; for c x top_k
<= E, on [0.01, 2]), normalised to the layer's c x top_k assignments, and the measured GPU is the EP
rank that receives the most. Its cost is modelled as the balanced kernel fed `imbalance` x the
tokens: imbalance = E[max over the EP ranks of a rank's load] / the mean rank load, estimated once
per (E, EP, c) by a fixed-seed Monte Carlo over SAMPLES draws (deterministic; no global random
state). With expert TP only (EP 1) every GPU holds a slice of every expert, so skew moves no load
between GPUs: imbalance 1 (the measured skewed TP rows are within -7%..+8% of balanced ones).
The error of this model on the measured power-law rows is reported by `test_mechanisms`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Arr = NDArray[np.float64]
ROUTINGS = ("balanced", "power_law")
POWER_LAW_ALPHA = 1.01
SAMPLES = 128
SEED = 20_260_415
# tokens grid the imbalance is tabulated on (powers of two), interpolated in log tokens
GRID_TOKENS = 2.0 ** np.arange(0, 18)


def _table(experts: int, topk: int, ep: int) -> Arr:
    """Imbalance at each GRID_TOKENS size: the same uniform draws (common random numbers) pushed
    through each size's inverse power-law CDF, all sizes at once."""
    u = np.random.default_rng(SEED).random((1, SAMPLES, experts))
    big = GRID_TOKENS * topk > experts
    lo = np.where(big, 1.0, 0.01)[:, None, None]
    hi = np.where(big, np.maximum(0.8 * GRID_TOKENS, 1.0001), 2.0)[:, None, None]
    a = 1.0 - POWER_LAW_ALPHA
    loads = ((hi**a - lo**a) * u + lo**a) ** (1.0 / a)
    per_rank = loads.reshape(len(GRID_TOKENS), SAMPLES, ep, experts // ep).sum(axis=3)
    share = per_rank.max(axis=2) / per_rank.sum(axis=2)
    return np.asarray(share.mean(axis=1) * ep, dtype=float)


def routing_imbalance(routing: str, tokens: ArrayLike, experts: int, topk: int, ep: int) -> Arr:
    """Load of the busiest GPU's experts over its balanced share, for a layer fed `tokens` tokens."""
    c = np.asarray(tokens, dtype=float)
    if routing == "balanced" or ep <= 1 or experts % ep:
        return np.ones_like(c)
    if routing != "power_law":
        raise ValueError(f"unknown routing {routing!r}: use one of {', '.join(ROUTINGS)}")
    table = _table(experts, topk, ep)
    return np.asarray(np.interp(np.log2(np.maximum(c, 1.0)), np.log2(GRID_TOKENS), table), dtype=float)
