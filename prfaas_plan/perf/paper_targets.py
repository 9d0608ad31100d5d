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

# Table 6, homogeneous-PD column: 12 x (8xH20), best split 9 prefill / 3 decode, no PrfaaS. Its
# TTFT is the H20 prefill latency of the routed request (no queueing, no transfer), so it is the
# only published end-to-end H20 prefill figure: mean 4.44 s and P90 9.73 s over the case-study
# length distribution, and Theta_pdp = 2.11 req/s from 9 instances, i.e. 9 / 2.11 = 4.27 s at the
# representative (mean) length under the paper's approximation. Used to fit H20's engine-level
# overheads (`prfaas calibrate --hardware h20 --paper-prefill`); the PrfaaS-PD column stays held out.
TABLE6_LOCAL_GPUS = 8
TABLE6_LOGNORMAL = {"mu": 9.90, "sigma": 1.00, "lo": 128.0, "hi": 131072.0}
TABLE6_HOMOGENEOUS_TTFT_S = {"mean": 4.44, "p90": 9.73}
TABLE6_HOMOGENEOUS_PREFILL = {"instances": 9, "theta_rps": 2.11}
