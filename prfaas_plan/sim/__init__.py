"""Discrete-event cross-check of `plan/` (pure: returns records, writes nothing).

- `engine`: PrfaaS prefill pool, local prefill pool, the shared egress link (processor sharing,
  optional per-second bandwidth factors), decode slots; conservation and queue-growth checks.
- `prefix_cache`: prefix reuse from Mooncake block hashes (LRU by block) and the paper's routing
  rule with one cache per cluster.
- `adaptive`: the paper's dual-timescale scheduler, event-driven: routes each request at its
  arrival from the link and queue state, re-plans the local split every interval through a
  callback (`plan.rebalance`), then finishes the run with `engine.finish`.
- `replay`: fixed routes and decode loans timed as the adaptive run would time them (the evaluator
  of `benchmarks/scheduler_oracle.py`'s hindsight search; never on `prfaas simulate`'s path).
- `metrics`: TTFT overall / offloaded / local and the per-second series as plain dicts.

To add a stage: give it arrival/start/end arrays in `SimRecords`, schedule it in `simulate`, and
report its waits in `commands/simulate.py`. To change the adaptive policy: its rule is
`adaptive._Scheduler._control` (threshold) and `route` (the never-later veto); a new parameter
goes into `AdaptivePolicy` with its reason and check, and a flag in `commands/scheduling.FLAGS`.
"""
