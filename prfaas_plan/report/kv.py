"""Rendering of `prfaas kv` results. JSON shape (stable):
{"model", "hardware", "gpus", "attention_dp", "recipe": {"weights_dtype", "kv_dtype", "attention_tp",
 "attention_dp", "expert_tp", "expert_ep", "routing", "chunked_prefill_tokens", "speculative", "source", "assumed"},
 "kv_bytes_per_token", "fixed_state_bytes",
 "rows": [{"tokens", "kv_bytes", "prefill_s", "kv_gbps", "dominant"[, "breakdown_s"]}], "notes": [str]}
recipe.chunked_prefill_tokens: the recipe's --chunked-prefill-size (null: the GPU's default);
recipe.speculative: null or {"algorithm", "num_steps", "multi_layer", "draft_extend_layers"}.
"""

from __future__ import annotations

from typing import Any

from prfaas_plan.perf.api import KVThroughput
from prfaas_plan.report.blocks import blocks, table
from prfaas_plan.report.tables import fmt, to_csv, to_json, to_markdown

BASE_COLS = ["tokens", "KV bytes", "KV MiB", "prefill s", "KV Gbps", "dominant"]


def kv_data(r: KVThroughput, breakdown: bool) -> dict[str, Any]:
    rows = []
    for i in range(len(r.tokens)):
        row: dict[str, Any] = {
            "tokens": int(r.tokens[i]), "kv_bytes": float(r.kv_bytes[i]),
            "prefill_s": float(r.prefill_s[i]), "kv_gbps": float(r.kv_gbps[i]),
            "dominant": r.dominant[i],
        }
        if breakdown:
            row["breakdown_s"] = {k: float(v[i]) for k, v in r.breakdown.items()}
        rows.append(row)
    return {
        "model": r.model, "hardware": r.hardware, "gpus": r.gpus, "attention_dp": r.attention_dp,
        "recipe": recipe_data(r),
        "kv_bytes_per_token": r.kv_bytes_per_token, "fixed_state_bytes": r.fixed_state_bytes,
        "rows": rows, "notes": list(r.notes),
    }


def recipe_data(r: KVThroughput) -> dict[str, Any] | None:
    rc = r.recipe
    if rc is None:
        return None
    return {"weights_dtype": rc.weights_dtype, "kv_dtype": rc.kv_dtype, "attention_tp": rc.attn_tp,
            "attention_dp": rc.attention_dp, "expert_tp": rc.moe_tp, "expert_ep": rc.expert_ep, "routing": rc.routing,
            "chunked_prefill_tokens": rc.chunked_prefill_tokens, "speculative": rc.speculative_data(),
            "source": rc.source, "assumed": rc.assumed}


def recipe_line(r: KVThroughput) -> str:
    """`recipe: ...` for table and Markdown titles (layout, dtypes, MoE routing); says when the recipe
    is assumed, not published."""
    rc = r.recipe
    if rc is None:
        return ""
    return f"\nrecipe{' (ASSUMED: no published recipe)' if rc.assumed else ''}: {rc.layout()}"


def render_kv(r: KVThroughput, fmt_name: str, breakdown: bool) -> Any:
    data = kv_data(r, breakdown)
    if fmt_name == "json":
        return to_json(data)
    cols = list(BASE_COLS)
    classes = list(r.breakdown) if breakdown else []
    cols += [f"{c} s" for c in classes]
    raw_rows = []
    for i, row in enumerate(data["rows"]):
        raw_rows.append(
            [row["tokens"], row["kv_bytes"], row["kv_bytes"] / 2**20, row["prefill_s"], row["kv_gbps"], row["dominant"]]
            + [float(r.breakdown[c][i]) for c in classes]
        )
    if fmt_name == "csv":
        return to_csv(cols, raw_rows)
    str_rows = [
        [str(x[0]), f"{x[1]:.4g}", f"{x[2]:.1f}", f"{x[3]:.3f}", f"{x[4]:.2f}", x[5]]
        + [fmt(v, ".3f") for v in x[6:]]
        for x in raw_rows
    ]
    title = (
        f"{r.model} on {r.gpus}x{r.hardware}: KV {r.kv_bytes_per_token:,.0f} B/token + "
        f"{r.fixed_state_bytes / 2**20:,.1f} MiB fixed state (roofline prediction"
        + (f"; DP attention: {r.attention_dp} groups of TP {r.gpus // r.attention_dp}" if r.attention_dp > 1 else "")
        + ")" + recipe_line(r) + "".join(f"\nNOTE: {n}" for n in r.notes)
    )
    if fmt_name == "markdown":
        return to_markdown(cols, str_rows, title)
    if not breakdown:
        return table(cols, str_rows, title)

    main = table(BASE_COLS, [r[: len(BASE_COLS)] for r in str_rows], title)
    bcols = ["op class (s)"] + [str(int(t)) for t in r.tokens]
    brows = [[c] + [f"{float(v):.3f}" for v in r.breakdown[c]] for c in classes]
    return blocks(main, table(bcols, brows, "Prefill time per op class, seconds"))
