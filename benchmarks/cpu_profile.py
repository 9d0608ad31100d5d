"""The real-CPU figure of the profiler (run: python benchmarks/cpu_profile.py): `prfaas profile
--device cpu --quick`, then `calibrate --hardware cpu` and `validate` on its output. Prints the wall
time, the overall and per-op median APE and the load average, because both figures move with the
machine's load (README, Profiler); the test suite checks the pipeline on synthetic timings instead.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    exe = [sys.executable, "-m", "prfaas_plan"]
    with tempfile.TemporaryDirectory() as d:
        csv, hw = Path(d) / "q.csv", Path(d) / "cpu.yaml"
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        subprocess.run(exe + ["profile", "--device", "cpu", "--quick", "-o", str(csv)], check=True)
        took = time.perf_counter() - t0
        subprocess.run(exe + ["calibrate", "--hardware", "cpu", str(csv), "-o", str(hw)], check=True)
        out = subprocess.run(exe + ["validate", "--hardware", str(hw), str(csv), "-f", "json"], check=True,
                             capture_output=True, text=True).stdout
    v = json.loads(out)
    print(f"cpu quick profile {took:.1f} s (load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after); "
          f"{v['rows']} kernels; overall median APE {v['overall']['median_ape']:.1%}; "
          + ", ".join(f"{s['op']} {s['median_ape']:.1%}" for s in v["summary"]))


if __name__ == "__main__":
    main()
