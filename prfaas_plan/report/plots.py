"""Charts (matplotlib, imported lazily: the `plot` extra). Each `draw_*` fills one axes from a
command's plain result; `save_plot` writes the figure atomically (temporary sibling, then rename)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan.compare import CompareResult

PLOT_FIX = "python -m pip install matplotlib (or, from a clone: pip install -e '.[plot]')"
PNG_DPI = 300  # print resolution


def save_plot(path: Path, draw: Callable[[Any], None]) -> None:
    """Draw and write the chart atomically (`io.files`: hidden temporary sibling, then rename);
    PNGs at 300 dpi."""
    from prfaas_plan.io.files import atomic_write_many

    if path.suffix.lower() not in (".svg", ".png"):
        raise PrfaasError(f"--plot {path}: the file must end in .svg or .png", fix="e.g. --plot chart.svg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PrfaasError("--plot needs matplotlib", fix=PLOT_FIX) from None
    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        draw(ax)
        fig.tight_layout()
        fmt = path.suffix.lower().lstrip(".")
        atomic_write_many([(path, lambda t: fig.savefig(t, format=fmt, dpi=PNG_DPI))], "--plot")
    finally:
        plt.close(fig)


def draw_scale(data: dict[str, Any]) -> Callable[[Any], None]:
    """Egress against PrfaaS cluster size (log-log), with the link when a scenario gives one."""
    rows = data["rows"]

    def draw(ax: Any) -> None:
        x = [r["gpus"] for r in rows]
        ax.loglog(x, [r["egress_gbps"] for r in rows], "o-", label="egress, Eq. 2")
        if rows[0]["egress_gbps_exact"] is not None:
            ax.loglog(x, [r["egress_gbps_exact"] for r in rows], "s--", label="egress, exact")
        if rows[0]["p99_1s_gbps"] is not None:
            ax.loglog(x, [r["p99_1s_gbps"] for r in rows], ":", label="P99 over 1 s")
        ax.loglog(x, [r["link_gbps_needed"] for r in rows], "^-.", color="C3",
                  label=f"link needed (mean / {data.get('target_utilization', 0.7):g} or P99 burst)")
        link = data["link_gbps"]
        if link:
            ax.axhline(link, color="red", lw=1, label=f"scenario link {link:g} Gbps")
        ax.set_xlabel("PrfaaS cluster size (GPUs)")
        ax.set_ylabel("egress (Gbps)")
        ax.set_title(f"{data['model']} on {data['hardware']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()

    return draw


def _pair(m: Any) -> str:
    return f"{m.prfaas_hardware} + {m.local_hardware}" if m.prfaas_gpus else f"{m.local_hardware} alone"


def draw_compare(res: CompareResult) -> Callable[[Any], None]:
    """Every mix's throughput against its cost, one colour per GPU pair, the Pareto front, the best,
    scenario and homogeneous mixes labelled, and the budget."""

    def draw(ax: Any) -> None:
        pairs = list(dict.fromkeys(_pair(m) for m in res.mixes))
        for k, pair in enumerate(pairs):
            ms = [m for m in res.mixes if _pair(m) == pair]
            ax.scatter([m.cost_usd_per_hour for m in ms], [m.max_throughput_rps for m in ms], s=10, alpha=0.45,
                       color=f"C{k % 10}", label=pair)
        fr = res.front
        ax.plot([m.cost_usd_per_hour for m in fr], [m.max_throughput_rps for m in fr], "-", color="black", lw=1,
                label="Pareto front")
        ax.axvline(res.budget_usd_per_hour, color="red", lw=1, ls="--", label=f"budget {res.budget_usd_per_hour:,.0f} $/h")
        for name, m, mark, dy in (("best", res.best, "*", 10), ("scenario", res.scenario_mix, "D", -16),
                                  ("best homogeneous", res.best_homogeneous, "s", 10),
                                  ("equal-cost homogeneous", res.equal_cost_homogeneous, "v", -16)):
            if m is None:
                continue
            ax.scatter([m.cost_usd_per_hour], [m.max_throughput_rps], marker=mark, s=90, color="black", zorder=3)
            label = f"{name}: {m.prfaas_gpus} {m.prfaas_hardware} + " if m.prfaas_gpus else f"{name}: "
            ax.annotate(label + f"{m.local_gpus} {m.local_hardware}", (m.cost_usd_per_hour, m.max_throughput_rps),
                        textcoords="offset points", xytext=(-8, dy), ha="right", fontsize=8)
        ax.set_xlabel("cost (USD per hour)")
        ax.set_ylabel("Lambda_max (req/s)")
        ax.set_title(f"{res.scenario}: throughput against cost")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")

    return draw


def draw_schedulers(res: dict[str, Any]) -> Callable[[Any], None]:
    """`simulate --scheduler adaptive | --compare-schedulers`: three stacked panels over time: the
    effective threshold, link utilisation with the bandwidth trace, and the queue depths."""
    blocks = res["schedulers"]
    ad = blocks["adaptive"]["series"]

    def draw(ax: Any) -> None:
        fig = ax.figure
        ax.remove()
        fig.set_size_inches(9, 8)
        a1, a2, a3 = fig.subplots(3, 1, sharex=True)
        t = ad["time_s"]
        a1.plot(t, ad["threshold_tokens"], label="adaptive t_eff")
        if "static" in blocks:
            a1.plot(blocks["static"]["series"]["time_s"], blocks["static"]["series"]["threshold_tokens"], "--",
                    label="static t (plan)")
        a1.set_ylabel("threshold (tokens)")
        a1.legend(loc="upper right")
        a2.plot(t, ad["link_utilization"], label="link utilisation (adaptive)")
        if "static" in blocks:
            s = blocks["static"]["series"]
            a2.plot(s["time_s"], s["link_utilization"], ":", label="link utilisation (static)")
        a2.set_ylabel("utilisation")
        a2b = a2.twinx()
        a2b.plot(t, ad["bandwidth_gbps"], color="red", lw=1, label="bandwidth (Gbps)")
        a2b.set_ylabel("bandwidth (Gbps)")
        a2.legend(loc="upper left")
        a2b.legend(loc="upper right")
        for key, label in (("prfaas_queue_s", "PrfaaS queue"), ("local_queue_s", "local queue"),
                           ("link_drain_s", "link drain")):
            a3.plot(t, [x if x is not None else float("nan") for x in ad[key]], label=label)
        a3.set_ylabel("waiting (s)")
        a3.set_xlabel("time (s)")
        a3.legend(loc="upper right")
        a1.set_title(f"{res['scenario']}: adaptive scheduler ({res['load']:.0%} of Lambda_max)")
        for a in (a1, a2, a3):
            a.grid(True, alpha=0.3)

    return draw


def draw_size(rep: Any) -> Callable[[Any], None]:
    """`prfaas size`: cost against loaded P90 TTFT at the target for the candidates (coloured by GPU
    pair) and the baselines; the chosen deployment and the baselines labelled."""

    def pair(x: dict[str, Any]) -> str:
        return f"{x['prfaas_hardware'] or '-'} + {x['local_hardware']}"

    def draw(ax: Any) -> None:
        pts = [("", c) for c in rep.candidates] + [(k, b) for k, b in rep.baselines.items() if b]
        pairs = list(dict.fromkeys(pair(x) for _, x in pts))
        for i, pr in enumerate(pairs):
            xs = [x for _, x in pts if pair(x) == pr]
            ax.scatter([x["loaded_ttft_s"]["p90"] for x in xs], [x["cost_usd_per_hour"] for x in xs],
                       color=f"C{i % 10}", label=pr)
        for name, x in [("chosen", rep.best), *((k, b) for k, b in rep.baselines.items() if b)]:
            if x:
                ax.annotate(name.replace("_", " "), (x["loaded_ttft_s"]["p90"], x["cost_usd_per_hour"]),
                            textcoords="offset points", xytext=(5, 5))
        ax.set_xlabel(f"loaded P90 TTFT at {rep.target_rps:g} req/s (s)")
        ax.set_ylabel("cost (USD/h)")
        ax.set_title(f"prfaas size: {rep.scenario}")
        ax.legend(fontsize="small")

    return draw
