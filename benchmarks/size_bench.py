"""Benchmark of `prfaas size` (issue #16): 4 PrfaaS x 4 local GPU types (plus each local type
alone), the three recipes (scenario, ep, dp2), up to 512 GPUs per cluster, paper scenario at
2.5 req/s, end to end (interpreter start included), with and without a P90 TTFT SLO.

Run: python benchmarks/size_bench.py. Prints the median wall time of 3 runs and the peak resident
memory of the child process.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time

ARGS = ["size", "--target-rps", "2.5", "--prfaas-hardware", "h200,b200,h100,mi300x",
        "--local-hardware", "h20,h800,a100,h100", "--price", "h800=2.5", "--max-gpus", "512",
        "--recipes", "scenario,ep,dp2", "--format", "json"]


def once(extra: list[str]) -> tuple[float, float, dict]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "prfaas_plan", *ARGS, *extra], check=True, capture_output=True,
                         text=True).stdout
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, rss, json.loads(out)


def main() -> None:
    for label, extra in (("no TTFT SLO", []), ("P90 TTFT SLO 5 s", ["--set", "workload.slo.ttft_p90_s=5"])):
        runs = [once(extra) for _ in range(3)]
        d = runs[-1][2]
        b = d["best"]
        print(f"{label}: {statistics.median(r[0] for r in runs):.2f} s (median of 3), peak RSS "
              f"{max(r[1] for r in runs):.0f} MB, {d['search_size']:.3g} configurations; best "
              f"{b['prfaas_gpus']} {b['prfaas_hardware']} + {b['local_gpus']} {b['local_hardware']} "
              f"({b['recipe']['name']}) {b['cost_usd_per_hour']:g} $/h")


if __name__ == "__main__":
    main()
