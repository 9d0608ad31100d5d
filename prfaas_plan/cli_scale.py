"""`prfaas scale` (egress projection) and `prfaas compare` (procurement)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.cli import Fmt, _emit, _run, app, parse_lengths
from prfaas_plan.errors import PrfaasError

DEFAULT_GPUS = "32,64,128,256,512,1024,2048,4096,8192,10000"


def _int_list(text: str, flag: str) -> list[int]:
    vals = []
    for part in text.split(","):
        p = part.strip().lower().replace("_", "")
        if not p:
            continue
        mult = 1000 if p.endswith("k") else 1
        try:
            v = float(p[:-1] if p.endswith("k") else p) * mult
        except ValueError:
            raise PrfaasError(f"{flag}: '{part}' is not a GPU count", fix=f"use e.g. {flag} 32,512,10000") from None
        if not (v >= 1 and v == int(v) and v <= 10_000_000):
            raise PrfaasError(f"{flag}: '{part}' must be a whole number of GPUs >= 1", fix=f"use e.g. {flag} 32,512,10000")
        vals.append(int(v))
    if not vals:
        raise PrfaasError(f"{flag} is empty", fix=f"use e.g. {flag} 32,512,10000")
    return sorted(set(vals))


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
        import numpy as np

        from prfaas_plan import catalog
        from prfaas_plan.plan.scale import project

        sizes = _int_list(gpus, "--gpus")
        quick = model is not None or hardware is not None or tokens is not None
        notes: list[str] = []
        if quick:
            if scenario is not None:
                raise PrfaasError("give either a SCENARIO or --model/--hardware/--tokens, not both")
            missing = [f for f, v in (("--model", model), ("--hardware", hardware), ("--tokens", tokens)) if v is None]
            if missing:
                raise PrfaasError(f"quick mode needs {', '.join(missing)}",
                                  fix="e.g. prfaas scale --model minimax-m2.5 --hardware h200 --tokens 32k")
            from prfaas_plan.perf.api import kv_throughput
            from prfaas_plan.plan.feasibility import check_weights_fit

            assert model is not None and hardware is not None and tokens is not None
            m, hw = catalog.load_model(model), catalog.load_hardware(hardware)
            L = parse_lengths(tokens)
            if len(L) != 1:
                raise PrfaasError("--tokens takes one length in quick mode", fix="e.g. --tokens 32k")
            check_weights_fit(m, hw, gpus_per_instance, "--hardware")
            k = kv_throughput(m, hw, gpus_per_instance, L)
            S, T = float(k.kv_bytes[0]), float(k.prefill_s[0])
            gpi = gpus_per_instance
            rows = project(sizes, gpi, S, T, S, T, None, 1.0 if burstiness_scv is None else burstiness_scv,
                           target_utilization, exact=False)
            head = {"mode": "quick", "model": m.name, "hardware": hw.name, "gpus_per_instance": gpi,
                    "tokens": L[0], "kv_gbps_per_instance": 8 * S / T / 1e9, "prefill_s": T,
                    "representative_tokens": L[0]}
            notes.append("roofline prefill time; egress assumes every instance always prefilling (Eq. 2)")
        else:
            from prfaas_plan.plan.planner import make_plan
            from prfaas_plan.scenario_io import build_inputs, load_scenario

            sc, wl, path = load_scenario(scenario, set_ or [])
            if sc.prfaas is None:
                raise PrfaasError(f"{path}: the scenario has no prfaas cluster to project",
                                  fix="add a prfaas: block, or use quick mode (--model --hardware --tokens)")
            inp, info = build_inputs(sc, wl, path, False, None)
            rm = inp.route
            assert rm.t_prfaas is not None and rm.prfaas_profile is not None
            if threshold is None:
                rep = make_plan(inp)
                assert rep.prfaas_pd is not None
                t = rep.prfaas_pd.threshold_tokens
                j = int(np.searchsorted(rm.atoms, t, side="right")) if t is not None else (
                    0 if rep.prfaas_pd.offload_fraction > 0.5 else len(rm.atoms))
            else:
                t = threshold
                j = int(np.searchsorted(rm.atoms, t, side="right"))
            if j >= len(rm.atoms):
                raise PrfaasError(f"{path}: no request is routed to PrfaaS at threshold {t} tokens",
                                  fix="lower --threshold, or check the scenario with `prfaas plan`")
            routed = rm.atoms[j:]
            S_r, T_r = rm.kv_bytes[j:], rm.t_prfaas[j:]
            lbar = float(routed.mean())
            S_rep = float(rm.kv_profile(np.array([lbar]))[0])
            T_rep = float(rm.prfaas_profile(np.array([lbar]))[0])
            from prfaas_plan.plan.latency import thinned_scv

            p = len(routed) / len(rm.atoms)
            scv = thinned_scv(wl.arrival.burstiness_scv if burstiness_scv is None else burstiness_scv, p)
            gpi = sc.prfaas.gpus_per_instance
            rows = project(sizes, gpi, float(S_r.mean()), float(T_r.mean()), S_rep, T_rep, S_r, scv,
                           target_utilization, exact=True)
            head = {"mode": "scenario", "scenario": sc.name, "model": info["model"], "hardware": sc.prfaas.hardware,
                    "gpus_per_instance": gpi, "threshold_tokens": t, "offload_fraction": p,
                    "representative_tokens": lbar, "kv_gbps_per_instance": 8 * S_rep / T_rep / 1e9,
                    "prefill_profile": info.get("prfaas_profile")}
            notes.append(f"routed lengths: uncached length > {t:,.0f} tokens ({p:.1%} of requests); "
                         f"arrival SCV after routing {scv:.2f}")
        bad = [g for g in sizes if g < gpi]
        if bad:
            raise PrfaasError(f"--gpus: {bad[0]} GPUs is less than one {gpi}-GPU instance",
                              fix=f"use cluster sizes of at least {gpi} GPUs")
        notes.append(f"link needed = max(mean egress / {target_utilization:g} target utilisation, P99 1-s burst)")
        data = {**head, "target_utilization": target_utilization,
                "rows": [r.__dict__ for r in rows], "notes": notes}
        if plot is not None:
            def draw(ax: Any) -> None:
                x = [r.gpus for r in rows]
                ax.loglog(x, [r.egress_gbps for r in rows], "o-", label="egress, Eq. 2")
                if rows[0].egress_gbps_exact is not None:
                    ax.loglog(x, [r.egress_gbps_exact for r in rows], "s--", label="egress, exact")
                if rows[0].p99_1s_gbps is not None:
                    ax.loglog(x, [r.p99_1s_gbps for r in rows], ":", label="P99 over 1 s")
                link = sc.link.bandwidth_gbps * sc.link.usable_fraction if not quick else None
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
