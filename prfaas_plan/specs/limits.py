"""Plausibility limits: the widest values a catalog entry, scenario or workload may hold.

A value outside them is a typo or a hostile input, never a real deployment, and is refused at the
edge with its field named (pydantic `ge`/`le`), before any array is sized from it. Each limit is
one to three orders of magnitude beyond the largest real value known, which is cited; raising a
limit is a one-line change here. The resource bounds of the core (how many requests a simulation
or how many mixes a comparison may hold) live next to the code they protect.
"""

from __future__ import annotations

# Lengths in tokens (prompts, outputs, windows, chunk sizes): the longest advertised context window
# is 10M tokens (Llama 4 Scout, Meta, April 2025); 10x that.
MAX_TOKENS = 1e8

# GPUs in one cluster: the largest announced single AI clusters hold about 200,000 GPUs (xAI
# Colossus, 2025); 5x that.
MAX_CLUSTER_GPUS = 1_000_000

# GPUs in one serving instance: NVL72 racks (72 GPUs) and DeepSeek-V3's 320-GPU decode deployment
# (DeepSeek inference-system overview, 2025) are the largest published; `kv --gpus` allows 1024.
MAX_INSTANCE_GPUS = 1024

# Concurrent sequences in one decode instance: engines default to 256-2048 (vLLM max_num_seqs,
# SGLang max_running_requests); 100,000 is 50x the largest default.
MAX_DECODE_BATCH = 100_000

# Compute: a 1990s Pentium reached about 1e8 FLOP/s; NVIDIA B300's dense FP4 peak is 1.5e16.
MIN_FLOPS_PER_S, MAX_FLOPS_PER_S = 1e8, 1e18

# Memory bandwidth (bytes/s): 1e8 is a single 1990s DRAM channel; B200's HBM3e is 8e12 (the upper
# limit leaves room for the idealised 1e16 B/s hand-worked tests use to zero the memory terms).
MIN_MEMORY_BANDWIDTH, MAX_MEMORY_BANDWIDTH = 1e8, 1e17

# Memory capacity (bytes): 1e8 = 100 MB; a B300 holds 2.88e11, large CPU hosts about 1.2e13.
MIN_MEMORY_BYTES, MAX_MEMORY_BYTES = 1e8, 1e14

# Network links in Gbps: 1 Mbps (a slow WAN) to 1 Pbps (the largest NICs carry 800 Gbps per port).
MIN_LINK_GBPS, MAX_LINK_GBPS = 1e-3, 1e6

# Round-trip time, ms: a geostationary satellite hop is about 600 ms.
MAX_RTT_MS = 1e5

# Compute units per device: B200 has 148 SMs, MI300X 304 CUs, the largest CPUs 192 cores.
MAX_COMPUTE_UNITS = 100_000

# GPUs in one scale-up (NVLink) domain: 72 in GB200 NVL72, 576 announced for Rubin Ultra NVL576.
MAX_SCALEUP_DOMAIN = 65_536

# Prices, USD per GPU-hour: on-demand H100/H200 list prices are 2-11 USD.
MAX_USD_PER_GPU_HOUR = 1e4

# Engine and kernel times, seconds: a kernel launch costs microseconds, a request's fixed engine
# cost (Table 6 fit) under a second; these bounds only reject nonsense.
MAX_KERNEL_S = 1.0
MAX_ENGINE_S = 3600.0

# Model dimensions: hidden sizes reach 16,384 (Llama-3.1-405B), vocabularies 262,144 (Gemma 3),
# experts 512 (Qwen3-Next), layers 126 (Llama-3.1-405B); 2^24 and 10,000 are far beyond.
MAX_MODEL_DIM = 2**24
MAX_LAYERS = 10_000
MAX_PARAMS = 1e15

# Requests per second offered to one deployment, and arrival burstiness (the Mooncake
# conversation trace's squared CV is 9.2).
MAX_RATE_RPS = 1e9
MAX_SCV = 1e4

# A log-normal length's sigma (of ln tokens): fitted request lengths have 0.5-2 (the paper's 1.0);
# at 20 one standard deviation spans a factor e^20 = 5e8, past the whole token range (1..1e8), and
# the closed-form partial means, exp(mu + sigma^2 / 2) x a normal tail, stay within float range
# (sigma 38 overflows). The truncation [lo, hi] must hold at least a millionth of the distribution:
# below it the normal CDF differences the truncated CDF and means are taken from lose their digits
# (1 - Phi(8) rounds to 0) and the figures came out as NaN or as the bound itself.
MAX_LN_SIGMA = 20.0
MIN_TRUNCATED_MASS = 1e-6

# Histogram counts and mixture weights (relative): a quadrillion keeps sums finite in float64.
MAX_WEIGHT = 1e15

# Input files read whole into memory: the largest real text input is a 3.7 MB measurement CSV
# (../shared/measurements/h200-sglang-mechanisms.csv) and the largest catalog or scenario YAML is
# under 20 kB; 64 MiB and 4 MiB leave 17x and 200x. (Request traces are not capped: their size is
# the user's data; `simulate` bounds the requests it holds.)
MAX_TEXT_FILE_BYTES = 64 * 2**20
MAX_YAML_FILE_BYTES = 4 * 2**20
# Values a YAML file expands to once its aliases are resolved (`*name` repeats a whole anchored
# subtree): a catalog entry holds about 200, a workload's quantile tables a few thousand.
MAX_YAML_VALUES = 1_000_000

# Characters in a catalog, scenario or workload name (and a display name): Hugging Face caps a
# repository name at 96 characters; 200 leaves room for an organisation prefix.
MAX_NAME_CHARS = 200
