"""A request trace as column arrays: arrival times, input and output lengths, and (Mooncake) the
prefix block hashes of each request. `io.traces` reads the files; `sim.prefix_cache` and
`assemble.workload` consume this container."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]


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
