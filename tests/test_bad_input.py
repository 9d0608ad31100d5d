"""Bad-input table (issue #14): every input kind, generated hostile values, driven through `prfaas`.

Each case writes its files into a fresh folder, runs `prfaas ARGS` there and checks what a user
must see: exit 2, the file and the field or flag named, a `Fix:` line, no traceback or "internal
error", done within 10 s and 2 GiB of address space, and nothing left at the output target (no
file, no temp file).

The runs go through `python -m prfaas_plan` in a fork server: one helper process imports the
package once, then forks a child per case that sets RLIMIT_AS (2 GiB) and runs the command line;
the server times it, kills it past 10 s and reports its peak RSS. So a case costs its own work,
not an interpreter start, and a case that allocates before checking fails on the memory cap
(MemoryError -> "internal error") instead of swapping the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# A bad input must be refused quickly: CPU seconds of the run (user + system, which a loaded machine
# does not inflate), and a wall-clock kill well above that which only a hang reaches.
CPU_LIMIT_S = 10.0
TIME_LIMIT_S = 60.0
MEMORY_LIMIT_BYTES = 2 << 30

SERVER = r"""
import json, os, resource, runpy, select, signal, sys, time, traceback
os.environ["OPENBLAS_NUM_THREADS"] = "1"
import prfaas_plan.cli  # noqa: F401  the CLI, imported once (children inherit it)
import numpy, yaml, pydantic  # noqa: F401
out = sys.stdout
for line in sys.stdin:
    req = json.loads(line)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(req["cwd"])
            fd1 = os.open("_stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fd2 = os.open("_stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd1, 1); os.dup2(fd2, 2)
            sys.stdout = os.fdopen(1, "w", closefd=False); sys.stderr = os.fdopen(2, "w", closefd=False)
            resource.setrlimit(resource.RLIMIT_AS, (req["memory"], req["memory"]))
            if req.get("fsize") is not None:  # a full disk: writes past this size fail with EFBIG
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (req["fsize"], req["fsize"]))
            os.environ.update(req.get("env") or {})
            sys.argv = ["prfaas", *req["argv"]]
            code = 0
            try:
                runpy.run_module("prfaas_plan", run_name="__main__", alter_sys=True)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 99
        try:
            sys.stdout.flush(); sys.stderr.flush()
        finally:
            os._exit(code)
    deadline = t0 + req["timeout"]
    timed_out = False
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            wpid, status, ru = os.wait4(pid, 0)
            timed_out = True
            break
        time.sleep(0.005)
    rc = os.waitstatus_to_exitcode(status)
    out.write(json.dumps({"rc": rc, "seconds": time.monotonic() - t0, "timed_out": timed_out,
                          "cpu_seconds": ru.ru_utime + ru.ru_stime,
                          "maxrss_bytes": ru.ru_maxrss * 1024}) + "\n")
    out.flush()
"""


class Server:
    def __init__(self) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "200"}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)

    def run(self, argv: list[str], cwd: Path, fsize: int | None = None, env: dict[str, str] | None = None) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        req = {"argv": argv, "cwd": str(cwd), "memory": MEMORY_LIMIT_BYTES, "timeout": TIME_LIMIT_S, "fsize": fsize,
               "env": env or {}}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        res = json.loads(self.proc.stdout.readline())
        res["stdout"] = (cwd / "_stdout").read_text(errors="replace")
        res["stderr"] = (cwd / "_stderr").read_text(errors="replace")
        return res

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    s.close()


# ---------------------------------------------------------------- valid files to break


def _yaml(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def _dump(d: object) -> str:
    return yaml.safe_dump(d, sort_keys=False)


SCENARIO = {
    "name": "t", "model": "prfaas-hybrid-1t",
    "prfaas": {"hardware": "h200", "gpus": 32, "gpus_per_instance": 8},
    "local": {"hardware": "h20", "gpus": 64, "gpus_per_instance": 8},
    "link": {"bandwidth_gbps": 100}, "workload": "paper-lognormal",
    "decode": {"mode": "fixed", "max_batch": 20, "step_time_ms": 25},
}
WORKLOAD = {"name": "w", "input_length": {"kind": "lognormal", "mu": 9.9, "sigma": 1.0, "lo": 128, "hi": 131072}}


def scenario(**changes: object) -> str:
    """The test scenario with dotted-path changes, e.g. scenario(**{"local.gpus": 8})."""
    d = json.loads(json.dumps(SCENARIO))
    for k, v in changes.items():
        *head, last = k.split(".")
        node = d
        for h in head:
            node = node.setdefault(h, {})
        node[last] = v
    return _dump(d)


def hardware(section: str, key: str, value: object) -> str:
    d = _yaml("hardware/h200.yaml")
    d[section][key] = value
    return _dump(d)


def hardware_efficiency(path: str, value: object = None, delete: bool = False) -> str:
    """h200's entry with efficiency.PATH (dotted) set to `value`, or deleted."""
    d = _yaml("hardware/h200.yaml")
    *head, last = path.split(".")
    node = d["efficiency"]
    for h in head:
        node = node[h]
    if delete:
        del node[last]
    else:
        node[last] = value
    return _dump(d)


def model(**changes: object) -> str:
    d = _yaml("models/llama-3.1-8b.yaml")
    for k, v in changes.items():
        node = d
        *head, last = k.split(".")
        for h in head:
            node = node[int(h)] if h.isdigit() else node[h]
        node[last] = v
    return _dump(d)


def calibration(key: str, value: object) -> str:
    eff = _yaml("hardware/h200.yaml")["efficiency"]
    eff[key] = value
    return _dump({"hardware": "h200", "efficiency": eff})


MEAS_HEADER = "op,dtype,m,n,k,batch,seq_len,num_heads,num_kv_heads,head_dim,bytes,latency_ms,source\n"


def meas(row: str) -> str:
    good = "gemm,bf16,4096,4096,4096,,,,,,,0.2,test\n"
    return MEAS_HEADER + good + row + "\n"


def mooncake(*records: str) -> str:
    good = ['{"timestamp": 0, "input_length": 1000, "output_length": 10, "hash_ids": [1, 2]}',
            '{"timestamp": 1000, "input_length": 2000, "output_length": 20, "hash_ids": [1, 3, 4, 5]}']
    return "\n".join([*good, *records]) + "\n"


HF = json.loads((ROOT / "tests/fixtures/llama-config.json").read_text())


def hf(**changes: object) -> str:
    return json.dumps({**HF, **changes})


NESTED = 100_000  # far past Python's recursion limit


