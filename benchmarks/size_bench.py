"""Benchmark of the sizing search (issue #16): 4 PrfaaS x 4 local GPU types (plus each local type
alone), three recipe variants, up to 512 GPUs per cluster, on the paper scenario at 2.5 req/s.

Run: python benchmarks/size_bench.py [--atoms N] [--ttft-slo S]. Prints the time to prepare the
families (roofline profiles on the atoms), the search time, and the peak resident memory.
Until the recipe catalog lands, the three recipes reuse one prepared input per GPU pair (the
search cost is the same; preparing real recipes multiplies the preparation time by three).
"""

from __future__ import annotations

import argparse
import resource
import time

from prfaas_plan.assemble.inputs import mix_inputs
from prfaas_plan.assemble.scenario import load_scenario
from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan.size import Demand, Family, search_size, size_all

PRFAAS = ("h200", "b200", "h100", "mi300x")
LOCAL = ("h20", "h800", "a100", "h100")
PRICES = {"h200": 4.0, "b200": 6.0, "h100": 3.0, "mi300x": 3.5, "h20": 2.0, "h800": 2.5, "a100": 1.5}
RECIPES = ("r1", "r2", "r3")


def families(atoms: int) -> list[Family]:
    cat = Catalog()
    ls = load_scenario(cat, None)
    sc, wl, path = ls.spec, ls.workload, ls.path
    out = []
    for ph in (*PRFAAS, None):
        for lh in LOCAL:
            try:
                inp, _ = mix_inputs(cat, sc, wl, path, ph, lh, atoms=atoms)
            except PrfaasError:
                continue
            for r in RECIPES:
                out.append(Family(ph, lh, 8, r, sc.link.bandwidth_gbps, inp.route,
                                  PRICES[ph] * 8 if ph else 0.0, PRICES[lh] * 8, sc.link.rtt_ms / 1e3, 0.025))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--atoms", type=int, default=2000)
    ap.add_argument("--ttft-slo", type=float, default=None)
    a = ap.parse_args()
    t0 = time.perf_counter()
    fams = families(a.atoms)
    t1 = time.perf_counter()
    d = Demand(2.5, 0.8, 1.0, a.ttft_slo, 512)
    size = search_size(fams, d)
    res = size_all(fams, d)
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    b = res.best
    print(f"{len(fams)} families, {size:.3g} configurations, atoms {a.atoms}, TTFT SLO {a.ttft_slo}")
    print(f"prepare {t1 - t0:.2f} s, search {t2 - t1:.2f} s, peak RSS {rss:.0f} MB")
    if b:
        f = fams[b.family]
        print(f"best: {b.n_prfaas} x 8 {f.prfaas_hardware} + {b.n_local} x 8 {f.local_hardware} "
              f"({b.n_p} prefill), {b.cost_usd_per_hour:g} $/h; {len(res.unmet)} families cannot")


if __name__ == "__main__":
    main()
