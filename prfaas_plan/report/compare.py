"""Rendering of `prfaas compare`. JSON:
{"scenario", "budget_usd_per_hour", "prices": {GPU: {"usd_per_gpu_hour", "source"}},
 "trust": {GPU: {"calibrated", "price_kind"}}, "mixes_evaluated", "pareto": [MIX], "top": [MIX] (--top N),
 "best": MIX, "best_homogeneous": MIX|null, "scenario_mix": MIX|null, "equal_cost_homogeneous": MIX|null,
 "gains": {...} (ratios), "notes"}
MIX = {"prfaas_hardware": str|null, "prfaas_gpus", "local_hardware", "local_gpus", "cost_usd_per_hour",
 "max_throughput_rps", "rps_per_usd_hour", "threshold_tokens", "pd_prefill_instances", "pd_decode_instances",
 "binding", "ttft_mean_s", "ttft_p90_s", "trust": [warnings]} (trust [] = calibrated GPUs, given prices).
CSV lists the Pareto front (or the --top N mixes) with the same columns.
"""

from __future__ import annotations

from typing import Any

from prfaas_plan.plan.compare import CompareResult, Mix
from prfaas_plan.report.blocks import Note, blocks, table
from prfaas_plan.report.tables import to_csv, to_json, to_markdown

COLS = ["prfaas_hardware", "prfaas_gpus", "local_hardware", "local_gpus", "cost_usd_per_hour",
        "max_throughput_rps", "rps_per_usd_hour", "threshold_tokens", "pd_prefill_instances", "pd_decode_instances",
        "binding", "ttft_mean_s", "ttft_p90_s", "trust"]
DETAIL = ("threshold_tokens", "pd_prefill_instances", "pd_decode_instances", "binding", "ttft_mean_s", "ttft_p90_s")


def mix_data(m: Mix | None, r: CompareResult | None = None) -> dict[str, Any] | None:
    if m is None:
        return None
    d: dict[str, Any] = {
        "prfaas_hardware": m.prfaas_hardware, "prfaas_gpus": m.prfaas_gpus, "local_hardware": m.local_hardware,
        "local_gpus": m.local_gpus, "cost_usd_per_hour": m.cost_usd_per_hour,
        "max_throughput_rps": m.max_throughput_rps, "rps_per_usd_hour": m.rps_per_usd_hour}
    if r is not None:
        det = r.details.get(m, {})
        d.update({k: det.get(k) for k in DETAIL})
        d["trust"] = r.warnings(m)
    return d


def compare_data(r: CompareResult) -> dict[str, Any]:
    return {
        "scenario": r.scenario, "budget_usd_per_hour": r.budget_usd_per_hour, "prices": r.prices, "trust": r.trust,
        "mixes_evaluated": len(r.mixes), "pareto": [mix_data(m, r) for m in r.front],
        "top": [mix_data(m, r) for m in r.top], "best": mix_data(r.best, r),
        "best_homogeneous": mix_data(r.best_homogeneous, r), "scenario_mix": mix_data(r.scenario_mix, r),
        "equal_cost_homogeneous": mix_data(r.equal_cost_homogeneous, r), "gains": r.gains, "notes": r.notes,
    }


def _label(m: Mix) -> str:
    pr = f"{m.prfaas_gpus} x {m.prfaas_hardware} + " if m.prfaas_gpus else ""
    return f"{pr}{m.local_gpus} x {m.local_hardware}"


def _trust_text(r: CompareResult, m: Mix) -> str:
    w = r.warnings(m)
    return "; ".join(w) if w else "calibrated, given prices"


def _row(r: CompareResult, m: Mix) -> list[str]:
    d = r.details.get(m, {})
    thr = d.get("threshold_tokens")
    split = f"{d['pd_prefill_instances']}/{d['pd_decode_instances']}" if d else "-"
    ttft = f"{d['ttft_mean_s']:.2f} / {d['ttft_p90_s']:.2f}" if d else "-"
    return [_label(m), f"{m.cost_usd_per_hour:,.1f}", f"{m.max_throughput_rps:.3f}", f"{m.rps_per_usd_hour * 1000:.3f}",
            "-" if thr is None else f"{thr:,.0f}", split, str(d.get("binding", "-")), ttft, _trust_text(r, m)]


HDR = ["mix (PrfaaS + local)", "cost ($/h)", "Lambda_max (req/s)", "req/s per k$/h", "threshold (tokens)",
       "PD prefill/decode instances", "binding stage", "TTFT mean / P90 (s)", "trust"]


def _lines(r: CompareResult) -> list[str]:
    lines = [f"{h}: {p['usd_per_gpu_hour']:g} $/GPU-h ({p['source']})" for h, p in r.prices.items()]
    if r.best is not None:
        w = r.warnings(r.best)
        lines.insert(0, f"best mix {_label(r.best)}: " + (
            "trust with care: " + "; ".join(w) + " (measure those GPUs and quote prices with --price)"
            if w else "every GPU calibrated on measurements, prices from the scenario or --price"))
    g = r.gains
    if g.get("scenario_mix_per_usd_vs_equal_cost_homogeneous"):
        lines.append(f"scenario's mix vs equal-cost homogeneous, throughput per $: "
                     f"{g['scenario_mix_per_usd_vs_equal_cost_homogeneous']:.3f}x")
    if g.get("best_per_usd_vs_best_homogeneous_per_usd"):
        lines.append(f"best mix vs best homogeneous, throughput per $: {g['best_per_usd_vs_best_homogeneous_per_usd']:.3f}x")
    return lines + r.notes


def render_compare(r: CompareResult, fmt: str) -> Any:
    if fmt == "json":
        return to_json(compare_data(r))
    listed = r.top or r.front
    if fmt == "csv":
        rows = [mix_data(m, r) for m in listed]
        return to_csv(COLS, [[("; ".join(d[c]) if c == "trust" else d[c]) for c in COLS] for d in rows if d])
    front = [_row(r, m) for m in listed]
    picks = []
    for name, m in (("best mix", r.best), ("best homogeneous", r.best_homogeneous),
                    ("scenario's mix", r.scenario_mix), ("equal-cost homogeneous", r.equal_cost_homogeneous)):
        if m is not None:
            picks.append([name] + _row(r, m))
    what = f"top {len(r.top)} by Lambda_max" if r.top else "Pareto front"
    title = f"{r.scenario}: {len(r.mixes):,} mixes within {r.budget_usd_per_hour:,.1f} $/h; {what}"
    lines = _lines(r)
    if fmt == "markdown":
        return (to_markdown(HDR, front, title) + "\n" + to_markdown(["pick"] + HDR, picks) + "\n"
                + "".join(f"- {x}\n" for x in lines))

    return blocks(table(HDR, front, title), table(["pick"] + HDR, picks),
                  *[Note(x, style="dim") for x in lines])
