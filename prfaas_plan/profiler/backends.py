"""Profiler backends. Each builds, for a case, a list of callables (one per rotating buffer set)
and times one call.

- `CpuBackend` (numpy, fp32): GEMM = BLAS matmul into a preallocated output; prefill attention =
  causal attention in 128-query blocks (scores, exact softmax, weighted values; masked keys beyond
  the block's diagonal are never computed, like FlashAttention's tiles); decode attention = one
  query per sequence over the cache (grouped-query matmuls); copy = `np.copyto`. Timed with the
  monotonic `time.perf_counter_ns` around each call.
- `CudaBackend` (torch, lazy import): bf16 `torch.matmul`; fp8 = per-token activation quantisation
  + `torch._scaled_mm` (as SGLang's fp8 path); causal `scaled_dot_product_attention`; decode as
  grouped matmuls; `Tensor.copy_`. Timed with CUDA events.
Inputs are random (uniform in [-0.5, 0.5), never zeros), drawn from one pool per backend so that
each buffer set is a distinct memory region.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from prfaas_plan.profiler.suite import Case

Call = Callable[[], object]
Q_BLOCK = 128


def elements(case: Case) -> tuple[int, int]:
    """(input elements, output elements) of one buffer set."""
    if case.op == "gemm":
        m, n, k = case.m or 0, case.n or 0, case.k or 0
        return m * k + k * n, m * n
    if case.op == "copy":
        e = (case.bytes or 0) // 4
        return e, e
    b, s, h, hk, d = (case.batch or 1), (case.seq_len or 0), (case.num_heads or 0), (case.num_kv_heads or 0), (case.head_dim or 0)
    if case.op == "prefill_attention":
        return b * s * d * (h + 2 * hk), b * s * h * d
    return b * d * (h + 2 * hk * s), b * h * d


class CpuBackend:
    name = "cpu"
    dtypes = ["fp32"]
    elem_bytes = 4
    rotate_bytes = 256 * 2**20  # > any last-level cache
    oom_errors: tuple[type[BaseException], ...] = (MemoryError,)

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self._pool = np.empty(0, dtype=np.float32)

    def _pool_slices(self, n_elem: int, sets: int) -> list[np.ndarray]:
        """`sets` disjoint random regions of n_elem each (from a shared pool when they fit)."""
        need = n_elem * sets
        if need > len(self._pool):
            if need * 4 <= 2 * self.rotate_bytes:
                self._pool = self.rng.random(max(need, self.rotate_bytes // 4), dtype=np.float32) - np.float32(0.5)
            else:  # too big to pool: fresh arrays for this case
                return [self.rng.random(n_elem, dtype=np.float32) - np.float32(0.5) for _ in range(sets)]
        return [self._pool[i * n_elem:(i + 1) * n_elem] for i in range(sets)]

    def build(self, case: Case, sets: int) -> list[Call]:
        n_in, n_out = elements(case)
        return [self._one(case, buf, np.empty(n_out, dtype=np.float32)) for buf in self._pool_slices(n_in, sets)]

    def _one(self, case: Case, buf: np.ndarray, out: np.ndarray) -> Call:
        if case.op == "gemm":
            m, n, k = case.m or 0, case.n or 0, case.k or 0
            a, w, c = buf[: m * k].reshape(m, k), buf[m * k:].reshape(k, n), out.reshape(m, n)
            return lambda: np.matmul(a, w, out=c)
        if case.op == "copy":
            return lambda: np.copyto(out, buf)
        b, s, h, hk, d = case.batch or 1, case.seq_len or 0, case.num_heads or 0, case.num_kv_heads or 0, case.head_dim or 0
        g = h // hk
        if case.op == "prefill_attention":
            nq = b * h * s * d
            q = buf[:nq].reshape(b, hk, g, s, d)
            kv = buf[nq:].reshape(2, b, hk, s, d)
            o = out.reshape(b, hk, g, s, d)
            return lambda: _cpu_causal(q, kv[0], kv[1], o)
        nq = b * h * d
        q = buf[:nq].reshape(b, hk, g, d)
        kv = buf[nq:].reshape(2, b, hk, s, d)
        o = out.reshape(b, hk, g, d)
        scale = np.float32(1.0 / math.sqrt(d))

        def decode() -> None:
            sc = np.matmul(q, kv[0].transpose(0, 1, 3, 2)) * scale  # (b, hk, g, s)
            sc -= sc.max(-1, keepdims=True)
            np.exp(sc, out=sc)
            sc /= sc.sum(-1, keepdims=True)
            np.matmul(sc, kv[1], out=o)

        return decode

    def time(self, fn: Call) -> float:
        t0 = time.perf_counter_ns()
        fn()
        return (time.perf_counter_ns() - t0) * 1e-9

    def synchronize(self) -> None:
        return None

    def meta(self) -> dict[str, Any]:
        return self.host_facts()

    @staticmethod
    def host_facts() -> dict[str, Any]:
        import os
        import platform

        name = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                for line in f:
                    if line.startswith("model name"):
                        name = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        blas = "unknown"
        try:
            cfg = np.show_config(mode="dicts")  # numpy >= 1.25
            bl = cfg.get("Build Dependencies", {}).get("blas", {})
            blas = f"{bl.get('name', '?')} {bl.get('version', '')}".strip()
        except Exception:  # noqa: BLE001 - older numpy: leave it unknown
            pass
        mem = None
        try:
            mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            pass
        return {"device": "cpu", "device_name": name, "cores": os.cpu_count(), "memory_bytes": mem,
                "platform": platform.platform(), "python": platform.python_version(),
                "libraries": {"numpy": np.__version__, "blas": blas}}


def _cpu_causal(q: np.ndarray, k: np.ndarray, v: np.ndarray, o: np.ndarray) -> None:
    """Causal attention, q (b, hk, g, s, d), k/v (b, hk, s, d), in Q_BLOCK-query tiles."""
    b, hk, g, s, d = q.shape
    scale = np.float32(1.0 / math.sqrt(d))
    kt = k.transpose(0, 1, 3, 2)
    for lo in range(0, s, Q_BLOCK):
        hi = min(s, lo + Q_BLOCK)
        sc = np.matmul(q[:, :, :, lo:hi, :], kt[:, :, None, :, :hi]) * scale  # (b, hk, g, blk, hi)
        rows = np.arange(lo, hi)[:, None]
        sc[..., lo:hi] = np.where(np.arange(lo, hi)[None, :] > rows, -np.inf, sc[..., lo:hi])
        sc -= sc.max(-1, keepdims=True)
        np.exp(sc, out=sc)
        sc /= sc.sum(-1, keepdims=True)
        o[:, :, :, lo:hi, :] = np.matmul(sc, v[:, :, None, :hi, :])


class CudaBackend:  # pragma: no cover - needs torch and an NVIDIA GPU (not in CI)
    name = "cuda"
    elem_bytes = 2
    rotate_bytes = 512 * 2**20  # > the L2 of any current GPU

    def __init__(self, seed: int = 0) -> None:
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        self.dev = torch.device("cuda")
        cap = torch.cuda.get_device_capability()
        self.fp8 = hasattr(torch, "_scaled_mm") and hasattr(torch, "float8_e4m3fn") and cap >= (8, 9)
        self.dtypes = ["bf16"] + (["fp8"] if self.fp8 else [])
        self.oom_errors = (torch.cuda.OutOfMemoryError, MemoryError)

    def _rand(self, *shape: int) -> Any:
        t = self.torch
        return t.rand(*shape, device=self.dev, dtype=t.bfloat16) - 0.5

    def build(self, case: Case, sets: int) -> list[Call]:
        return [self._one(case) for _ in range(sets)]

    def _one(self, case: Case) -> Call:
        t = self.torch
        F = t.nn.functional
        if case.op == "gemm":
            m, n, k = case.m or 0, case.n or 0, case.k or 0
            a, w = self._rand(m, k), self._rand(n, k)
            if case.dtype == "fp8":
                w8 = w.to(t.float8_e4m3fn).t()  # column-major B, as _scaled_mm requires
                one = t.ones((), device=self.dev, dtype=t.float32)

                def fp8() -> object:
                    amax = a.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-6)  # per-token scales
                    a8 = (a.float() * (448.0 / amax)).to(t.float8_e4m3fn)
                    return t._scaled_mm(a8, w8, scale_a=one, scale_b=one, out_dtype=t.bfloat16)

                return fp8
            wt = w.t()
            return lambda: t.matmul(a, wt)
        if case.op == "copy":
            n_el = (case.bytes or 0) // 2
            src, dst = self._rand(n_el), t.empty(n_el, device=self.dev, dtype=t.bfloat16)
            return lambda: dst.copy_(src)
        b, s, h, hk, d = case.batch or 1, case.seq_len or 0, case.num_heads or 0, case.num_kv_heads or 0, case.head_dim or 0
        if case.op == "prefill_attention":
            q, k, v = self._rand(b, h, s, d), self._rand(b, hk, s, d), self._rand(b, hk, s, d)
            try:
                F.scaled_dot_product_attention(q[:, :, :1], k[:, :, :1], v[:, :, :1], is_causal=True, enable_gqa=True)
                return lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            except TypeError:  # torch < 2.5: no enable_gqa
                kr, vr = k.repeat_interleave(h // hk, 1), v.repeat_interleave(h // hk, 1)
                return lambda: F.scaled_dot_product_attention(q, kr, vr, is_causal=True)
        g = h // hk
        q, k, v = self._rand(b, hk, g, d), self._rand(b, hk, s, d), self._rand(b, hk, s, d)
        kt = k.transpose(-1, -2)
        return lambda: t.matmul(t.softmax(t.matmul(q, kt) / math.sqrt(d), dim=-1), v)

    def time(self, fn: Call) -> float:
        t = self.torch
        start, end = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) * 1e-3

    def synchronize(self) -> None:
        self.torch.cuda.synchronize()
        self.torch.cuda.empty_cache()

    def meta(self) -> dict[str, Any]:
        import platform
        import subprocess

        t = self.torch
        p = t.cuda.get_device_properties(0)
        driver = None
        try:
            driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                    capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            pass
        return {"device": "cuda", "device_name": t.cuda.get_device_name(0), "sm_count": p.multi_processor_count,
                "memory_bytes": p.total_memory, "compute_capability": ".".join(map(str, t.cuda.get_device_capability())),
                "driver": driver, "platform": platform.platform(), "python": platform.python_version(),
                "libraries": {"torch": t.__version__, "cuda": t.version.cuda, "cudnn": t.backends.cudnn.version()}}


def select_backend(device: str) -> tuple[Any, str | None]:
    """(backend, note). `auto` picks CUDA when torch sees a GPU, else the CPU (with a note)."""
    from prfaas_plan.errors import PrfaasError

    if device == "cpu":
        return CpuBackend(), None
    try:
        import torch
    except ImportError:
        if device == "cuda":
            raise PrfaasError("--device cuda needs PyTorch, which is not installed",
                              fix="pip install '.[gpu]' (or pip install torch), or use --device cpu") from None
        return CpuBackend(), "PyTorch is not installed: profiling the CPU (numpy) instead"
    if not torch.cuda.is_available():
        if device == "cuda":
            raise PrfaasError("--device cuda: PyTorch sees no CUDA device",
                              fix="check the driver (nvidia-smi) or use --device cpu")
        return CpuBackend(), "no CUDA device: profiling the CPU (numpy) instead"
    return CudaBackend(), None
