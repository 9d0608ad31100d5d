"""`prfaas calibrate` and `prfaas validate` commands."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.cli import Fmt, _emit, _load_hw, _run, app


@app.command()
def calibrate(
    measurements: Annotated[list[Path], typer.Argument(help="measurement CSV files")],
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="GPU name or YAML path")] = ...,  # type: ignore[assignment]
    paper_prefill: Annotated[bool, typer.Option(
        help="also fit engine overheads on the paper's end-to-end prefill figures: Tables 3+5 for h200, "
        "Table 6's homogeneous-PD column for h20")] = False,
    system_from: Annotated[str | None, typer.Option(help="copy engine-level parameters from this GPU's catalog entry")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Fit a GPU's kernel efficiency parameters to measurements (least squares on relative error).

    Examples:

      prfaas calibrate --hardware h200 --paper-prefill h200.csv -o h200-cal.yaml

      prfaas calibrate --hardware h20 --system-from h200 --paper-prefill h20.csv
    """

    def go() -> None:
        from prfaas_plan import __version__, catalog
        from prfaas_plan.calibration_io import CalibrationFile, dump_calibration
        from prfaas_plan.measurements import read_many
        from prfaas_plan.perf import calibration as cal

        hw = _load_hw(hardware, None)
        meas = read_many([str(p) for p in measurements])
        eff = cal.fit_kernels(hw, meas, "prfaas calibrate on " + ", ".join(Path(f).name for f in meas.files))
        system: dict[str, Any] | None = None
        if system_from:
            other = catalog.load_hardware(system_from).efficiency
            eff = eff.model_copy(update={k: getattr(other, k) for k in cal.SYSTEM_PARAMS})
            system = {"copied_from": system_from}
        if paper_prefill:
            hw2 = hw.model_copy(update={"efficiency": eff})
            targets, free = paper_targets(hw.name)
            eff, rel = cal.fit_system(hw2, targets, free)
            system = {t.label: round(float(r), 4) for t, r in zip(targets, rel, strict=True)}
            if system_from:
                system["copied_from"] = system_from
        out = CalibrationFile(
            hardware=hw.name, efficiency=eff, inputs=meas.files, system_fit=system,
            tool_version=__version__, created=_dt.date.today().isoformat(),
        )
        _emit(dump_calibration(out), output)

    _run(go)


def paper_targets(hardware: str = "h200") -> tuple[list[Any], tuple[str, ...]]:
    """The paper's end-to-end prefill figures for this GPU and which engine parameters they fit.

    h200: Tables 3 and 5 (15 points, three models) fit all three engine parameters.
    h20: Table 6's homogeneous-PD column (mean and P90 TTFT, Theta_pdp) fits the request and
    per-forward overheads; the MoE effective-rows factor stays as copied (--system-from).
    """
    from prfaas_plan import catalog
    from prfaas_plan.errors import PrfaasError
    from prfaas_plan.perf import paper_targets as pt
    from prfaas_plan.perf.calibration import SYSTEM_PARAMS, PrefillTarget
    from prfaas_plan.perf.kv import kv_bytes

    if hardware == "h20":
        import numpy as np

        from prfaas_plan.plan.dist import TruncLogNormal

        m = catalog.load_model(pt.TABLE5_MODEL)
        d = TruncLogNormal(**pt.TABLE6_LOGNORMAL)
        n = 400
        atoms = d.ppf((np.arange(n) + 0.5) / n)
        rep = float(d.mean)
        ttft = pt.TABLE6_HOMOGENEOUS_TTFT_S
        hp = pt.TABLE6_HOMOGENEOUS_PREFILL
        g = pt.TABLE6_LOCAL_GPUS
        return [
            PrefillTarget(m, g, atoms, ttft["mean"], "table6/homogeneous/mean_ttft", np.full(n, 1.0 / n)),
            PrefillTarget(m, g, float(np.ravel(d.ppf(0.9))[0]), ttft["p90"], "table6/homogeneous/p90_ttft"),
            PrefillTarget(m, g, rep, hp["instances"] / hp["theta_rps"], "table6/homogeneous/theta_pdp@mean_length"),
        ], ("request_overhead_s", "forward_overhead_s")
    if hardware != "h200":
        raise PrfaasError(f"--paper-prefill: the paper publishes end-to-end prefill figures for h200 and h20 only, "
                          f"not {hardware!r}; drop --paper-prefill or use --system-from")
    out: list[Any] = []
    for name, gbps in pt.TABLE3_KV_GBPS.items():
        m = catalog.load_model(name)
        S = kv_bytes(m, pt.TABLE3_TOKENS)
        for tok, s, gb in zip(pt.TABLE3_TOKENS, S, gbps, strict=True):
            out.append(PrefillTarget(m, pt.PAPER_GPUS, tok, float(s) * 8 / (gb * 1e9), f"table3/{name}@{tok}"))
    m = catalog.load_model(pt.TABLE5_MODEL)
    for tok, sec in zip(pt.TABLE5_TOKENS, pt.TABLE5_PREFILL_S, strict=True):
        out.append(PrefillTarget(m, pt.PAPER_GPUS, tok, sec, f"table5/{pt.TABLE5_MODEL}@{tok}"))
    return out, SYSTEM_PARAMS


@app.command()
def validate(
    measurements: Annotated[list[Path], typer.Argument(help="measurement CSV files")],
    hardware: Annotated[str, typer.Option("--hardware", "-H")] = ...,  # type: ignore[assignment]
    calibration: Annotated[Path | None, typer.Option(help="calibration YAML")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Predicted vs measured kernel latency: MAPE, median and P90 APE, bias per op class.

    Examples:

      prfaas validate --hardware h200 h200-sglang-0.5.9.csv

      prfaas validate --hardware h20 --format json h20.csv
    """

    def go() -> None:
        from prfaas_plan.measurements import read_many
        from prfaas_plan.perf.calibration import error_stats, predict
        from prfaas_plan.report.tables import rich_table, to_csv, to_json, to_markdown

        hw = _load_hw(hardware, calibration)
        meas = read_many([str(p) for p in measurements])
        groups, overall = error_stats(predict(hw, meas), meas)
        data = {
            "hardware": hw.name, "rows": len(meas),
            "summary": [g.__dict__ for g in groups], "overall": overall,
        }
        if format.value == "json":
            _emit(to_json(data), output)
            return
        cols = ["op", "dtype", "count", "MAPE", "median APE", "P90 APE", "bias"]
        rows = [[g.op, g.dtype, g.count, g.mape, g.median_ape, g.p90_ape, g.bias] for g in groups]
        rows.append(["overall", "", len(meas), overall["mape"], overall["median_ape"], None, None])
        if format.value == "csv":
            _emit(to_csv(cols, rows), output)
            return
        def pct(x: object) -> str:
            return "-" if not isinstance(x, int | float) else f"{x * 100:.1f}%"

        srows = [[str(r[0]), str(r[1]), str(r[2])] + [pct(x) for x in r[3:]] for r in rows]
        title = f"{hw.name}: roofline vs {len(meas)} measured kernels ({hw.efficiency.source})"
        _emit(to_markdown(cols, srows, title) if format.value == "markdown" else rich_table(cols, srows, title), output)

    _run(go)
