"""Discrete-event cross-check of `plan/` (pure: returns records, writes nothing).

- `engine`: PrfaaS prefill pool, local prefill pool, the shared egress link (processor sharing,
  optional per-second bandwidth factors), decode slots; conservation and queue-growth checks.
- `prefix_cache`: prefix reuse from Mooncake block hashes (LRU by block) and the paper's routing
  rule with one cache per cluster.

To add a stage: give it arrival/start/end arrays in `SimRecords`, schedule it in `simulate`, and
report its waits in `commands/simulate.py`.
"""
