"""Pure planning: length distributions (`dist`, analytic and sampleable), stage throughputs and
the exact optimiser over threshold and split (`throughput`), the plans with baselines, TTFT and
egress (`planner`, `latency`), GPU-mix scoring (`compare`), egress projection (`scale`), the
scenario's expectations (`expect`), whether a model fits an instance (`feasibility`), and the
optimum split for an observed traffic window (`rebalance`, the adaptive scheduler's long timescale).

Inputs are numbers already evaluated by `assemble/`; nothing here reads files or catalogs.
To add a planner output: compute it in `planner.make_plan` from `PlanInputs`, add it to `Plan`,
and render it in `report/plan.py`.
"""
