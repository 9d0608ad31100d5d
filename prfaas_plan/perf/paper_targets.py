"""End-to-end prefill measurements published in the PrfaaS paper (arXiv 2604.15039), used to fit
the engine-level parameters of the H200 calibration (`prfaas calibrate --paper-prefill`).

Table 3: KV throughput (Gbps) of one 8xH200 instance, SGLang v0.5.9. The prefill time implied is
S_kv(l) x 8 / Phi_kv, with S_kv from our exact KV sizing of the catalog model.
Table 5: the case-study 1T hybrid's measured prefill seconds on 8xH200 (vLLM).
"""

from __future__ import annotations

TABLE3_TOKENS = (1024, 8192, 32768, 131072)
TABLE3_KV_GBPS: dict[str, tuple[float, ...]] = {
    "kimi-linear-48b": (1.19, 2.29, 3.87, 4.88),
    "mimo-v2-flash": (0.82, 2.85, 4.66, 4.71),
    "minimax-m2.5": (4.94, 32.87, 59.93, 47.82),
}
TABLE5_MODEL = "prfaas-hybrid-1t"
TABLE5_TOKENS = (1024, 8192, 32768, 131072)
TABLE5_KV_MIB = (190.8, 308.9, 701.3, 2316.3)
TABLE5_PREFILL_S = (0.44, 0.72, 1.84, 7.40)
TABLE5_KV_GBPS = (3.61, 3.59, 3.19, 2.62)
PAPER_GPUS = 8
