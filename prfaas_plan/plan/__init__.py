"""Pure planning: length distributions, stage throughputs, optimiser, baselines, latency, egress."""
