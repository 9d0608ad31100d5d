"""Charts (matplotlib, imported lazily: the `plot` extra). Each `draw_*` fills one axes from a
command's plain result; `save_plot` writes the figure atomically (temporary sibling, then rename)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from prfaas_plan.errors import PrfaasError
from prfaas_plan.plan.compare import CompareResult


def save_plot(path: Path, draw: Callable[[Any], None]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PrfaasError("--plot needs matplotlib", fix="pip install 'prfaas-plan[plot]'") from None
    if path.suffix.lower() not in (".svg", ".png"):
        raise PrfaasError(f"--plot {path}: the file must end in .svg or .png")
    import os
    import tempfile

    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw(ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


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
