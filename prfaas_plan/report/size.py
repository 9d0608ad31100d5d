"""Rendering of `prfaas size`. JSON (stable):
{"target_rps", "slo", "best": RESULT, "candidates": [RESULT], "baselines": {"homogeneous_pd": RESULT|null,
 "naive_heterogeneous": RESULT|null}, "notes"} plus "scenario", "load", "savings" and "search_size".
RESULT = {"prfaas_hardware", "prfaas_gpus", "local_hardware", "local_gpus", "gpus_per_instance",
 "recipe": {"name", "local", "prfaas"}, "instances": {"prfaas", "pd_prefill", "pd_decode"}, "threshold_tokens",
 "offload_fraction", "binding", "max_throughput_rps", "loaded_ttft_s": {"mean", "p90"}, "tpot_s",
 "egress_gbps": {"mean", "p99_1s"}, "link_gbps", "link_gbps_needed", "cost_usd_per_hour",
 "usd_per_million_output_tokens", "calibrated": {"prfaas", "local"}, "price_source": {"prfaas", "local"},
 "slo": [{"name", "limit", "actual", "met", "margin"}]}.
CSV = the candidates then the baselines, one row each (column `row` says which).
The report is `commands.size.SizeReport` (typed Any here: report/ sits below commands/).
"""

from __future__ import annotations

from typing import Any

from prfaas_plan.report.blocks import Note, blocks, table
from prfaas_plan.report.tables import fmt, to_csv, to_json, to_markdown

COLS = ["row", "prfaas", "local", "recipe", "inst P/p/d", "threshold", "offload", "binding", "lambda_max",
        "ttft mean/p90 s", "tpot ms", "egress mean/p99", "link need", "$/h", "$/M out tok", "trust"]


def size_data(r: Any) -> dict[str, Any]:
    sav: dict[str, Any] = {}
    if r.best:
        for k, b in r.baselines.items():
            if b:
                sav[k] = {"usd_per_hour": b["cost_usd_per_hour"] - r.best["cost_usd_per_hour"],
                          "gpus": b["prfaas_gpus"] + b["local_gpus"] - r.best["prfaas_gpus"] - r.best["local_gpus"]}
    return {"scenario": r.scenario, "target_rps": r.target_rps, "load": r.load, "slo": r.slo, "best": r.best,
            "candidates": r.candidates, "baselines": r.baselines, "savings": sav, "search_size": r.search_size,
            "notes": r.notes}


def trust(x: dict[str, Any]) -> str:
    """Calibration and price source kind of each GPU, never silent (the full source is in the JSON)."""
    parts = []
    for side in ("prfaas", "local"):
        hw = x[f"{side}_hardware"]
        if hw is None:
            continue
        cal = "calibrated" if x["calibrated"][side] else "COPIED efficiency block"
        src = str(x["price_source"][side])
        kind = "--price" if src == "--price" else "scenario" if src.startswith("scenario") else "catalog"
        parts.append(f"{hw}: {cal}, {kind} price")
    return "; ".join(parts)


def _row(name: str, x: dict[str, Any]) -> list[str]:
    i = x["instances"]
    thr = x["threshold_tokens"]
    return [name, f"{x['prfaas_gpus']} {x['prfaas_hardware']}" if x["prfaas_hardware"] else "-",
            f"{x['local_gpus']} {x['local_hardware']}", x["recipe"]["name"],
            f"{i['prfaas']}/{i['pd_prefill']}/{i['pd_decode']}", "-" if thr is None else f"{thr:,.0f}",
            f"{x['offload_fraction']:.1%}", x["binding"], f"{x['max_throughput_rps']:.3f}",
            f"{x['loaded_ttft_s']['mean']:.2f}/{x['loaded_ttft_s']['p90']:.2f}", f"{x['tpot_s'] * 1e3:.1f}",
            f"{x['egress_gbps']['mean']:.1f}/{x['egress_gbps']['p99_1s']:.1f}", f"{x['link_gbps_needed']:.1f}",
            fmt(x["cost_usd_per_hour"], ".1f"), f"{x['usd_per_million_output_tokens']:.2f}", trust(x)]


def _rows(r: Any) -> list[list[str]]:
    rows = [_row("best" if k == 0 else f"#{k + 1}", c) for k, c in enumerate(r.candidates)]
    rows += [_row(k, b) for k, b in r.baselines.items() if b]
    return rows


def render_size(r: Any, fmt_name: str) -> Any:
    if fmt_name == "json":
        return to_json(size_data(r))
    if fmt_name == "csv":
        return to_csv(COLS, _rows(r))
    title = (f"{r.scenario}: {r.target_rps:g} req/s at load {r.load:g}; SLO P90 TTFT "
             f"{r.slo['ttft_p90_s'] or '-'} s, decode {r.slo['decode_tokens_per_s']:g} tokens/s")
    extra = [f"saves vs {k}: {v['usd_per_hour']:.1f} $/h, {v['gpus']} GPUs" for k, v in size_data(r)["savings"].items()]
    if fmt_name == "markdown":
        return to_markdown(COLS, _rows(r), title) + "".join(f"\n- {n}" for n in extra + r.notes) + "\n"

    return blocks(table(COLS, _rows(r), title), *(Note(n) for n in extra + r.notes))
