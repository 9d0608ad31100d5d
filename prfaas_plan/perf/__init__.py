"""Pure physics: KVCache sizing (`kv`), each model's op list (`ops`), kernel cost models
(`kernels`) and measured kernel mechanisms (`mechanisms`: fused MoE, MLA, linear attention,
all-reduce; MoE routing skew in `routing`), roofline prefill and decode times (`roofline`, every
layer through its kernel or mechanism), busy-instance throughput (`serving`), the KV-throughput
API (`api`), and the calibration fits that derive a GPU's efficiency block from measured kernels
(`calibration`, `fit_mechanisms`).

Nothing here imports typer, rich or yaml, or touches files (tests/test_layering.py).

To add a model family (a new attention or FFN kind): give its layer kind a schema in
`specs/model.py`, its KV/state bytes in `kv.py`, its ops in `ops.build_ops`, and, if it needs a new
kernel class, a cost in `kernels.py` with a fitted parameter in the GPU efficiency block.
To add a measurement op: add it to `specs/measurements.OPS`, cost it in `calibration.predict`, and
fit its parameters in `calibration.fit_kernels`.
"""
