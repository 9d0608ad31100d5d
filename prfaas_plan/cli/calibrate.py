"""`prfaas calibrate` and `prfaas validate` commands."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.cli.common import Fmt, emit, out_format, run


def calibrate(
    ctx: typer.Context,
    measurements: Annotated[list[Path], typer.Argument(help="measurement CSV files")],
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="GPU name or YAML path")] = ...,  # type: ignore[assignment]
    paper_prefill: Annotated[bool, typer.Option(
        help="also fit the engine's latency terms on the paper's end-to-end prefill figures: Tables 3+5 for "
        "h200 (request and per-forward overheads, per-layer host floor), Table 6's homogeneous-PD column for h20 "
        "(the two overheads)")] = False,
    system_from: Annotated[str | None, typer.Option(help="copy engine-level parameters from this GPU's catalog entry")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Fit a GPU's kernel efficiency parameters to measurements (least squares on relative error).

    Examples:

      prfaas calibrate --hardware h200 --paper-prefill h200.csv -o h200-cal.yaml

      prfaas calibrate --hardware h20 --system-from h200 --paper-prefill h20.csv
    """

    def go() -> None:
        from prfaas_plan.commands.calibrate import run_calibrate

        res = run_calibrate(measurements, hardware, paper_prefill, system_from)
        emit(res.text, output)
        _report_fit(res.efficiency)
        for flag in res.at_bound:
            sys.stderr.write(f"WARNING: {flag} sits at a bound of its fit: it absorbs what the model misses "
                             "or the data cannot place it (README, Accuracy)\n")

    run(go, ctx)


def _report_fit(eff: Any) -> None:
    res = eff.fit_residuals or {}
    parts = [f"{k.replace('/median_ape', '')} {v:.1%}" for k, v in res.items()]
    sys.stderr.write("fit median APE: " + ", ".join(parts) + "\n")


def validate(
    ctx: typer.Context,
    measurements: Annotated[list[Path], typer.Argument(help="measurement CSV files")],
    hardware: Annotated[str, typer.Option("--hardware", "-H")] = ...,  # type: ignore[assignment]
    calibration: Annotated[Path | None, typer.Option(help="calibration YAML")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Predicted vs measured kernel latency: MAPE, median and P90 APE, bias per op class, worst rows.

    Errors are fractions of the measured latency (predicted / measured - 1); bias is the median
    signed error. The JSON adds "worst": the five rows with the largest error. Rows measured faster
    than the GPU's physical floor (the op's irreducible FLOPs or HBM traffic at the datasheet peak)
    cannot be the shape they describe: they are listed ("below_floor") and left out of the figures.

    Examples:

      prfaas validate --hardware h200 h200-sglang-0.5.9.csv

      prfaas validate --hardware h20 --format json h20.csv
    """

    def go() -> None:
        from prfaas_plan.commands.calibrate import run_validate
        from prfaas_plan.report.validate import render_validate

        emit(render_validate(run_validate(measurements, hardware, calibration), out_format(ctx)), output)

    run(go, ctx)


class Device(str, Enum):
    auto = "auto"
    cuda = "cuda"
    cpu = "cpu"


def profile(
    ctx: typer.Context,
    device: Annotated[Device, typer.Option(help="auto: CUDA when PyTorch sees a GPU, else the CPU")] = Device.auto,
    model: Annotated[str | None, typer.Option(help="add this model's per-GPU GEMM and attention shapes")] = None,
    gpus: Annotated[int | None, typer.Option(help="with --model: GPUs per instance (tensor/expert-parallel "
                                             "degree; default 8)", min=1, max=1024)] = None,
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
        from prfaas_plan.commands.calibrate import run_profile
        from prfaas_plan.io.files import atomic_write_many
        from prfaas_plan.profiler.runner import sidecar_path

        tty = sys.stderr.isatty()
        res = run_profile(device.value, model, gpus, quick, smoke, output, progress and tty,
                          on_note=lambda note: sys.stderr.write(f"note: {note}\n"),
                          log=sys.stderr.write if progress and not tty else None)
        atomic_write_many([(output, lambda t: t.write_text(res.csv_text, encoding="utf-8")),
                           (sidecar_path(output), lambda t: t.write_text(res.meta_text, encoding="utf-8"))])
        sys.stderr.write(f"{res.rows} kernels timed on {res.backend} in {res.seconds:.1f} s"
                         + (f", {len(res.skipped)} skipped" if res.skipped else "")
                         + f": {output} (+ {sidecar_path(output).name})\n")

    run(go, ctx)
