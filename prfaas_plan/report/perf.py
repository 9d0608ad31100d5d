"""Rendering of `prfaas perf` results. JSON shape (stable):
{"model", "hardware", "gpus", "recipe": {"weights_dtype", "kv_dtype", "tp", "attention_dp", "ep", "expert_tp", "routing",
 "chunked_prefill_tokens", "speculative", "source", "assumed"},
 "prefill": {"input_length", "batch_tokens", "latency_s", "throughput_tokens_per_s_per_gpu"},
 "decode": {"batch", "context", "step_s", "tpot_s", "throughput_tokens_per_s_per_gpu"},
 "breakdown": {"prefill_latency_s": {class: s}, "prefill_occupancy_s": {class: s},
               "decode_step_s": {class: s}, "prefill_occupancy_s_per_request", "decode_batch_limited_by",
               "slo_tokens_per_s"}[, "notes": [str], only when there are notes]}
"""

from __future__ import annotations

from typing import Any

from prfaas_plan.perf.instance import PerfResult
from prfaas_plan.report.blocks import Note, blocks, table
from prfaas_plan.report.tables import to_json, to_markdown

LIMITED = {"given": "--decode-batch", "slo": "the decode SLO", "hbm": "HBM for KV", "limit": "the CUDA-graph batch cap"}


def perf_data(r: PerfResult) -> dict[str, Any]:
    """The issue's stable shape; "notes" is added only when there are some (a GPU file without a fitted block)."""
    p, d = r.prefill, r.decode
    out = {
        "model": r.model, "hardware": r.hardware, "gpus": r.gpus, "recipe": dict(r.recipe),
        "prefill": {"input_length": p.input_length, "batch_tokens": p.batch_tokens, "latency_s": p.latency_s,
                    "throughput_tokens_per_s_per_gpu": p.throughput_tokens_per_s_per_gpu},
        "decode": {"batch": d.batch, "context": d.context, "step_s": d.step_s, "tpot_s": d.tpot_s,
                   "throughput_tokens_per_s_per_gpu": d.throughput_tokens_per_s_per_gpu},
        "breakdown": {"prefill_latency_s": p.latency_breakdown_s, "prefill_occupancy_s": p.occupancy_breakdown_s,
                      "decode_step_s": d.step_breakdown_s, "prefill_occupancy_s_per_request": p.occupancy_s,
                      "decode_batch_limited_by": d.batch_limited_by, "slo_tokens_per_s": r.slo_tokens_per_s},
    }
    if r.notes:
        out["notes"] = list(r.notes)
    return out


def _rows(r: PerfResult) -> list[list[str]]:
    p, d = r.prefill, r.decode
    return [
        ["prefill latency (one request, TTFT)", f"{p.latency_s:.3f} s", f"{p.input_length:,} tokens, chunks of "
         f"{p.batch_tokens:,}; request overhead included"],
        ["prefill occupancy per request (busy)", f"{p.occupancy_s:.4f} s", f"forwards filled to {p.batch_tokens:,} "
         "tokens; request overhead overlapped"],
        ["prefill throughput per GPU", f"{p.throughput_tokens_per_s_per_gpu:,.0f} tok/s",
         f"1 / latency would give {p.input_length / p.latency_s / r.gpus:,.0f}"],
        ["decode batch", f"{d.batch}", f"limited by {LIMITED[d.batch_limited_by]}"],
        ["decode context", f"{d.context:,.0f} tokens", "input + output / 2"],
        ["decode step = TPOT", f"{d.step_s * 1e3:.2f} ms", f"{1 / d.tpot_s:,.1f} tok/s per request "
         f"(SLO {r.slo_tokens_per_s:g})"],
        ["decode throughput per GPU", f"{d.throughput_tokens_per_s_per_gpu:,.0f} tok/s", ""],
    ]


def _breakdown_rows(r: PerfResult) -> list[list[str]]:
    p, d = r.prefill, r.decode
    return [[c, f"{p.latency_breakdown_s[c]:.4f}", f"{p.occupancy_breakdown_s[c]:.4f}",
             f"{d.step_breakdown_s[c] * 1e3:.3f}"] for c in p.latency_breakdown_s]


def render_perf(r: PerfResult, fmt_name: str) -> Any:
    if fmt_name == "json":
        return to_json(perf_data(r))
    rc = r.recipe
    title = (f"{r.model} on {r.gpus} x {r.hardware}: {rc['weights_dtype']} weights, {rc['kv_dtype']} KV, "
             f"attention TP {rc['tp']}" + (f" x DP {rc['attention_dp']}" if rc["attention_dp"] > 1 else "")
             + (f", experts TP {rc['expert_tp']} x EP {rc['ep']}, {rc['routing'].replace('_', '-')} routing"
                if rc["ep"] else "") + " (roofline prediction)")
    foot = ("Recipe ASSUMED (none published): " if rc.get("assumed") else "Recipe: ") + str(rc["source"]) \
        + "".join(f"\nNOTE: {n}" for n in r.notes)
    cols, bcols = ["quantity", "value", "note"], ["op class", "prefill latency s", "prefill occupancy s", "decode step ms"]
    if fmt_name == "markdown":
        return (to_markdown(cols, _rows(r), title) + "\n" + to_markdown(bcols, _breakdown_rows(r), "Breakdown")
                + f"\n- {foot}\n")

    return blocks(table(cols, _rows(r), title), table(bcols, _breakdown_rows(r), "Breakdown"), Note(foot))
