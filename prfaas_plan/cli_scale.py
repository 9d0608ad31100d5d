"""`prfaas scale` (egress projection) and `prfaas compare` (procurement)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.cli import Fmt, _emit, _run, app, parse_counts, parse_lengths
from prfaas_plan.errors import PrfaasError

DEFAULT_GPUS = "32,64,128,256,512,1024,2048,4096,8192,10000"


def _names(text: str | None, flag: str) -> list[str] | None:
    if text is None:
        return None
    out = [x.strip() for x in text.split(",") if x.strip()]
    if not out:
        raise PrfaasError(f"{flag} is empty", fix=f"name at least one GPU, e.g. {flag} h200,b200")
    return list(dict.fromkeys(out))


def _plot(path: Path, draw: Any) -> None:
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


@app.command()
def scale(
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (omit for quick mode)")] = None,
    gpus: Annotated[str, typer.Option(help="PrfaaS cluster sizes in GPUs, comma-separated")] = DEFAULT_GPUS,
    model: Annotated[str | None, typer.Option(help="quick mode: model")] = None,
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help="quick mode: GPU")] = None,
    tokens: Annotated[str | None, typer.Option(help="quick mode: prompt length (k = x1024)")] = None,
    gpus_per_instance: Annotated[int, typer.Option(help="quick mode: GPUs per prefill instance", min=1, max=1024)] = 8,
    burstiness_scv: Annotated[float | None, typer.Option(
        help="arrival SCV for the P99 burst (default: the workload's; quick mode: 1 = Poisson)", min=0.0, max=100.0)] = None,
    threshold: Annotated[float | None, typer.Option(
        help="scenario mode: routing threshold in tokens (default: the plan's optimum)", min=1.0)] = None,
    target_utilization: Annotated[float, typer.Option(
        help="mean link utilisation to size the link for", min=0.01, max=1.0)] = 0.7,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario field: PATH=VALUE")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    plot: Annotated[Path | None, typer.Option(help="write a log-log chart (.svg or .png; needs the plot extra)")] = None,
) -> None:
    """Project PrfaaS egress (paper Eq. 2) from a few instances to 10,000 GPUs.

    Quick mode answers "how much bandwidth do N GPUs prefilling MODEL at L tokens need"; scenario
    mode routes the scenario's workload with the plan's threshold and adds the exact
    distribution version and the 1-second P99 burst.

    Examples:

      prfaas scale --model minimax-m2.5 --hardware h200 --tokens 32k --gpus 512

      prfaas scale prfaas-paper --format csv

      prfaas scale prfaas-paper --plot egress.svg
    """

    def go() -> None:
        from prfaas_plan import scale_io

        sizes = sorted(set(parse_counts(gpus, "--gpus", k=1000, what="GPU count", example="32,512,10k", hi=1e7)))
        if model is not None or hardware is not None or tokens is not None:
            if scenario is not None:
                raise PrfaasError("give either a SCENARIO or --model/--hardware/--tokens, not both")
            if model is None or hardware is None or tokens is None:
                missing = [f for f, v in (("--model", model), ("--hardware", hardware), ("--tokens", tokens)) if v is None]
                raise PrfaasError(f"quick mode needs {', '.join(missing)}",
                                  fix="e.g. prfaas scale --model minimax-m2.5 --hardware h200 --tokens 32k")
            L = parse_lengths(tokens, "--tokens")
            if len(L) != 1:
                raise PrfaasError("--tokens takes one length in quick mode", fix="e.g. --tokens 32k")
            head, rows = scale_io.quick(model, hardware, L[0], gpus_per_instance, sizes,
                                        1.0 if burstiness_scv is None else burstiness_scv, target_utilization)
        else:
            from prfaas_plan.scenario_io import load_scenario

            sc, wl, path = load_scenario(scenario, set_ or [])
            head, rows = scale_io.scenario(sc, wl, path, sizes, threshold, burstiness_scv, target_utilization)
        notes = head.pop("notes") + [
            f"link needed = max(mean egress / {target_utilization:g} target utilisation, P99 1-s burst)"]
        data = {**head, "target_utilization": target_utilization, "rows": [r.__dict__ for r in rows], "notes": notes}
        if plot is not None:
            def draw(ax: Any) -> None:
                x = [r.gpus for r in rows]
                ax.loglog(x, [r.egress_gbps for r in rows], "o-", label="egress, Eq. 2")
                if rows[0].egress_gbps_exact is not None:
                    ax.loglog(x, [r.egress_gbps_exact for r in rows], "s--", label="egress, exact")
                if rows[0].p99_1s_gbps is not None:
                    ax.loglog(x, [r.p99_1s_gbps for r in rows], ":", label="P99 over 1 s")
                link = head["link_gbps"]
                if link:
                    ax.axhline(link, color="red", lw=1, label=f"link {link:g} Gbps")
                ax.set_xlabel("PrfaaS cluster size (GPUs)")
                ax.set_ylabel("egress (Gbps)")
                ax.set_title(f"{head['model']} on {head['hardware']}")
                ax.grid(True, which="both", alpha=0.3)
                ax.legend()

            _plot(plot, draw)
        _emit_rows(data, format, output)

    _run(go)


def _emit_rows(data: dict[str, Any], format: Fmt, output: Path | None) -> None:
    from prfaas_plan.report.tables import fmt, rich_table, to_csv, to_json, to_markdown

    if format == Fmt.json:
        _emit(to_json(data), output)
        return
    cols = ["gpus", "instances", "egress_gbps", "egress_gbps_exact", "p99_1s_gbps", "link_gbps_needed"]
    rows = [[r[c] for c in cols] for r in data["rows"]]
    if format == Fmt.csv:
        _emit(to_csv(cols, rows), output)
        return
    hdr = ["GPUs", "instances", "egress Eq.2 (Gbps)", "egress exact (Gbps)", "P99 1 s (Gbps)", "link needed (Gbps)"]
    srows = [[fmt(r[0]), fmt(r[1])] + [fmt(x, ",.1f") if isinstance(x, float) else fmt(x) for x in r[2:]] for r in rows]
    where = data.get("scenario") or f"{data['tokens']:,} tokens"
    title = (f"Egress projection: {data['model']} on {data['gpus_per_instance']}x{data['hardware']} instances, {where} "
             f"(Phi_kv {data['kv_gbps_per_instance']:.2f} Gbps per instance at {data['representative_tokens']:,.0f} tokens)")
    if format == Fmt.markdown:
        _emit(to_markdown(hdr, srows, title) + "".join(f"\n- {n}" for n in data["notes"]) + "\n", output)
        return
    from rich.console import Group
    from rich.text import Text

    _emit(Group(rich_table(hdr, srows, title), *[Text(n, style="dim") for n in data["notes"]]), output)


@app.command()
def compare(
    scenario: Annotated[str | None, typer.Argument(help="scenario name or YAML path (default: prfaas-paper)")] = None,
    prfaas_hardware: Annotated[str | None, typer.Option(help="PrfaaS GPU types (default: the scenario's)")] = None,
    local_hardware: Annotated[str | None, typer.Option(help="local PD GPU types (default: the scenario's)")] = None,
    budget_usd_per_hour: Annotated[float | None, typer.Option(help="hourly budget (default: the scenario's own cost)")] = None,
    gpus_step: Annotated[int | None, typer.Option(
        help="GPU count step (a multiple of the instance size; default one instance)", min=1)] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a scenario field: PATH=VALUE")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    plot: Annotated[Path | None, typer.Option(help="write the Pareto chart (.svg or .png; needs the plot extra)")] = None,
) -> None:
    """Throughput per dollar of GPU mixes within a budget: Pareto front, best mix, best homogeneous.

    Every mix (PrfaaS type and count, local type and count, whole instances) is planned with the
    planner's exact optimiser, vectorised. Prices come from the scenario (for its own GPUs) or the
    catalog, and are printed with their source.

    Examples:

      prfaas compare

      prfaas compare prfaas-paper --prfaas-hardware h200,b200 --local-hardware h20,h100

      prfaas compare --budget-usd-per-hour 400 --format json
    """

    def go() -> None:
        from prfaas_plan.compare_io import run_compare
        from prfaas_plan.report.compare import render_compare
        from prfaas_plan.scenario_io import load_scenario

        sc, wl, path = load_scenario(scenario, set_ or [])
        prf = _names(prfaas_hardware, "--prfaas-hardware")
        loc = _names(local_hardware, "--local-hardware")
        res = run_compare(sc, wl, path, prf, loc, budget_usd_per_hour, gpus_step)
        if plot is not None:
            def draw(ax: Any) -> None:
                ax.scatter([m.cost_usd_per_hour for m in res.mixes], [m.max_throughput_rps for m in res.mixes],
                           s=8, alpha=0.35, label="mixes")
                fr = res.front
                ax.plot([m.cost_usd_per_hour for m in fr], [m.max_throughput_rps for m in fr], "o-", color="C3",
                        label="Pareto front")
                ax.set_xlabel("cost (USD per hour)")
                ax.set_ylabel("Lambda_max (req/s)")
                ax.set_title(f"{sc.name}: throughput against cost")
                ax.grid(True, alpha=0.3)
                ax.legend()

            _plot(plot, draw)
        _emit(render_compare(res, format.value), output)

    _run(go)
