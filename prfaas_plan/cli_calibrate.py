"""`prfaas calibrate` and `prfaas validate` commands."""

from __future__ import annotations

import datetime as _dt
import sys
from enum import Enum
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
        from prfaas_plan.errors import PrfaasError
        from prfaas_plan.measurements import read_many
        from prfaas_plan.perf import calibration as cal

        meas = read_many([str(p) for p in measurements])
        host_cpu = hardware.strip().lower() == "cpu"
        if host_cpu:
            if paper_prefill or system_from:
                raise PrfaasError("--hardware cpu fits kernels only", fix="drop --paper-prefill / --system-from")
            import yaml

            from prfaas_plan.profiler.backends import CpuBackend

            # cores and memory: the profiler's sidecar, else this machine's (calibrating where it profiled)
            spec = cal.fit_host_cpu(meas, _sidecar(measurements[0]) or CpuBackend.host_facts())
            _emit(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False, width=100), output)
            _report_fit(spec.efficiency)
            return
        hw = _load_hw(hardware, None)
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
        _report_fit(eff)

    _run(go)


def _sidecar(csv_path: Path) -> dict[str, Any] | None:
    """The profiler's NAME.meta.yaml next to a measurement file, if any (unreadable: ignored)."""
    from prfaas_plan.catalog import read_yaml
    from prfaas_plan.errors import PrfaasError
    from prfaas_plan.profiler.runner import sidecar_path

    p = sidecar_path(csv_path)
    if not p.is_file():
        return None
    try:
        data = read_yaml(p)
    except PrfaasError:  # a corrupt sidecar only loses the labels (CPU name, core count)
        return None
    return data if isinstance(data, dict) else None


def _report_fit(eff: Any) -> None:
    res = eff.fit_residuals or {}
    parts = [f"{k.replace('/median_ape', '')} {v:.1%}" for k, v in res.items()]
    sys.stderr.write("fit median APE: " + ", ".join(parts) + "\n")


@app.command()
def validate(
    measurements: Annotated[list[Path], typer.Argument(help="measurement CSV files")],
    hardware: Annotated[str, typer.Option("--hardware", "-H")] = ...,  # type: ignore[assignment]
    calibration: Annotated[Path | None, typer.Option(help="calibration YAML")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Predicted vs measured kernel latency: MAPE, median and P90 APE, bias per op class, worst rows.

    Errors are fractions of the measured latency (predicted / measured - 1); bias is the median
    signed error. The JSON adds "worst": the five rows with the largest error.

    Examples:

      prfaas validate --hardware h200 h200-sglang-0.5.9.csv

      prfaas validate --hardware h20 --format json h20.csv
    """

    def go() -> None:
        from prfaas_plan.measurements import read_many
        from prfaas_plan.perf.calibration import error_stats, predict, worst_rows
        from prfaas_plan.report.tables import rich_table, to_csv, to_json, to_markdown

        hw = _load_hw(hardware, calibration)
        meas = read_many([str(p) for p in measurements])
        pred = predict(hw, meas)
        groups, overall = error_stats(pred, meas)
        worst = worst_rows(pred, meas)
        data = {
            "hardware": hw.name, "rows": len(meas),
            "summary": [g.__dict__ for g in groups], "overall": overall, "worst": worst,
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
        wcols = ["worst rows: op", "dtype", "shape", "measured ms", "predicted ms", "error"]
        wrows = [[w["op"], w["dtype"], w["shape"], f"{w['measured_ms']:.4g}", f"{w['predicted_ms']:.4g}",
                  f"{w['error'] * 100:+.0f}%"] for w in worst]
        if format.value == "markdown":
            _emit(to_markdown(cols, srows, title) + "\n" + to_markdown(wcols, wrows), output)
            return
        from rich.console import Group

        _emit(Group(rich_table(cols, srows, title), rich_table(wcols, wrows)), output)

    _run(go)


class Device(str, Enum):
    auto = "auto"
    cuda = "cuda"
    cpu = "cpu"


@app.command()
def profile(
    device: Annotated[Device, typer.Option(help="auto: CUDA when PyTorch sees a GPU, else the CPU")] = Device.auto,
    model: Annotated[str | None, typer.Option(help="add this model's per-GPU GEMM and attention shapes")] = None,
    gpus: Annotated[int, typer.Option(help="with --model: GPUs per instance (tensor/expert-parallel degree)",
                                      min=1, max=1024)] = 8,
    quick: Annotated[bool, typer.Option(help="the quick suite (about a minute on a CPU)")] = False,
    smoke: Annotated[bool, typer.Option(help="a few tiny shapes: checks the pipeline in seconds, not for calibration")] = False,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write; the sidecar is NAME.meta.yaml")] =
        Path("measurements.csv"),
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Time a fixed kernel suite on this machine: GEMMs, prefill and decode attention, a copy.

    Writes the measurement CSV (the schema `calibrate` and `validate` read) and a sidecar
    NAME.meta.yaml (device, driver and library versions, date, tool version, protocol).

    Examples:

      prfaas profile --device cpu --quick -o cpu.csv

      prfaas profile --model minimax-m2.5 -o h200-mine.csv

      prfaas calibrate --hardware cpu cpu.csv -o cpu.yaml && prfaas validate --hardware cpu.yaml cpu.csv
    """

    def go() -> None:
        from prfaas_plan import catalog
        from prfaas_plan.errors import PrfaasError
        from prfaas_plan.fileio import atomic_write_text
        from prfaas_plan.profiler.backends import select_backend
        from prfaas_plan.profiler.runner import meta_yaml, run_profile, sidecar_path, to_csv
        from prfaas_plan.profiler.suite import build_suite

        if quick and smoke:
            raise PrfaasError("give --quick or --smoke, not both")
        suite = "smoke" if smoke else "quick" if quick else "full"
        m = catalog.load_model(model) if model else None
        if output.suffix.lower() != ".csv":
            raise PrfaasError(f"--output {output}: the measurement file must end in .csv", fix="e.g. -o measurements.csv")
        if not output.parent.exists():
            raise PrfaasError(f"--output {output}: folder {output.parent} does not exist", fix="create it first")
        backend, note = select_backend(device.value)
        if note:
            sys.stderr.write(f"note: {note}\n")
        cases = build_suite(backend.name, suite, list(backend.dtypes), m, gpus)
        res = run_profile(backend, cases, suite, progress and sys.stderr.isatty())
        if not res.rows:
            raise PrfaasError("every case was skipped (out of memory): nothing to write", fix="free device memory")
        csv_text, meta_text = to_csv(res.rows), meta_yaml(backend, suite, model, gpus, res)  # both before either is written
        atomic_write_text(output, csv_text)
        atomic_write_text(sidecar_path(output), meta_text)
        sys.stderr.write(f"{len(res.rows)} kernels timed on {backend.name} in {res.seconds:.1f} s"
                         + (f", {len(res.skipped)} skipped" if res.skipped else "")
                         + f": {output} (+ {sidecar_path(output).name})\n")

    _run(go)