@dataclass
class Case:
    id: str
    argv: list[str]
    files: dict[str, str | bytes | None] = field(default_factory=dict)  # None = a folder
    names: tuple[str, ...] = ()  # each must appear in stderr (file, field, flag)
    target: str | None = None  # must not exist afterwards (or keep `keep`'s content)
    xfail: str | None = None  # phase 1 of #14: the fix lives in a module being moved (#13)
    fsize: int | None = None
    readonly: tuple[str, ...] = ()  # folders made read-only
    keep: dict[str, str] = field(default_factory=dict)  # files that must be left unchanged
    fifos: tuple[str, ...] = ()  # named pipes nobody writes to (reading one blocks forever)
    env: dict[str, str] = field(default_factory=dict)


KV = ["kv", "llama-3.1-8b", "--lengths", "1k"]
SCALE_QUICK = ["scale", "--model", "llama-3.1-8b", "--hardware", "h200", "--tokens", "8k", "--gpus", "64"]

CASES = [
    # ---- scenario
    Case("scenario-deep-nesting", ["plan", "s.yaml"], {"s.yaml": "a: " + "[" * NESTED + "]" * NESTED},
         ("s.yaml", "nest")),
    Case("scenario-duplicate-key", ["plan", "s.yaml"], {"s.yaml": scenario() + "link: {bandwidth_gbps: 10}\n"},
         ("s.yaml", "link", "duplicate")),
    Case("scenario-5000-digit-int", ["plan", "s.yaml"], {"s.yaml": scenario().replace("gpus: 64", "gpus: " + "9" * 5000)},
         ("s.yaml", "line")),
    Case("scenario-local-gpus-1e8", ["plan", "s.yaml"], {"s.yaml": scenario(**{"local.gpus": 100_000_000})},
         ("s.yaml", "local.gpus")),
    Case("scenario-prfaas-gpus-1e8", ["plan", "s.yaml"], {"s.yaml": scenario(**{"prfaas.gpus": 100_000_000})},
         ("s.yaml", "prfaas.gpus")),
    Case("scenario-max-batch-limit-1e8", ["plan", "s.yaml"],
         {"s.yaml": scenario(decode={"mode": "roofline", "max_batch_limit": 100_000_000})},
         ("s.yaml", "max_batch_limit")),
    Case("scenario-fixed-max-batch-1e12", ["plan", "s.yaml"],
         {"s.yaml": scenario(**{"decode.max_batch": 10**12})}, ("s.yaml", "decode.fixed.max_batch")),
    Case("scenario-link-inf", ["plan", "s.yaml"], {"s.yaml": scenario(**{"link.bandwidth_gbps": float("inf")})},
         ("s.yaml", "link.bandwidth_gbps")),
    Case("scenario-link-1e-300", ["plan", "s.yaml"], {"s.yaml": scenario(**{"link.bandwidth_gbps": 1e-300})},
         ("s.yaml", "link.bandwidth_gbps")),
    Case("scenario-rtt-1e308", ["plan", "s.yaml"], {"s.yaml": scenario(**{"link.rtt_ms": 1e308})},
         ("s.yaml", "link.rtt_ms")),
    Case("scenario-load-nan", ["plan", "s.yaml"], {"s.yaml": scenario(load=float("nan"))}, ("s.yaml", "load")),
    Case("scenario-price-1e300", ["plan", "s.yaml"], {"s.yaml": scenario(**{"local.price_usd_per_gpu_hour": 1e300})},
         ("s.yaml", "local.price_usd_per_gpu_hour")),
    Case("scenario-profile-seconds-1e300", ["plan", "s.yaml"], {"s.yaml": scenario(**{"prfaas.prefill_profile": {
        "source": "t", "points": [{"tokens": 1024, "seconds": 0.4}, {"tokens": 8192, "seconds": 1e300}]}})},
        ("s.yaml", "prfaas.prefill_profile.points.1.seconds")),
    Case("scenario-not-a-mapping", ["plan", "s.yaml"], {"s.yaml": "- a\n- b\n"}, ("s.yaml", "mapping")),
    Case("scenario-is-a-folder", ["plan", "s.yaml"], {"s.yaml": None}, ("s.yaml",)),
    Case("scenario-not-utf8", ["plan", "s.yaml"], {"s.yaml": b"name: \xff\xfe\n"}, ("s.yaml",)),
    # ---- workload (a file the scenario names)
    Case("workload-tokens-1e300", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "input_length": {"kind": "fixed", "tokens": 1e300}})}, ("w.yaml", "input_length.fixed.tokens")),
    Case("workload-lognormal-hi-1e300", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "input_length": {**WORKLOAD["input_length"], "hi": 1e300}})}, ("w.yaml", "input_length.lognormal.hi")),
    Case("workload-output-tokens-1e12", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "output_length": {"kind": "fixed", "tokens": 1e12}})}, ("w.yaml", "output_length.fixed.tokens")),
    Case("workload-rate-inf", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "arrival": {"rate_rps": float("inf")}})}, ("w.yaml", "arrival.rate_rps")),
    Case("workload-scv-1e300", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "arrival": {"burstiness_scv": 1e300}})}, ("w.yaml", "arrival.burstiness_scv")),
    Case("workload-histogram-counts-1e308", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "input_length": {"kind": "histogram", "edges": [1, 2, 3], "counts": [1e308, 1e308]}})},
        ("w.yaml", "input_length.histogram.counts")),
    Case("workload-deep-nesting", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"),
                                                     "w.yaml": "a: " + "{b: " * NESTED + "1" + "}" * NESTED},
         ("w.yaml", "nest")),
    # ---- hardware
    Case("hardware-flops-1e-300", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware("datasheet", "bf16_dense_flops_per_s", 1e-300)}, ("hw.yaml", "bf16_dense_flops_per_s")),
    Case("hardware-hbm-bandwidth-1e-300", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware("datasheet", "hbm_bandwidth_bytes_per_s", 1e-300)}, ("hw.yaml", "hbm_bandwidth_bytes_per_s")),
    Case("hardware-sm-count-1e30", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware("datasheet", "sm_count", 1e30)}, ("hw.yaml", "sm_count")),
    Case("hardware-hbm-capacity-nan", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware("datasheet", "hbm_capacity_bytes", float("nan"))}, ("hw.yaml", "hbm_capacity_bytes")),
    Case("hardware-scaleup-domain-1e9", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware("datasheet", "max_gpus_per_scaleup_domain", 10**9)},
         ("hw.yaml", "max_gpus_per_scaleup_domain")),
    Case("hardware-price-string", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware("price", "usd_per_gpu_hour", "cheap")}, ("hw.yaml", "price.usd_per_gpu_hour")),
    # an old-schema GPU file (before 2026-11-23's mechanism refit) is told to refit, not to respell
    Case("hardware-removed-moe-effective-rows-factor", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware_efficiency("moe_effective_rows_factor", 3.88)},
         ("hw.yaml", "moe_effective_rows_factor", "removed on 2026-11-23", "prfaas calibrate")),
    Case("hardware-removed-chunk-compute-efficiency", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware_efficiency("linear_attention.gdn.chunk_compute_efficiency", 0.3)},
         ("hw.yaml", "chunk_compute_efficiency", "removed on 2026-11-23", "prfaas calibrate")),
    # a partial mechanism block no longer defaults its fitted fields to optimistic values
    Case("hardware-gdn-without-chunk-item-s", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware_efficiency("linear_attention.gdn.chunk_item_s", delete=True)},
         ("hw.yaml", "linear_attention.gdn.chunk_item_s", "prfaas calibrate")),
    Case("hardware-removed-moe-ramp-rows", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware_efficiency("moe.int4.ramp_rows", 8.442)},
         ("hw.yaml", "ramp_rows", "removed on 2026-11-23", "prfaas calibrate")),
    # a rate of 0 would be an infinite small-batch penalty (compute time has a 1 / rate term): null is "none"
    Case("hardware-moe-zero-ramp-rate", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware_efficiency("moe.int4.ramp_flops_per_row_sm", 0)},
         ("hw.yaml", "moe.int4.ramp_flops_per_row_sm")),
    Case("hardware-moe-without-routed-bytes-efficiency", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": hardware_efficiency("moe.int4.routed_bytes_efficiency", delete=True)},
         ("hw.yaml", "moe.int4", "routed_bytes_efficiency", "prfaas calibrate")),
    Case("measurements-unknown-linear-variant", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": "op,dtype,m,n,k,batch,seq_len,num_heads,num_kv_heads,head_dim,bytes,latency_ms,source,kernel,phase\n"
                   "linear_attention,bf16,4096,,,1,4096,16,16,128,,0.2,x,retnet:chunk,prefill\n"},
         ("m.csv", "kernel", "retnet")),
    # ---- model
    Case("model-zero-heads", ["kv", "m.yaml", "--lengths", "1k"], {"m.yaml": model(**{"layers.0.attention.num_heads": 0})},
         ("m.yaml", "num_heads")),
    Case("model-hidden-1e30", ["kv", "m.yaml", "--lengths", "1k"], {"m.yaml": model(hidden_size=1e30)},
         ("m.yaml", "hidden_size")),
    Case("model-layers-1e9", ["kv", "m.yaml", "--lengths", "1k"],
         {"m.yaml": model(num_hidden_layers=10**9, **{"layers.0.count": 10**9})}, ("m.yaml", "num_hidden_layers")),
    Case("model-vocab-string", ["kv", "m.yaml", "--lengths", "1k"], {"m.yaml": model(vocab_size="large")},
         ("m.yaml", "vocab_size")),
    # ---- calibration
    Case("calibration-efficiency-above-1", [*KV, "--hardware", "h200", "--calibration", "c.yaml"],
         {"c.yaml": calibration("memory_efficiency", 2.0)}, ("c.yaml", "efficiency.memory_efficiency")),
    Case("calibration-overhead-1e300", [*KV, "--hardware", "h200", "--calibration", "c.yaml"],
         {"c.yaml": calibration("request_overhead_s", 1e300)}, ("c.yaml", "efficiency.request_overhead_s")),
    Case("calibration-other-gpu", [*KV, "--hardware", "h20", "--calibration", "c.yaml"],
         {"c.yaml": calibration("memory_efficiency", 0.8)}, ("c.yaml", "h200")),
    Case("calibration-deep-nesting", [*KV, "--hardware", "h200", "--calibration", "c.yaml"],
         {"c.yaml": "[" * NESTED + "]" * NESTED}, ("c.yaml", "nest")),
    # ---- measurement CSV
    Case("measurements-latency-1e308", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,1e308,test")}, ("m.csv", "latency_ms")),
    Case("measurements-field-over-128kib", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,0.1," + "x" * 200_000)}, ("m.csv", "line 3")),
    Case("measurements-5000-digit-m", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("gemm,bf16," + "9" * 5000 + ",1024,1024,,,,,,,0.1,test")}, ("m.csv", "'m'")),
    Case("measurements-nan-latency", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,nan,test")}, ("m.csv", "latency_ms")),
    Case("measurements-seq-len-1e300", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("prefill_attention,bf16,,,,1,1e300,8,8,128,,0.1,test")}, ("m.csv", "seq_len")),
    # ---- traces
    Case("trace-deep-nesting", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": ' + "[" * NESTED + "]" * NESTED + "}")}, ("t.jsonl", "line 3"),
         target="w.yaml"),
    Case("trace-tokens-1e300", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 2000, "input_length": 1e300, "output_length": 5, "hash_ids": []}')},
         ("t.jsonl", "line 3", "input_length"), target="w.yaml"),
    Case("trace-timestamp-1e300", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 1e300, "input_length": 100, "output_length": 5, "hash_ids": []}')},
         ("t.jsonl", "line 3", "timestamp"), target="w.yaml"),
    Case("trace-5000-digit-int", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 2000, "input_length": ' + "9" * 5000 + ', "output_length": 5}')},
         ("t.jsonl", "line 3"), target="w.yaml"),
    Case("trace-csv-field-over-128kib", ["workload", "import", "t.csv", "-o", "w.yaml"],
         {"t.csv": "timestamp_s,input_tokens,output_tokens\n0,100,10\n1,100," + "1" * 200_000 + "\n"},
         ("t.csv", "line 3"), target="w.yaml"),
    # an unclosed quote would swallow every later line into one field: named at the line it opens on
    Case("trace-csv-unclosed-quote", ["workload", "import", "t.csv", "-o", "w.yaml"],
         {"t.csv": 'timestamp_s,input_tokens,output_tokens\n0,"100,10\n1,100,10\n2,100,10\n'},
         ("t.csv", "line 2", "quote"), target="w.yaml"),
    Case("trace-jsonl-length-as-string", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 2000, "input_length": "100", "output_length": 5, "hash_ids": []}')},
         ("t.jsonl", "line 3", "input_length", "string"), target="w.yaml"),
    Case("measurements-unclosed-quote", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas('gemm,bf16,"1024,1024,1024,,,,,,,0.1,test') + "gemm,bf16,8,8,8,,,,,,,0.1,test\n"},
         ("m.csv", "line 3", "quote")),
    Case("bandwidth-trace-unclosed-quote", ["simulate", "--requests", "200", "--bandwidth-trace", "b.csv"],
         {"b.csv": 'time_s,gbps\n0,100\n10,"4\n20,100\n'}, ("b.csv", "line 3", "quote")),
    Case("trace-cache-tokens-inf", ["workload", "import", "t.jsonl", "--cache-tokens", "inf", "-o", "w.yaml"],
         {"t.jsonl": mooncake()}, ("--cache-tokens",), target="w.yaml"),
    Case("trace-is-a-folder", ["workload", "import", "t.jsonl", "-o", "w.yaml"], {"t.jsonl": None}, ("t.jsonl",),
         target="w.yaml"),
    Case("trace-simulate-nested", ["simulate", "--trace", "t.jsonl"],
         {"t.jsonl": mooncake('[' * NESTED + ']' * NESTED)}, ("t.jsonl", "line 3")),
    # ---- bandwidth trace
    Case("bandwidth-trace-time-1e9", ["simulate", "--requests", "200", "--bandwidth-trace", "b.csv"],
         {"b.csv": "time_s,gbps\n0,100\n1e9,100\n"}, ("b.csv", "line 3", "time_s")),
    Case("bandwidth-trace-0.001-gbps", ["simulate", "--requests", "200", "--bandwidth-trace", "b.csv"],
         {"b.csv": "time_s,gbps\n0,0.001\n"}, ("b.csv", "gbps")),
    Case("bandwidth-trace-inf", ["simulate", "--requests", "200", "--bandwidth-trace", "b.csv"],
         {"b.csv": "time_s,gbps\n0,inf\n"}, ("b.csv", "line 2")),
    # ---- HF config
    Case("hf-infinity", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(hidden_size=float("inf"))},
         ("c.json", "hidden_size"), target="m.yaml"),
    Case("hf-nan", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(intermediate_size=float("nan"))},
         ("c.json", "intermediate_size"), target="m.yaml"),
    Case("hf-string-heads", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(num_attention_heads="many")},
         ("c.json", "num_attention_heads"), target="m.yaml"),
    Case("hf-zero-heads", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(num_attention_heads=0)},
         ("c.json", "num_attention_heads"), target="m.yaml"),
    Case("hf-layers-1e9", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(num_hidden_layers=10**9)},
         ("c.json", "num_hidden_layers"), target="m.yaml"),
    Case("hf-short-list", ["models", "import", "c.json", "-o", "m.yaml"],
         {"c.json": hf(num_local_experts=8, num_experts_per_tok=2, moe_layer_freq=[1, 1])},
         ("c.json", "moe_layer_freq"), target="m.yaml"),
    Case("hf-list-not-object", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": "[1, 2]"},
         ("c.json", "object"), target="m.yaml"),
    Case("hf-folder", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": None}, ("c.json",), target="m.yaml"),
    Case("hf-deep-nesting", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": "[" * NESTED + "]" * NESTED},
         ("c.json", "nest"), target="m.yaml"),
    # ---- flags
    Case("flag-seed-negative", ["simulate", "--requests", "100", "--seed", "-1"], {}, ("--seed",)),
    Case("flag-requests-1e9", ["simulate", "--requests", "1000000000"], {}, ("--requests",)),
    Case("flag-duration-1e12", ["simulate", "--duration", "1e12"], {}, ("--duration",)),
    Case("flag-budget-1e6", ["compare", "--budget-usd-per-hour", "1e6"], {}, ("--budget-usd-per-hour",)),
    Case("flag-lengths-20000", ["kv", "llama-3.1-8b", "--lengths", ",".join(str(i) for i in range(1, 20_001))], {},
         ("--lengths",)),
    Case("flag-gpus-list-20000", ["scale", "--model", "llama-3.1-8b", "--hardware", "h200", "--tokens", "8k",
                                  "--gpus", ",".join(str(8 * i) for i in range(1, 20_001))], {}, ("--gpus",)),
    Case("flag-lengths-1e300", ["kv", "llama-3.1-8b", "--lengths", "1e300"], {}, ("--lengths",)),
    # a count that is not whole is refused naming the flag: 2.5 tokens used to round to 2, and
    # --gpus-per-instance 0.5 became 0 GPUs and died on "integer division or modulo by zero"
    Case("flag-lengths-not-whole", ["kv", "llama-3.1-8b", "--lengths", "1000.4"], {}, ("--lengths", "whole")),
    Case("flag-gpus-per-instance-half", ["size", "--target-rps", "2.5", "--gpus-per-instance", "0.5"], {},
         ("--gpus-per-instance",)),
    Case("flag-link-order-unknown", ["simulate", "--requests", "100", "--scheduler", "adaptive", "--link-order", "lifo"],
         {}, ("--link-order",)),
    Case("flag-link-inflight-0", ["simulate", "--requests", "100", "--scheduler", "adaptive", "--link-inflight", "0"],
         {}, ("--link-inflight",)),
    Case("flag-local-wait-max-nan", ["simulate", "--requests", "100", "--compare-schedulers", "--local-wait-max", "nan"],
         {}, ("--local-wait-max",)),
    Case("flag-local-wait-max-below-raise-delay", ["simulate", "--requests", "100", "--scheduler", "adaptive",
                                                   "--local-wait-max", "1"], {}, ("--local-wait-max", "--raise-delay")),
    Case("flag-congestion-persist-negative", ["simulate", "--requests", "100", "--scheduler", "adaptive",
                                              "--congestion-persist", "-1"], {}, ("--congestion-persist",)),
    Case("flag-link-order-with-static", ["simulate", "--requests", "100", "--link-order", "sjf"], {},
         ("--link-order", "--scheduler adaptive")),
    Case("flag-local-wait-max-with-static", ["simulate", "--requests", "100", "--scheduler", "static",
                                             "--local-wait-max", "10"], {}, ("--local-wait-max", "--scheduler adaptive")),
    Case("flag-borrow-decode-with-static", ["simulate", "--requests", "100", "--no-borrow-decode"], {},
         ("--borrow-decode",)),
    Case("flag-shed-local-with-static", ["simulate", "--requests", "100", "--no-shed-local"], {},
         ("--shed-local", "--scheduler adaptive")),
    Case("flag-link-inflight-with-static", ["simulate", "--requests", "100", "--link-inflight", "2"], {},
         ("--link-inflight",)),
    Case("flag-cache-tokens-inf", ["simulate", "--requests", "100", "--cache-tokens", "inf"], {}, ("--cache-tokens",)),
    Case("flag-threshold-inf", ["scale", "prfaas-paper", "--threshold", "inf", "--gpus", "64"], {}, ("--threshold",)),
    Case("flag-load-nan", ["plan", "--load", "nan"], {}, ("--load",)),
    Case("flag-budget-nan", ["compare", "--budget-usd-per-hour", "nan"], {}, ("--budget-usd-per-hour",)),
    Case("flag-set-not-assignment", ["plan", "--set", "link.bandwidth_gbps"], {}, ("--set",)),
    Case("flag-set-link-1e300", ["plan", "--set", "link.bandwidth_gbps=1e300"], {}, ("link.bandwidth_gbps",)),
    # ---- output paths
    Case("output-is-a-folder", [*KV, "-o", "out.txt"], {"out.txt": None}, ("out.txt", "folder")),
    Case("output-folder-read-only", [*KV, "-o", "ro/out.txt"], {"ro": None}, ("ro/out.txt",), target="ro/out.txt",
         readonly=("ro",)),
    Case("output-folder-missing", [*KV, "-o", "nope/out.txt"], {}, ("nope",), target="nope/out.txt"),
    Case("output-disk-full", [*KV, "-f", "json", "-o", "out.json"], {}, ("out.json",), target="out.json", fsize=64),
    Case("plot-is-a-folder", [*SCALE_QUICK, "--plot", "p.svg"], {"p.svg": None}, ("p.svg", "folder")),
    Case("plot-folder-read-only", [*SCALE_QUICK, "--plot", "ro/p.svg"], {"ro": None}, ("ro/p.svg",),
         target="ro/p.svg", readonly=("ro",)),
    Case("plot-folder-missing", [*SCALE_QUICK, "--plot", "nope/p.svg"], {}, ("nope",), target="nope"),
    Case("plot-written-then-output-fails", [*SCALE_QUICK, "--plot", "p.svg", "-o", "nope/x.csv"], {}, ("nope",),
         target="p.svg"),
    Case("compare-plot-is-a-folder", ["compare", "--plot", "p.png"], {"p.png": None}, ("p.png", "folder")),
    Case("profile-output-is-a-folder", ["profile", "--device", "cpu", "--smoke", "-o", "m.csv"], {"m.csv": None},
         ("m.csv", "folder")),
    Case("profile-sidecar-is-a-folder", ["profile", "--device", "cpu", "--smoke", "-o", "m.csv"],
         {"m.csv": "good\n", "m.meta.yaml": None}, ("m.meta.yaml", "folder"), keep={"m.csv": "good\n"}),
    # ---- second campaign (2026-11-23): inputs that hung, crashed or were taken for something else
    # a FIFO nobody writes to blocked the read forever; /dev/zero was read until MemoryError (exit 3)
    Case("measurements-fifo", ["validate", "--hardware", "h200", "m.csv"], {}, ("m.csv", "regular file"),
         fifos=("m.csv",)),
    Case("hardware-fifo", [*KV, "--hardware", "hw.yaml"], {}, ("hw.yaml", "regular file"), fifos=("hw.yaml",)),
    Case("bandwidth-trace-dev-zero", ["simulate", "--requests", "100", "--bandwidth-trace", "/dev/zero"], {},
         ("/dev/zero", "regular file")),
    Case("bandwidth-trace-empty-name", ["simulate", "--requests", "100", "--bandwidth-trace", ""], {},
         ("--bandwidth-trace",)),
    Case("hardware-over-4mib", [*KV, "--hardware", "hw.yaml"],
         {"hw.yaml": "# padding\n" * 500_000 + hardware("datasheet", "sm_count", 132)}, ("hw.yaml", "MiB")),
    # nine anchored lines expand to 10^9 values: the cache's JSON check and the schema walked them for ever
    Case("hardware-alias-bomb", [*KV, "--hardware", "hw.yaml"], {"hw.yaml": "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))}, ("hw.yaml", "line 6", "alias")),
    Case("scenario-recursive-alias", ["plan", "s.yaml"], {"s.yaml": "name: &n [1, *n]\n"}, ("s.yaml", "alias")),
    # a file whose every row is below the physical floor: mean of nothing (nan, exit 0), or an
    # uncalibrated block written as a calibration
    Case("measurements-all-below-floor", ["validate", "--hardware", "h200", "-f", "json", "m.csv"],
         {"m.csv": MEAS_HEADER + "gemm,bf16,8192,8192,8192,,,,,,,1e-6,test\n" * 3}, ("m.csv", "physical floor")),
    Case("calibrate-all-below-floor", ["calibrate", "--hardware", "h200", "m.csv", "-o", "c.yaml"],
         {"m.csv": MEAS_HEADER + "gemm,bf16,8192,8192,8192,,,,,,,1e-6,test\n", "c.yaml": "old\n"},
         ("m.csv", "physical floor"), keep={"c.yaml": "old\n"}),
    # shapes no kernel has were fitted as given
    Case("measurements-duplicate-column", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": MEAS_HEADER.strip() + ",latency_ms\n" + "gemm,bf16,4096,4096,4096,,,,,,,0.2,test,9\n"},
         ("m.csv", "latency_ms", "more than once")),
    Case("measurements-kv-heads-above-heads", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("decode_attention,bf16,,,,8,4096,8,32,128,,0.05,test")}, ("m.csv:3", "num_kv_heads")),
    Case("measurements-fractional-m", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": meas("gemm,bf16,1.5,1024,1024,,,,,,,0.1,test")}, ("m.csv:3", "'m'", "whole")),
    Case("measurements-topk-above-experts", ["calibrate", "--hardware", "h200", "m.csv", "-o", "c.yaml"],
         {"m.csv": MEAS_HEADER.replace("latency_ms,source", "latency_ms,num_experts,topk,tp,ep,distribution,source")
          + "moe,bf16,32,14336,4096,,,,,,,0.7,8,16,1,1,balanced,test\n"}, ("m.csv:2", "topk"), target="c.yaml"),
    Case("measurements-linear-phase-unknown", ["validate", "--hardware", "h200", "m.csv"],
         {"m.csv": MEAS_HEADER.replace("source", "source,kernel,phase")
          + "linear_attention,bf16,4096,,,1,4096,16,16,128,,0.2,x,gdn:chunk,middle\n"}, ("m.csv:2", "phase")),
    # an output that is an input, or two outputs on one file: the input was overwritten (exit 0)
    Case("calibrate-output-is-input", ["calibrate", "--hardware", "h200", "m.csv", "-o", "m.csv"],
         {"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,0.05,test")}, ("--output", "input"),
         keep={"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,0.05,test")}),
    Case("plot-same-file-as-output", ["simulate", "--requests", "100", "--scheduler", "adaptive", "--plot", "p.svg",
                                      "-o", "p.svg"], {}, ("--plot", "--output", "same file"), target="p.svg"),
    # --price for a GPU the catalog lacks (or one not searched) was ignored without a word by `size`
    Case("size-price-unknown-gpu", ["size", "--target-rps", "2", "--price", "h999=3"], {}, ("--price", "h999")),
    Case("size-price-gpu-not-searched", ["size", "--target-rps", "2", "--price", "h100=3"], {}, ("--price", "h100")),
    Case("calibration-unknown-gpu", ["plan", "--calibration", "c.yaml"],
         {"c.yaml": _dump({"hardware": "h999", "efficiency": _yaml("hardware/h200.yaml")["efficiency"]})},
         ("c.yaml", "hardware", "h999")),
    # messages without a Fix line
    Case("flag-budget-zero", ["compare", "--budget-usd-per-hour", "0"], {}, ("--budget-usd-per-hour",)),
    Case("flag-link-cv-with-bandwidth-trace", ["simulate", "--requests", "100", "--link-cv", "0.5",
                                                "--bandwidth-trace", "link-drop"], {}, ("--link-cv", "--bandwidth-trace")),
    Case("scale-scenario-and-quick-flags", ["scale", "prfaas-paper", "--model", "llama-3.1-8b", "--hardware", "h200",
                                            "--tokens", "8k"], {}, ("SCENARIO", "--model")),
    Case("calibrate-paper-prefill-h100", ["calibrate", "--hardware", "h100", "--paper-prefill", "m.csv", "-o", "c.yaml"],
         {"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,0.05,test")}, ("--paper-prefill", "h100"), target="c.yaml"),
    # names reach tables, CSV rows and file names: an empty one, a line break, 100,000 characters were taken
    Case("hardware-name-newline", [*KV, "--hardware", "hw.yaml"], {"hw.yaml": _dump({**_yaml("hardware/h200.yaml"),
                                                                                    "name": "h200\nx"})},
         ("hw.yaml", "name", "one line")),
    Case("model-name-empty", ["kv", "m.yaml", "--lengths", "1k"], {"m.yaml": model(name="")}, ("m.yaml", "name")),
    Case("scenario-name-100k-chars", ["plan", "s.yaml"], {"s.yaml": scenario(name="x" * 100_000)}, ("s.yaml", "name")),
    # a name the scenario gives that the catalog lacks: 'unknown model' without the file or field, and
    # `size` reported every GPU pair as unable to serve the model
    Case("scenario-unknown-model", ["plan", "s.yaml"], {"s.yaml": scenario(model="gpt-5")}, ("s.yaml", "field 'model'",
                                                                                           "gpt-5")),
    Case("size-scenario-unknown-hardware", ["size", "s.yaml", "--target-rps", "2"],
         {"s.yaml": scenario(**{"local.hardware": "h2000"})}, ("s.yaml", "local.hardware", "h2000")),
    # a measured profile where 8K tokens prefill 4x faster than 1K was planned on
    Case("scenario-profile-faster-when-longer", ["plan", "s.yaml"], {"s.yaml": scenario(**{"prfaas.prefill_profile": {
        "source": "t", "points": [{"tokens": 1024, "seconds": 0.4}, {"tokens": 8192, "seconds": 0.1}]}})},
        ("s.yaml", "prfaas.prefill_profile", "point 1")),
    # simulate --trace ignored --requests, --duration and --load without a word; a trace without
    # hash_ids ran --prefix-routing with caches that could never hit
    Case("simulate-trace-with-requests", ["simulate", "--trace", "t.jsonl", "--requests", "50"], {"t.jsonl": mooncake()},
         ("--requests", "--trace")),
    Case("simulate-trace-with-load", ["simulate", "--trace", "t.jsonl", "--load", "0.5"], {"t.jsonl": mooncake()},
         ("--load", "--trace")),
    Case("simulate-prefix-routing-trace-without-hashes", ["simulate", "--trace", "t.jsonl", "--prefix-routing", "scarce"],
         {"t.jsonl": "".join(f'{{"timestamp": {i * 100}, "input_length": 1000, "output_length": 10}}\n'
                             for i in range(50))}, ("t.jsonl", "hash_ids", "--prefix-routing")),
    # YAML true where a number is expected was read as 1 (pydantic's lax mode): `tp: true` ran TP 1
    Case("scenario-recipe-tp-true", ["plan", "s.yaml"], {"s.yaml": scenario(**{"local.recipe": {"tp": True}})},
         ("s.yaml", "local.recipe", "tp: true")),
    Case("hardware-sm-count-true", [*KV, "--hardware", "hw.yaml"], {"hw.yaml": hardware("datasheet", "sm_count", True)},
         ("hw.yaml", "sm_count: true")),
    # a tiny chunked-prefill size sized a (lengths x chunks) grid: 2 minutes for kv, 71 s for plan
    Case("kv-chunked-prefill-2-tokens-1e8", ["kv", "mimo-v2-flash", "--lengths", "100000000",
                                              "--chunked-prefill-size", "2"], {}, ("chunk", "--chunked-prefill-size")),
    Case("plan-recipe-chunked-prefill-1", ["plan", "--set", "local.recipe={chunked_prefill_tokens: 1}"], {},
         ("chunk", "chunked_prefill_tokens")),
    # two requests 10^8 s apart: the adaptive scheduler ticked every second of the span (hung)
    Case("simulate-trace-span-1e8-s", ["simulate", "--trace", "t.jsonl", "--compare-schedulers"],
         {"t.jsonl": '{"timestamp": 0, "input_length": 1000, "output_length": 10}\n'
                     '{"timestamp": 100000000000, "input_length": 1000, "output_length": 10}\n'},
         ("t.jsonl", "span", "slots")),
    # --name: a tab was reported as the trace file's 'name' field; an empty one fell back to the default
    Case("workload-import-name-tab", ["workload", "import", "t.jsonl", "--name", "a\tb", "-o", "w.yaml"],
         {"t.jsonl": mooncake()}, ("--name", "one line"), target="w.yaml"),
    Case("models-import-name-empty", ["models", "import", "c.json", "--name", "", "-o", "m.yaml"], {"c.json": hf()},
         ("--name", "empty"), target="m.yaml"),
    # ---- third campaign (2026-11-23, hostile2)
    # a log-normal whose [lo, hi] holds no mass planned NaN-derived figures (exit 0); sigma 40 overflowed
    # exp(mu + sigma^2 / 2) (internal error, OverflowError)
    Case("workload-lognormal-empty-truncation", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "input_length": {"kind": "lognormal", "mu": 2, "sigma": 0.01, "lo": 100000, "hi": 200000}})},
        ("w.yaml", "input_length.lognormal", "[lo, hi]")),
    Case("workload-lognormal-sigma-40", ["plan", "s.yaml"], {"s.yaml": scenario(workload="w.yaml"), "w.yaml": _dump(
        {**WORKLOAD, "input_length": {**WORKLOAD["input_length"], "sigma": 40}})}, ("w.yaml", "input_length.lognormal.sigma")),
    # size --trace: a sparse trace in 1-ms windows allocated one counter per empty window (745 GiB,
    # internal error); a window longer than the trace (or a one-request trace) deflated the target
    Case("size-trace-sparse-1ms-window", ["size", "--trace", "t.jsonl", "--peak-window", "0.001"],
         {"t.jsonl": '{"timestamp": 0, "input_length": 1000, "output_length": 10}\n'
                     '{"timestamp": 100000000000, "input_length": 1000, "output_length": 10}\n'
                     '{"timestamp": 100000000000, "input_length": 1000, "output_length": 10}\n'},
         ("t.jsonl", "busiest 0.001-s window", "--peak-window")),
    Case("size-trace-window-longer-than-trace", ["size", "--trace", "t.jsonl", "--peak-window", "1e6"],
         {"t.jsonl": mooncake()}, ("t.jsonl", "--peak-window", "1 s")),
    Case("size-trace-one-request", ["size", "--trace", "t.jsonl"],
         {"t.jsonl": '{"timestamp": 0, "input_length": 1000, "output_length": 10}\n'}, ("t.jsonl", "--peak-window")),
    # scale: a flag of the other mode was ignored without a word
    Case("scale-quick-with-threshold", [*SCALE_QUICK, "--threshold", "100"], {}, ("--threshold", "scenario mode")),
    Case("scale-quick-with-set", [*SCALE_QUICK, "--set", "link.bandwidth_gbps=1"], {}, ("--set", "scenario mode")),
    Case("scale-scenario-with-gpus-per-instance", ["scale", "--gpus-per-instance", "16"], {},
         ("--gpus-per-instance", "prfaas.gpus_per_instance")),
    # simulate: --cache-tokens without --trace and --prfaas-cache-tokens without two caches sized nothing
    Case("simulate-cache-tokens-without-trace", ["simulate", "--requests", "100", "--cache-tokens", "1000"], {},
         ("--cache-tokens", "--trace")),
    Case("simulate-prfaas-cache-tokens-shared", ["simulate", "--requests", "100", "--prfaas-cache-tokens", "1000"], {},
         ("--prfaas-cache-tokens", "--prefix-routing")),
    # a trace's 10.5-token prompt was taken as given (a fraction: the column holds something else); a
    # JSON record with a key twice kept the last one without a word
    Case("trace-fractional-length", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 2000, "input_length": 10.5, "output_length": 5}')},
         ("t.jsonl", "line 3", "input_length", "whole"), target="w.yaml"),
    Case("trace-csv-fractional-length", ["simulate", "--trace", "t.csv"],
         {"t.csv": "timestamp_s,input_tokens,output_tokens\n0,100,10\n1,100,2.5\n"}, ("t.csv", "line 3", "whole")),
    Case("trace-duplicate-key", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 2000, "input_length": 10, "input_length": 9000, "output_length": 5}')},
         ("t.jsonl", "line 3", "input_length", "more than once"), target="w.yaml"),
    # a measurement row with more values than the header: zip() dropped the extra ones and fitted the rest
    Case("measurements-row-longer-than-header", ["calibrate", "--hardware", "h200", "m.csv", "-o", "c.yaml"],
         {"m.csv": meas("gemm,bf16,1024,1024,1024,,,,,,,0.1,x,0.3")}, ("m.csv", "line 3", "14 values"), target="c.yaml"),
    # models import read what it did not know as something else: an unknown layer type as full attention,
    # hidden 4095 / 32 heads as head_dim 127, a 3-bit AWQ checkpoint as bf16
    Case("hf-unknown-layer-type", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(layer_types=["mamba"] * 32)},
         ("c.json", "layer_types", "mamba"), target="m.yaml"),
    Case("hf-hidden-not-multiple-of-heads", ["models", "import", "c.json", "-o", "m.yaml"], {"c.json": hf(hidden_size=4095)},
         ("c.json", "hidden_size", "head_dim"), target="m.yaml"),
    Case("hf-awq-3-bit", ["models", "import", "c.json", "-o", "m.yaml"],
         {"c.json": hf(quantization_config={"quant_method": "awq", "bits": 3})}, ("c.json", "quantization_config"),
         target="m.yaml"),
    # an output name over 255 bytes: stat() raised ENAMETOOLONG out of the output check (internal error)
    Case("output-name-too-long", [*KV, "-o", "x" * 300 + ".json"], {}, ("--output", "too long")),
    # profile --gpus: ignored without --model; with one, a degree the heads do not split failed after
    # timing every kernel ("cannot reshape array", no flag named)
    Case("profile-gpus-without-model", ["profile", "--device", "cpu", "--smoke", "--gpus", "4", "-o", "m.csv"], {},
         ("--gpus", "--model"), target="m.csv"),
    Case("profile-gpus-not-dividing-heads", ["profile", "--device", "cpu", "--smoke", "--model", "llama-3.1-8b",
                                             "--gpus", "3", "-o", "m.csv"], {}, ("--gpus 3", "32 attention heads"),
         target="m.csv"),
    # compare without --budget-usd-per-hour: the refusal quoted a '--budget-usd-per-hour 128.003' nobody typed
    Case("compare-default-budget-too-many-mixes", ["compare", "--set", "prfaas.price_usd_per_gpu_hour=0.0001"], {},
         ("scenario's own cost", "no --budget-usd-per-hour given")),
    # YAML 1.1 numbers: `bandwidth_gbps: 1:30` was base 60 (90 Gbps), `gpus: 0100` octal (64 GPUs: here
    # not a multiple of 8 is refused, so 100 is seen); `0x40` was 64. Read as YAML 1.2 reads them.
    Case("scenario-sexagesimal-bandwidth", ["plan", "s.yaml"], {"s.yaml": scenario().replace("bandwidth_gbps: 100",
                                                                                              "bandwidth_gbps: 1:30")},
         ("s.yaml", "link.bandwidth_gbps")),
    Case("scenario-leading-zero-gpus", ["plan", "s.yaml"], {"s.yaml": scenario().replace("gpus: 64", "gpus: 0100")},
         ("s.yaml", "gpus (100)")),
    Case("scenario-hex-gpus", ["plan", "s.yaml"], {"s.yaml": scenario().replace("gpus: 64", "gpus: 0x40")},
         ("s.yaml", "local.gpus")),
    Case("set-leading-zero-gpus", ["plan", "--set", "local.gpus=0100"], {}, ("gpus (100)",)),
    # --set: 'prfaas.' replaced the whole prfaas block (the empty name was dropped), 'a..b' set a.b; a
    # mapping value naming a key twice kept the last
    Case("set-trailing-dot", ["plan", "--set", "prfaas.=null"], {}, ("--set", "empty field name")),
    Case("set-duplicate-key", ["plan", "--set", "local.recipe={tp: 4, tp: 8}"], {}, ("--set local.recipe", "duplicated")),
    # an empty NAME listed the whole catalog (exit 0) instead of saying no entry has that name
    Case("catalog-models-empty-name", ["catalog", "models", ""], {}, ("unknown model ''", "prfaas catalog models")),
    # --trace with --set workload=W: the trace replaced W without a word
    Case("plan-trace-with-set-workload", ["plan", "--trace", "t.jsonl", "--set", "workload=paper-lognormal"],
         {"t.jsonl": mooncake()}, ("--set workload=paper-lognormal", "--trace")),
    Case("simulate-trace-with-set-workload", ["simulate", "--trace", "t.jsonl", "--set", "workload=paper-lognormal"],
         {"t.jsonl": mooncake()}, ("--set workload=paper-lognormal", "--trace")),
    # 50 prefix blocks on a 10-token prompt (a block holds >= 1 token) was read as an 89% prefix hit ratio
    Case("trace-more-blocks-than-tokens", ["workload", "import", "t.jsonl", "-o", "w.yaml"],
         {"t.jsonl": mooncake('{"timestamp": 2000, "input_length": 10, "output_length": 5, "hash_ids": '
                              + str(list(range(50))) + '}')}, ("t.jsonl", "line 3", "50 prefix blocks"), target="w.yaml"),
    # standard output on a full disk (`prfaas kv M > file`): was an internal error (OSError, exit 3)
    Case("stdout-disk-full", ["kv", "llama-3.1-8b", "--lengths", ",".join(str(i) for i in range(1, 200)), "-f", "csv"],
         {}, ("standard output", "-o FILE"), fsize=400),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)]
                                               if c.xfail else []) for c in CASES])
