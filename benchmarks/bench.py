"""Benchmarks for the speed goals (run: python benchmarks/bench.py). Prints wall times."""

import statistics
import subprocess
import sys
import time


def wall(cmd: list[str], n: int = 5) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    exe = [sys.executable, "-m", "prfaas_plan"]
    print(f"prfaas --help          {wall(exe + ['--help']):.3f} s")
    print(f"prfaas kv minimax-m2.5 {wall(exe + ['kv', 'minimax-m2.5']):.3f} s")
    print(f"prfaas perf minimax-m2.5 {wall(exe + ['perf', 'minimax-m2.5']):.3f} s")
    print(f"prfaas plan            {wall(exe + ['plan']):.3f} s")
    print(f"prfaas scale (10 sizes to 10,000 GPUs, scenario) {wall(exe + ['scale', 'prfaas-paper'], 3):.3f} s")
    cmp = exe + ["compare", "--prfaas-hardware", "h200,b200", "--local-hardware", "h20,h100",
                 "--budget-usd-per-hour", "1000", "--format", "json"]
    out = subprocess.run(cmp, check=True, capture_output=True, text=True).stdout
    import json

    n = json.loads(out)["mixes_evaluated"]
    print(f"prfaas compare ({n:,} mixes)  {wall(cmp, 3):.3f} s")
    from prfaas_plan.assemble.inputs import build_inputs
    from prfaas_plan.assemble.scenario import load_scenario
    from prfaas_plan.catalog import Catalog
    from prfaas_plan.plan.planner import make_plan

    cat = Catalog()
    ld = load_scenario(cat, None)
    t0 = time.perf_counter()
    inp, _ = build_inputs(cat, ld.spec, ld.workload, ld.path, False, None)
    t1 = time.perf_counter()
    for _ in range(10):
        make_plan(inp)
    t2 = time.perf_counter()
    print(f"build inputs (profiles, atoms) {1e3 * (t1 - t0):.1f} ms; optimiser + baselines + TTFT {1e3 * (t2 - t1) / 10:.1f} ms")


if __name__ == "__main__":
    main()
