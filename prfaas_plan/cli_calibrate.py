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
        from prfaas_plan.calibration_io import CalibrationFile, dump_calibration, paper_targets
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
