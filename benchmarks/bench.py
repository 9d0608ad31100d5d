"""Benchmarks for the speed goals (run: python benchmarks/bench.py [RUNS]). Prints wall times.

End to end, as a user runs them: the installed `prfaas` console script next to this Python (else
`python -m prfaas_plan`), min / median / max of RUNS runs (default 11) per command, the commands
interleaved so a change of load on this shared machine hits them alike; bytecode may be written
(PYTHONDONTWRITEBYTECODE is dropped for the children: without .pyc files every import compiles).
The first run of each command is not counted (it fills the bytecode and the YAML cache).
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    ("prfaas --help", ["--help"]),
    ("prfaas kv kimi-linear-48b", ["kv", "kimi-linear-48b"]),
    ("prfaas kv minimax-m2.5", ["kv", "minimax-m2.5"]),
    ("prfaas perf minimax-m2.5", ["perf", "minimax-m2.5"]),
    ("prfaas perf qwen3-30b-a3b -f json", ["perf", "qwen3-30b-a3b", "-f", "json"]),
    ("prfaas plan (default scenario)", ["plan"]),
    ("prfaas scale (default scenario)", ["scale"]),
    ("prfaas compare (default scenario)", ["compare"]),
]


def entry() -> list[str]:
    script = Path(sys.executable).parent / "prfaas"
    if script.exists():
        return [str(script)]
    found = shutil.which("prfaas")
    return [found] if found else [sys.executable, "-m", "prfaas_plan"]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def wall_times(exe: list[str], runs: int) -> dict[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out: dict[str, list[float]] = {name: [] for name, _ in COMMANDS}
    for _, args in COMMANDS:  # warm-up: bytecode, YAML cache
        subprocess.run(exe + args, check=True, capture_output=True, env=env)
    for _ in range(runs):
        for name, args in COMMANDS:
            t0 = time.perf_counter()
            subprocess.run(exe + args, check=True, capture_output=True, env=env)
            out[name].append(time.perf_counter() - t0)
    return out


def in_process() -> str:
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
    return f"plan in process: build inputs {1e3 * (t1 - t0):.1f} ms; optimiser + baselines + TTFT {1e3 * (t2 - t1) / 10:.1f} ms"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    exe = entry()
    load0 = os.getloadavg()[0]
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    times = wall_times(exe, runs)
    print(f"{start}, {os.cpu_count()} x {cpu_name()}, load average (1 min) {load0:.2f} -> "
          f"{os.getloadavg()[0]:.2f}, {runs} runs each, via {' '.join(exe)}")
    print("| command | min | median | max |\n|---|---|---|---|")
    for name, ts in times.items():
        print(f"| `{name}` | {min(ts):.2f} s | {statistics.median(ts):.2f} s | {max(ts):.2f} s |")
    cmp = exe + ["compare", "--prfaas-hardware", "h200,b200", "--local-hardware", "h20,h100",
                 "--budget-usd-per-hour", "1000", "--format", "json"]
    t0 = time.perf_counter()
    n = json.loads(subprocess.run(cmp, check=True, capture_output=True, text=True).stdout)["mixes_evaluated"]
    print(f"prfaas compare ({n:,} mixes, 4 GPU types): {time.perf_counter() - t0:.2f} s (one run)")
    print(in_process())


if __name__ == "__main__":
    main()
