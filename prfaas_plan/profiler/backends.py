"""Profiler backends. Each builds, for a case, a list of callables (one per rotating buffer set)
and times one call.

- `CpuBackend` (numpy, fp32): GEMM = BLAS matmul into a preallocated output; prefill attention =
  causal attention in 128-query blocks (scores, exact softmax, weighted values; masked keys beyond
  the block's diagonal are never computed, like FlashAttention's tiles); decode attention = one
  query per sequence over the cache (grouped-query matmuls); copy = `np.copyto`. Timed with the
  monotonic `time.perf_counter_ns` around each call.
- `CudaBackend` (torch, lazy import): bf16 `torch.matmul`; fp8 = per-token activation
  quantisation + `torch._scaled_mm` with row-wise scales; causal `scaled_dot_product_attention`
  (the fastest SDPA backend per case); decode with the GQA query heads packed; `Tensor.copy_`.
  Timed with CUDA events around CUDA-graph replays.
Inputs are random (uniform in [-0.5, 0.5), never zeros), drawn from one pool per backend so that
each buffer set is a distinct memory region.
"""

from __future__ import annotations

import functools
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
    skip_errors: tuple[type[BaseException], ...] = (MemoryError,)

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


class Unsupported(Exception):
    """This backend cannot run the case (a kernel limit, not a fault): the runner skips it."""