def test_bad_input(case: Case, server: Server, tmp_path: Path) -> None:
    for name, content in case.files.items():
        p = tmp_path / name
        if content is None:
            p.mkdir(parents=True)
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    for name in case.fifos:
        os.mkfifo(tmp_path / name)
    ro = tmp_path / "ro"
    for name in case.readonly:
        (tmp_path / name).chmod(0o555)
    argv = list(case.argv)
    if case.readonly and os.geteuid() == 0:  # root writes through permission bits: use a read-only mount
        argv = [a.replace("ro/", "/proc/") for a in argv]
    before = set(os.listdir(tmp_path))
    try:
        res = server.run(argv, tmp_path, case.fsize, case.env)
    finally:
        if ro.exists():
            ro.chmod(0o755)
    err = res["stderr"]
    assert not res["timed_out"], f"still running after {TIME_LIMIT_S} s"
    assert res["rc"] == 2, f"exit {res['rc']}: {err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert "Fix:" in err, err
    for name in case.names:
        shown = name.replace("ro/", "/proc/") if case.readonly and os.geteuid() == 0 else name
        assert shown.lower() in err.lower(), f"{shown!r} not named in: {err}"
    assert res["cpu_seconds"] < CPU_LIMIT_S
    assert res["maxrss_bytes"] < MEMORY_LIMIT_BYTES
    if case.target:
        assert not (tmp_path / case.target).exists(), f"{case.target} left behind"
    for name, content in case.keep.items():
        assert (tmp_path / name).read_text() == content, f"{name} was changed"
    left = set(os.listdir(tmp_path)) - before - {"_stdout", "_stderr"}
    assert not left, f"files left behind: {sorted(left)}"


