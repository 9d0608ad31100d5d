"""Rendering of `prfaas compare`. JSON:
{"scenario", "budget_usd_per_hour", "prices": {GPU: {"usd_per_gpu_hour", "source"}},
 "mixes_evaluated", "pareto": [MIX], "best": MIX, "best_homogeneous": MIX|null,
 "scenario_mix": MIX|null, "equal_cost_homogeneous": MIX|null, "gains": {...} (ratios), "notes"}
MIX = {"prfaas_hardware": str|null, "prfaas_gpus", "local_hardware", "local_gpus",
 "cost_usd_per_hour", "max_throughput_rps", "rps_per_usd_hour"}.
CSV lists the Pareto front.
"""

from __future__ import annotations

from typing import Any

from prfaas_plan.plan.compare import CompareResult, Mix
from prfaas_plan.report.tables import rich_table, to_csv, to_json, to_markdown

COLS = ["prfaas_hardware", "prfaas_gpus", "local_hardware", "local_gpus", "cost_usd_per_hour",
        "max_throughput_rps", "rps_per_usd_hour"]


def mix_data(m: Mix | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"prfaas_hardware": m.prfaas_hardware, "prfaas_gpus": m.prfaas_gpus, "local_hardware": m.local_hardware,
            "local_gpus": m.local_gpus, "cost_usd_per_hour": m.cost_usd_per_hour,
            "max_throughput_rps": m.max_throughput_rps, "rps_per_usd_hour": m.rps_per_usd_hour}


def compare_data(r: CompareResult) -> dict[str, Any]:
    return {
        "scenario": r.scenario, "budget_usd_per_hour": r.budget_usd_per_hour, "prices": r.prices,
        "mixes_evaluated": len(r.mixes), "pareto": [mix_data(m) for m in r.front], "best": mix_data(r.best),
        "best_homogeneous": mix_data(r.best_homogeneous), "scenario_mix": mix_data(r.scenario_mix),
        "equal_cost_homogeneous": mix_data(r.equal_cost_homogeneous), "gains": r.gains, "notes": r.notes,
    }


def _label(m: Mix) -> str:
    pr = f"{m.prfaas_gpus} x {m.prfaas_hardware} + " if m.prfaas_gpus else ""
    return f"{pr}{m.local_gpus} x {m.local_hardware}"


def _row(m: Mix) -> list[str]:
    return [_label(m), f"{m.cost_usd_per_hour:,.0f}", f"{m.max_throughput_rps:.3f}", f"{m.rps_per_usd_hour * 1000:.2f}"]


def render_compare(r: CompareResult, fmt: str) -> Any:
    if fmt == "json":
        return to_json(compare_data(r))
    if fmt == "csv":
        return to_csv(COLS, [[mix_data(m)[c] for c in COLS] for m in r.front])  # type: ignore[index]
    hdr = ["mix (PrfaaS + local)", "cost ($/h)", "Lambda_max (req/s)", "req/s per k$/h"]
    front = [_row(m) for m in r.front]
    picks = []
    for name, m in (("best mix", r.best), ("best homogeneous", r.best_homogeneous),
                    ("scenario's mix", r.scenario_mix), ("equal-cost homogeneous", r.equal_cost_homogeneous)):
        if m is not None:
            picks.append([name] + _row(m))
    lines = [f"{h}: {p['usd_per_gpu_hour']:g} $/GPU-h ({p['source']})" for h, p in r.prices.items()]
    g = r.gains
    if g.get("scenario_mix_per_usd_vs_equal_cost_homogeneous"):
        lines.append(f"scenario's mix vs equal-cost homogeneous, throughput per $: "
                     f"{g['scenario_mix_per_usd_vs_equal_cost_homogeneous']:.3f}x")
    if g.get("best_per_usd_vs_best_homogeneous_per_usd"):
        lines.append(f"best mix vs best homogeneous, throughput per $: {g['best_per_usd_vs_best_homogeneous_per_usd']:.3f}x")
    lines += r.notes
    title = f"{r.scenario}: {len(r.mixes):,} mixes within {r.budget_usd_per_hour:,.0f} $/h; Pareto front"
    if fmt == "markdown":
        return (to_markdown(hdr, front, title) + "\n" + to_markdown(["pick"] + hdr, picks) + "\n"
                + "".join(f"- {x}\n" for x in lines))
    from rich.console import Group
    from rich.text import Text

    return Group(rich_table(hdr, front, title), rich_table(["pick"] + hdr, picks),
                 *[Text(x, style="dim") for x in lines])
