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
        link = data["link_gbps"]
        if link:
            ax.axhline(link, color="red", lw=1, label=f"link {link:g} Gbps")
        ax.set_xlabel("PrfaaS cluster size (GPUs)")
        ax.set_ylabel("egress (Gbps)")
        ax.set_title(f"{data['model']} on {data['hardware']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()

    return draw


def draw_compare(res: CompareResult) -> Callable[[Any], None]:
    """Every mix's throughput against its cost, with the Pareto front."""

    def draw(ax: Any) -> None:
        ax.scatter([m.cost_usd_per_hour for m in res.mixes], [m.max_throughput_rps for m in res.mixes],
                   s=8, alpha=0.35, label="mixes")
        fr = res.front
        ax.plot([m.cost_usd_per_hour for m in fr], [m.max_throughput_rps for m in fr], "o-", color="C3",
                label="Pareto front")
        ax.set_xlabel("cost (USD per hour)")
        ax.set_ylabel("Lambda_max (req/s)")
        ax.set_title(f"{res.scenario}: throughput against cost")
        ax.grid(True, alpha=0.3)
        ax.legend()

    return draw