def test_reader_closing_stdout_early_is_not_an_error(tmp_path: Path) -> None:
    """`prfaas ... | true`: the reader is gone before the output is written. This was an internal
    error (BrokenPipeError, exit 3); it is the reader's choice, so the run ends quietly."""
    cmd = f"{sys.executable} -m prfaas_plan kv llama-3.1-8b -f json 2>err | true; echo $" + "{PIPESTATUS[0]}"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert res.stdout.strip() == "0", (tmp_path / "err").read_text()
    assert (tmp_path / "err").read_text() == ""


def test_sparse_trace_keeps_its_arrival_rate(tmp_path: Path) -> None:
    """Two requests 10^8 s apart: the rate was rounded to 6 decimals, 0, and the trace's own workload
    was then refused ('arrival.rate_rps: should be greater than 0') by import and simulate."""
    from prfaas_plan.assemble.workload import summarise
    from prfaas_plan.io.traces import read_trace

    f = tmp_path / "t.jsonl"
    f.write_text('{"timestamp": 0, "input_length": 1000, "output_length": 10}\n'
                 '{"timestamp": 100000000000, "input_length": 1000, "output_length": 10}\n')
    rate = summarise(read_trace(f), "t", 512, None)["arrival"]["rate_rps"]  # type: ignore[index]
    assert rate == pytest.approx(2 / 1e8)


