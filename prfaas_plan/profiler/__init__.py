"""Embedded kernel profiler: times a small fixed suite of kernels on the local device and writes
rows in the measurement CSV schema (`prfaas_plan.specs.measurements`), with a `meta.yaml` sidecar.

- `suite`: the shapes (GEMM grid + the chosen model's per-GPU shapes, causal prefill attention,
  decode attention, a large copy), sized for the device and the suite (smoke / quick / full);
- `backends`: numpy on the CPU (always available, fp32) and torch on CUDA (optional `gpu` extra,
  imported lazily; bf16 and fp8 where the GPU has them);
- `runner`: the timing protocol (warm-up, median of repeats, fresh random inputs, rotating buffer
  sets larger than the last-level cache, skip-and-warn on out-of-memory) and the output files.
"""
