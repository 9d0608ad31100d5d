"""`prfaas plan --sweep`: each stage's bound on Lambda against t (or N_p), as in the paper's Fig. 5."""

from __future__ import annotations

from typing import Any

import numpy as np

from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan.planner import PlanInputs
from prfaas_plan.plan.throughput import column_at, lambda_matrix, optimise, stage_grid
from prfaas_plan.report.blocks import table
from prfaas_plan.report.tables import format_columns, to_csv, to_json, to_markdown

SWEEP_POINTS = 40
MAX_SWEEP_CELLS = 20_000_000  # the split sweep's matrix: a few arrays of this many floats


def sweep_rows(inp: PlanInputs, kind: str) -> tuple[list[str], list[list[float]]]:
    rm = inp.route
    g = stage_grid(rm, inp.n_prfaas, inp.paper_approximation)
    best = optimise(g, inp.n_local, rm.decode_rps_per_instance)
    N = len(rm.atoms)
    if kind == "threshold":
        js = np.unique(np.linspace(1, N - 1, SWEEP_POINTS).astype(int))
        n_p = best.n_p
        cols = ["threshold_tokens", "offload_fraction", "prfaas_bound_rps", "pd_prefill_bound_rps",
                "pd_decode_bound_rps", "lambda_rps"]
        rows = []
        lam_col, _ = column_at(g, np.full(len(g.p), float(n_p)), inp.n_local, rm.decode_rps_per_instance, True)
        for j in js:
            p = g.p[j]
            prf = min(g.theta_prfaas_compute[j], g.theta_prfaas_egress[j]) / p
            pdp = n_p / g.local_mean_t[j] / (1 - p)
            rows.append([float(rm.boundaries[j]), float(p), float(prf), float(pdp),
                         float((inp.n_local - n_p) * rm.decode_rps_per_instance), float(lam_col[j])])
        return cols, rows
    cols = ["pd_prefill_instances", "pd_decode_instances", "best_threshold_tokens", "lambda_rps",
            "prefill_bound_rps", "decode_bound_rps"]
    if inp.n_local * (N + 1) > MAX_SWEEP_CELLS:
        raise PrfaasError(f"--sweep split over {inp.n_local:,} local instances x {N + 1:,} thresholds is more than "
                          f"{MAX_SWEEP_CELLS:,} cells", fix="use --sweep threshold, or a smaller local cluster")
    lam, pre = lambda_matrix(g, inp.n_local, rm.decode_rps_per_instance)
    rows = []
    for n_p in range(inp.n_local):
        j = int(np.argmax(lam[n_p]))
        rows.append([n_p, inp.n_local - n_p, float(rm.boundaries[j]), float(lam[n_p, j]), float(pre[n_p, j]),
                     float((inp.n_local - n_p) * rm.decode_rps_per_instance)])
    return cols, rows


def render_sweep(inp: PlanInputs, kind: str, fmt_name: str) -> Any:
    cols, rows = sweep_rows(inp, kind)
    if fmt_name == "json":
        return to_json({"sweep": kind, "columns": cols, "rows": rows})
    if fmt_name == "csv":
        return to_csv(cols, rows)
    srows = format_columns(rows)
    title = f"Bound curves against {'t' if kind == 'threshold' else 'N_p'} (requests/s)"
    return to_markdown(cols, srows, title) if fmt_name == "markdown" else table(cols, srows, title)
