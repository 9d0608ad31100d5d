"""The fixed profiling suite: which kernels, at which shapes.

Sizes depend on the suite and the device: `smoke` is a handful of tiny shapes that check the
pipeline in about a second (not for calibration); `quick` covers every op class in about a minute on
a CPU, seconds on a GPU; `full` adds larger shapes (prefill attention up to 32K on a GPU where
memory allows). With a model, the GEMMs include that model's per-GPU projection and expert GEMMs
(`perf.ops.build_ops` at the given tensor/expert-parallel degree) and the attention cases use its
per-GPU head layout.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

SUITES = ("smoke", "quick", "full")


@dataclass(frozen=True)
class Case:
    op: str  # gemm | prefill_attention | decode_attention | copy
    dtype: str
    m: int | None = None
    n: int | None = None
    k: int | None = None
    batch: int | None = None
    seq_len: int | None = None
    num_heads: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    bytes: int | None = None
    label: str = ""

    def row(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "label"}

    def describe(self) -> str:
        if self.op == "gemm":
            s = f"gemm {self.dtype} {self.m}x{self.n}x{self.k}"
        elif self.op == "copy":
            s = f"copy {(self.bytes or 0) / 2**20:.0f} MiB"
        else:
            s = (f"{self.op} {self.dtype} b{self.batch} s{self.seq_len} "
                 f"h{self.num_heads}/{self.num_kv_heads}x{self.head_dim}")
        return s + (f" ({self.label})" if self.label else "")


# (n, k) of generic projection shapes, and GEMM rows (tokens) per suite
_GEMM_NK = {
    "cpu": [(1024, 1024), (2048, 2048), (4096, 1024), (1024, 4096)],
    "cuda": [(4096, 4096), (8192, 8192), (16384, 4096), (4096, 16384), (1024, 7168), (7168, 2048)],
}
_GEMM_M = {
    ("cpu", "smoke"): [1, 32],
    ("cpu", "quick"): [1, 8, 64, 256, 1024, 2048],
    ("cpu", "full"): [1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096],
    ("cuda", "smoke"): [16, 256],
    ("cuda", "quick"): [1, 16, 64, 256, 1024, 4096, 16384],
    ("cuda", "full"): [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768],
}
_MODEL_M = {"smoke": [16], "quick": [16, 512], "full": [16, 256, 2048, 8192]}
_EXPERT_TOKENS = {"smoke": [512], "quick": [2048, 8192], "full": [2048, 8192, 32768]}  # chunk tokens
_PREFILL = {
    ("cpu", "smoke"): [128],
    ("cpu", "quick"): [256, 512, 1024, 2048],
    ("cpu", "full"): [256, 512, 1024, 2048, 4096, 8192],
    ("cuda", "smoke"): [512],
    ("cuda", "quick"): [1024, 4096, 16384],
    ("cuda", "full"): [512, 1024, 2048, 4096, 8192, 16384, 32768],
}
_DECODE = {  # (batch, context)
    ("cpu", "smoke"): [(2, 256)],
    ("cpu", "quick"): [(1, 4096), (8, 1024), (8, 8192), (32, 2048), (64, 512)],
    ("cpu", "full"): [(1, 4096), (1, 32768), (8, 1024), (8, 8192), (32, 2048), (32, 8192), (64, 512), (128, 1024)],
    ("cuda", "smoke"): [(8, 1024)],
    ("cuda", "quick"): [(1, 4096), (16, 4096), (64, 8192), (256, 2048)],
    ("cuda", "full"): [(1, 1024), (1, 32768), (8, 4096), (16, 16384), (64, 2048), (64, 8192), (128, 4096),
                       (256, 2048), (512, 1024)],
}
_COPY_MIB = {("cpu", "smoke"): [16], ("cpu", "quick"): [64, 256], ("cpu", "full"): [64, 256, 1024],
             ("cuda", "smoke"): [256], ("cuda", "quick"): [256, 1024], ("cuda", "full"): [64, 256, 1024, 4096]}
# generic (heads, kv_heads, head_dim) as run on one GPU; a model adds its own layout
_ATTN_LAYOUTS = [(8, 1, 128), (16, 4, 128)]
_MAX_MODEL_DIM = {"cpu": 8192, "cuda": 65536}  # CPU: skip giant (vocabulary) projections


def _model_shapes(model: object, gpus: int, suite: str, device: str) -> tuple[list[Case], list[tuple[int, int, int]]]:
    from prfaas_plan.perf.ops import AttentionOp, FusedMoE, Gemm, build_ops

    gemms: list[Case] = []
    layouts: list[tuple[int, int, int]] = []
    seen: set[tuple[int, int]] = set()
    for op in build_ops(model, gpus):  # type: ignore[arg-type]
        if isinstance(op, Gemm | FusedMoE):
            # experts: this GPU's gate/up and down slices, at the rows per expert of a prefill chunk
            # (balanced routing)
            shapes = op.gemm_shapes if isinstance(op, FusedMoE) else [(op.n, op.k)]
            for n, k in shapes:
                if (n, k) in seen or max(n, k) > _MAX_MODEL_DIM[device] or op.label == "lm_head":
                    continue
                seen.add((n, k))
                if isinstance(op, FusedMoE):
                    rows = [max(1, round(c * op.top_k / op.num_experts)) for c in _EXPERT_TOKENS[suite]]
                else:
                    rows = _MODEL_M[suite]
                gemms += [Case("gemm", "", m=m, n=n, k=k, label=op.label) for m in rows]
        elif isinstance(op, AttentionOp) and op.window is None and op.qk_dim == op.v_dim:
            lay = (max(1, round(op.heads)), max(1, round(op.kv_heads)), op.qk_dim)
            if lay not in layouts:
                layouts.append(lay)
    return gemms, layouts


def build_suite(device: str, suite: str, dtypes: list[str], model: object | None = None, gpus: int = 8) -> list[Case]:
    """The cases for `device` ('cpu' or 'cuda'), suite, GEMM dtypes (attention runs in dtypes[0])."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}")
    key = (device, suite)
    nk = _GEMM_NK[device][: 2 if suite == "smoke" else None]
    cases: list[Case] = []
    model_gemms: list[Case] = []
    layouts = list(_ATTN_LAYOUTS[: 1 if suite == "smoke" else None])
    if model is not None:
        model_gemms, mlay = _model_shapes(model, gpus, suite, device)
        layouts = (mlay + layouts)[: 1 if suite == "smoke" else 3]
    for dt in dtypes:
        for n, k in nk:
            for m in _GEMM_M[key]:
                cases.append(Case("gemm", dt, m=m, n=n, k=k))
        cases += [Case("gemm", dt, m=c.m, n=c.n, k=c.k, label=c.label) for c in model_gemms]
    adt = dtypes[0]
    for h, hk, d in layouts:
        for s in _PREFILL[key]:
            cases.append(Case("prefill_attention", adt, batch=1, seq_len=s, num_heads=h, num_kv_heads=hk, head_dim=d))
        for b, s in _DECODE[key]:
            cases.append(Case("decode_attention", adt, batch=b, seq_len=s, num_heads=h, num_kv_heads=hk, head_dim=d))
    for mib in _COPY_MIB[key]:
        cases.append(Case("copy", adt, bytes=mib * 2**20))
    return cases