def test_output_through_a_symlink_or_into_a_fifo_keeps_them(tmp_path: Path) -> None:
    """`-o` renamed its temporary file over whatever the path named: a symlink became a regular file
    (its target untouched), a FIFO (or, as root, a device such as /dev/null) was replaced by a file.
    Now a link's target is written atomically and a device or FIFO is written in place."""
    import stat
    import threading

    from prfaas_plan.io.files import atomic_write_text

    (tmp_path / "link").symlink_to("target.txt")
    atomic_write_text(tmp_path / "link", "via link\n")
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "target.txt").read_text() == "via link\n"

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    atomic_write_text(fifo, "into the pipe\n")
    reader.join(timeout=10)
    assert got == ["into the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "link", "target.txt"]


def test_yaml_merge_keys_are_read() -> None:
    """`<<: *base` (YAML merge keys) was refused as 'malformed YAML: could not determine a constructor';
    the node's own keys override the merged ones, and a key twice among its own is still refused."""
    from prfaas_plan.errors import InvalidFileError
    from prfaas_plan.io.yamlfile import _parse

    text = "base: &b {hardware: h20, gpus: 64}\nlocal:\n  <<: *b\n  gpus: 32\n"
    assert _parse(text, Path("s.yaml"))["local"] == {"hardware": "h20", "gpus": 32}
    with pytest.raises(InvalidFileError, match="duplicated key 'gpus'"):
        _parse(text + "  gpus: 16\n", Path("s.yaml"))


def test_debug_keeps_the_exit_code(tmp_path: Path) -> None:
    """`--debug` re-raised the error, so every bad input exited 1 (the code for failed expectations)
    with a traceback; it now prints the traceback and the message and keeps exit 2."""
    res = subprocess.run([sys.executable, "-m", "prfaas_plan", "--debug", "plan", "--set", "link.bandwidth_gbps=0"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" in res.stderr and "link.bandwidth_gbps" in res.stderr.splitlines()[-2]
