"""Prefix reuse from block hashes (Mooncake `hash_ids`, one id per `block_tokens`-token block).

A request's cached prefix is its leading run of blocks already in the cache; after the request
every one of its blocks is in the cache (most recently used). `cache_tokens` bounds the cache (LRU
by block); None = unbounded. The cached prefix never covers the whole prompt: at least one token
is always prefilled (engines recompute the last token to produce logits). Hit ratio = cached
tokens / input tokens. `route_two_caches` applies the paper's routing rule with one cache per
cluster.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from prfaas_plan.errors import PrfaasError
from prfaas_plan.specs.trace import Arr, Trace


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