class CudaBackend:  # pragma: no cover - needs torch and an NVIDIA GPU (not in CI)
    """bf16/fp8 GEMMs, attention and copies on the first CUDA device, in bf16.

    Where several kernels can run a case (PyTorch's SDPA backends: FlashAttention, cuDNN,
    memory-efficient, and a plain matmul-softmax path), each is tried on one buffer set and the
    fastest is timed, as a serving engine runs its fastest kernel; the row's source names it.
    fp8 GEMMs time what SGLang's fp8 linear layers run: per-token quantisation of the bf16
    activations (one fused Triton kernel, `_triton_quant`; unfused PyTorch ops where Triton is
    missing) and `torch._scaled_mm` with row-wise scales on fp8 weights;
    shapes the fp8 kernel refuses are skipped.
    Decode attention packs the query heads of each KV head into the query dimension (as
    FlashInfer and FlashAttention do for GQA decode).
    """

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
        self.skip_errors: tuple[type[BaseException], ...] = (torch.cuda.OutOfMemoryError, MemoryError, Unsupported)
        self.choice = ""
        self.graphs = False
        self._per_call = 1

    def _fused_quant(self) -> Callable[[Any, Any, Any], None] | None:
        try:
            from prfaas_plan.profiler._triton_quant import quantize_rows
        except ImportError:
            return None
        return quantize_rows

    def _rand(self, *shape: int) -> Any:
        t = self.torch
        return t.rand(*shape, device=self.dev, dtype=t.bfloat16) - 0.5

    def build(self, case: Case, sets: int) -> list[Call]:
        """One call: a CUDA-graph replay of the case on every buffer set in turn (`time` divides
        by the sets). The graph removes the host's launch latency from kernel times of a few
        microseconds, as serving engines do with CUDA graphs; eager replay if capture fails."""
        variants = self._variants(case)
        best: tuple[float, str, Callable[[], Call]] | None = None
        errors: list[str] = []
        for name, factory in variants:
            try:
                trial = [factory() for _ in range(min(sets, 4))]
                run = self._pass(trial)
                t = min(self._elapsed(run) for _ in range(3)) / len(trial)
            except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:  # OOM is a RuntimeError
                self.synchronize()
                errors.append(f"{name}: {str(e).splitlines()[0][:120] if str(e) else type(e).__name__}")
                continue
            if best is None or t < best[0]:
                best = (t, name, factory)
            del trial, run
            self.synchronize()
        if best is None:
            raise Unsupported("; ".join(errors) or "no kernel")
        self.choice = best[1] if len(variants) > 1 or case.dtype == "fp8" else ""
        fns = [best[2]() for _ in range(sets)]
        self._per_call = len(fns)
        return [self._pass(fns)]

    def _pass(self, fns: list[Call]) -> Call:
        """A callable that runs every fn once: a captured CUDA graph where possible."""
        t = self.torch
        for f in fns:  # warm-up outside capture (kernel selection, workspaces)
            f()
        t.cuda.synchronize()
        try:
            g = t.cuda.CUDAGraph()
            with t.cuda.graph(g):
                for f in fns:
                    f()
            g.replay()
            t.cuda.synchronize()
            self.graphs = True

            def replay() -> None:  # holds fns (and so the input tensors the graph reads) alive
                g.replay()
            replay.inputs = fns  # type: ignore[attr-defined]
            return replay
        except RuntimeError:
            t.cuda.synchronize()

            def eager() -> None:
                for f in fns:
                    f()
            return eager

    def _elapsed(self, run: Call) -> float:
        t = self.torch
        start, end = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) * 1e-3

    def _variants(self, case: Case) -> list[tuple[str, Callable[[], Call]]]:
        """(label, builder) per way of running the case; the fastest is kept."""
        if case.op == "gemm":
            return self._gemm_variants(case)
        if case.op == "copy":
            return self._copy_variants(case)
        return self._attention_variants(case)

    def _gemm_variants(self, case: Case) -> list[tuple[str, Callable[[], Call]]]:
        t = self.torch
        m, n, k = case.m or 0, case.n or 0, case.k or 0
        if case.dtype == "fp8":
            quant = self._fused_quant()

            def fp8() -> Call:
                a, w = self._rand(m, k), self._rand(n, k)
                w8 = (w * 16).to(t.float8_e4m3fn).t()  # B column-major, as _scaled_mm requires
                sb = t.full((1, n), 1 / 16, device=self.dev, dtype=t.float32)
                a8 = t.empty((m, k), device=self.dev, dtype=t.float8_e4m3fn)
                sa = t.empty((m, 1), device=self.dev, dtype=t.float32)

                def call() -> object:  # per-token activation quantisation, then the GEMM
                    if quant is not None:
                        quant(a, a8, sa)
                        q8, s8 = a8, sa
                    else:  # unfused fallback: slower than an engine's fused kernel
                        s8 = t.linalg.vector_norm(a, ord=math.inf, dim=1, keepdim=True,
                                                  dtype=t.float32).clamp(min=1e-6) / 448.0
                        q8 = (a / s8).to(t.float8_e4m3fn)
                    return t._scaled_mm(q8, w8, scale_a=s8, scale_b=sb, out_dtype=t.bfloat16)
                return call
            return [("fused per-token quant + scaled_mm" if quant is not None
                     else "unfused per-token quant + scaled_mm", fp8)]

        def bf16() -> Call:
            a, wt = self._rand(m, k), self._rand(n, k).t()
            return lambda: t.matmul(a, wt)
        return [("matmul", bf16)]

    def _copy_variants(self, case: Case) -> list[tuple[str, Callable[[], Call]]]:
        t = self.torch

        def copy() -> Call:
            n_el = (case.bytes or 0) // 2
            src, dst = self._rand(n_el), t.empty(n_el, device=self.dev, dtype=t.bfloat16)
            return lambda: dst.copy_(src)
        return [("copy_", copy)]

    def _attention_variants(self, case: Case) -> list[tuple[str, Callable[[], Call]]]:
        t = self.torch
        F = t.nn.functional
        b, s, h, hk, d = case.batch or 1, case.seq_len or 0, case.num_heads or 0, case.num_kv_heads or 0, case.head_dim or 0
        g = max(1, h // max(1, hk))
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel
        except ImportError:
            SDPBackend = sdpa_kernel = None  # noqa: N806
        backends = ([("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                     ("efficient", SDPBackend.EFFICIENT_ATTENTION)] if SDPBackend is not None else [("sdpa", None)])
        out: list[tuple[str, Callable[[], Call]]] = []

        def sdpa(bk: Any, q_shape: tuple[int, ...], kv_shape: tuple[int, ...], causal: bool, gqa: bool) -> Call:
            q, k, v = self._rand(*q_shape), self._rand(*kv_shape), self._rand(*kv_shape)
            if not gqa and kv_shape[1] != q_shape[1]:
                k, v = k.repeat_interleave(q_shape[1] // kv_shape[1], 1), v.repeat_interleave(q_shape[1] // kv_shape[1], 1)
            kw = {"is_causal": causal} | ({"enable_gqa": True} if gqa and kv_shape[1] != q_shape[1] else {})
            if bk is None:
                return lambda: F.scaled_dot_product_attention(q, k, v, **kw)

            def call() -> object:
                with sdpa_kernel(bk):
                    return F.scaled_dot_product_attention(q, k, v, **kw)
            return call

        if case.op == "prefill_attention":
            for name, bk in backends:
                for gqa in (True, False) if hk != h else (False,):  # native GQA only where heads differ
                    out.append((f"sdpa {name}{' gqa' if gqa else ''}",
                                functools.partial(sdpa, bk, (b, h, s, d), (b, hk, s, d), True, gqa)))
            return out
        # decode: one query per sequence; the g query heads of a KV head form its query rows
        for name, bk in backends:
            out.append((f"sdpa {name} packed", functools.partial(sdpa, bk, (b, hk, g, d), (b, hk, s, d), False, False)))

        def matmul_decode() -> Call:
            q, k, v = self._rand(b, hk, g, d), self._rand(b, hk, s, d), self._rand(b, hk, s, d)
            kt = k.transpose(-1, -2)
            return lambda: t.matmul(t.softmax(t.matmul(q, kt) / math.sqrt(d), dim=-1), v)
        out.append(("matmul-softmax", matmul_decode))
        return out

    def time(self, fn: Call) -> float:
        """Seconds per kernel call: one replay over the buffer sets, divided by their number."""
        return self._elapsed(fn) / self._per_call

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
                "libraries": {"torch": str(t.__version__), "cuda": str(t.version.cuda),
                              "cudnn": str(t.backends.cudnn.version())},
                "timing": "CUDA events around a CUDA-graph replay over the buffer sets" if self.graphs
                else "CUDA events around eager calls"}


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
