"""`prfaas calibrate`, `prfaas validate` and `prfaas profile`: fit a GPU's efficiency block to
measured kernels (and optionally the paper's end-to-end prefill figures), score the roofline
against measurements, and time the kernel suite on this machine. Each returns the text or data
the CLI writes; nothing here writes files."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prfaas_plan.catalog import Catalog
from prfaas_plan.commands.kv import load_gpu
from prfaas_plan.errors import PrfaasError
from prfaas_plan.specs.hardware import Efficiency


@dataclass
class Calibration:
    text: str  # the YAML to write (a calibration file, or a host-CPU hardware entry)
    efficiency: Efficiency
    at_bound: tuple[str, ...] = ()  # fitted engine parameters at a bound of their fit (flagged, not hidden)


def _sidecar(csv_path: Path) -> dict[str, Any] | None:
    """The profiler's NAME.meta.yaml next to a measurement file, if any (unreadable: ignored)."""
    from prfaas_plan.io.yamlfile import read_yaml
    from prfaas_plan.profiler.runner import sidecar_path

    p = sidecar_path(csv_path)
    if not p.is_file():
        return None
    try:
        data = read_yaml(p)
    except PrfaasError:  # a corrupt sidecar only loses the labels (CPU name, core count)
        return None
    return data if isinstance(data, dict) else None


def _host_cpu(measurements: list[Path], meas: Any) -> Calibration:
    import yaml

    from prfaas_plan.perf import calibration as cal
    from prfaas_plan.profiler.backends import CpuBackend

    # cores and memory: the profiler's sidecar, else this machine's (calibrating where it profiled)
    spec = cal.fit_host_cpu(meas, _sidecar(measurements[0]) or CpuBackend.host_facts())
    return Calibration(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False, width=100),
                       spec.efficiency)


def run_calibrate(measurements: list[Path], hardware: str, paper_prefill: bool, system_from: str | None) -> Calibration:
    from prfaas_plan import __version__
    from prfaas_plan.assemble.calibration import paper_targets
    from prfaas_plan.io.calibration import dump_calibration
    from prfaas_plan.io.measurements import read_many
    from prfaas_plan.perf import calibration as cal
    from prfaas_plan.specs.calibration import CalibrationFile

    meas = read_many([str(p) for p in measurements])
    if hardware.strip().lower() == "cpu":
        if paper_prefill or system_from:
            raise PrfaasError("--hardware cpu fits kernels only", fix="drop --paper-prefill / --system-from")
        return _host_cpu(measurements, meas)
    cat = Catalog()
    hw = cat.hardware(hardware)
    eff = cal.fit_kernels(hw, meas, "prfaas calibrate on " + ", ".join(Path(f).name for f in meas.files))
    system: dict[str, Any] | None = None
    flagged: tuple[str, ...] = ()
    if system_from:
        other = cat.hardware(system_from).efficiency
        eff = eff.model_copy(update={k: getattr(other, k) for k in cal.SYSTEM_PARAMS})
        system = {"copied_from": system_from}
    if paper_prefill:
        targets, free = paper_targets(cat, hw.name)
        eff, rel = cal.fit_system(hw.model_copy(update={"efficiency": eff}), targets, free)
        system = {t.label: round(float(r), 4) for t, r in zip(targets, rel, strict=True)}
        flagged = tuple(cal.at_bounds(eff, tuple(free)))
        if flagged:
            system["AT_BOUND"] = "; ".join(flagged)
        if system_from:
            system["copied_from"] = system_from
    out = CalibrationFile(hardware=hw.name, efficiency=eff, inputs=meas.files, system_fit=system,
                          tool_version=__version__, created=_dt.date.today().isoformat())
    return Calibration(dump_calibration(out), eff, tuple(eff.fit_at_bounds or ()) + flagged)


def run_validate(measurements: list[Path], hardware: str, calibration: Path | None) -> dict[str, Any]:
    """{"hardware", "rows", "summary": [per op/dtype stats], "overall", "worst": five worst rows,
    "below_floor": rows measured faster than the GPU's physical floor (left out of the statistics,
    `perf.floors`), "summary_with_below_floor": the affected groups' stats with them, "source"}."""
    from prfaas_plan.io.measurements import read_many
    from prfaas_plan.perf.calibration import error_stats, predict, shape_label, worst_rows
    from prfaas_plan.perf.floors import below_floor, physical_floor

    hw = load_gpu(Catalog(), hardware, calibration)
    meas = read_many([str(p) for p in measurements])
    pred = predict(hw, meas)
    floor = physical_floor(hw, meas)
    bad = below_floor(hw, meas, floor)  # every row below: an error, not an empty mean
    ok = ~bad
    groups, overall = error_stats(pred[ok], meas.select(ok))
    below = [{"op": str(meas.op[i]), "dtype": str(meas.dtype[i]), "shape": shape_label(meas, int(i)),
              "measured_ms": float(meas.latency_s[i] * 1e3), "floor_ms": float(floor[i] * 1e3),
              "predicted_ms": float(pred[i] * 1e3)} for i in np.flatnonzero(bad)]
    with_bad = [g.__dict__ for g in error_stats(pred, meas)[0]
                if any(g.op.split("[")[0] == b["op"] and g.dtype == b["dtype"] for b in below)]
    return {"hardware": hw.name, "rows": int(ok.sum()), "summary": [g.__dict__ for g in groups], "overall": overall,
            "worst": worst_rows(pred[ok], meas.select(ok)), "below_floor": below,
            "summary_with_below_floor": with_bad, "source": hw.efficiency.source}


@dataclass
class Profile:
    csv_text: str
    meta_text: str
    rows: int
    seconds: float
    backend: str
    skipped: list[Any] = field(default_factory=list)


def measurement_csv(rows: list[dict[str, Any]]) -> str:
    """Rows in the measurement schema's column order (latency to 6 significant digits)."""
    from prfaas_plan.report.tables import to_csv
    from prfaas_plan.specs.measurements import REQUIRED

    return to_csv(REQUIRED, [[f"{r['latency_ms']:.6g}" if k == "latency_ms" else r.get(k) for k in REQUIRED]
                             for r in rows])


# typical wall time of a suite on a CPU (idle 2-core machine, README "Profiler"); under load, several times more
CPU_SUITE_SECONDS = {"smoke": 3, "quick": 25, "full": 300}


def _profile_gpus(m: Any, gpus: int | None) -> int:
    """--gpus sizes the model's per-GPU shapes: without --model it would be ignored, and a degree the
    model's heads do not split over failed after the kernels were timed (a numpy reshape error)."""
    from prfaas_plan.perf.ops import instance_recipe
    from prfaas_plan.specs.model import model_errors

    if m is None:
        if gpus is not None:
            raise PrfaasError("--gpus sizes the per-GPU shapes of --model's layers; without --model the suite is "
                              "the fixed kernel set", fix="add --model M, or drop --gpus")
        return 8
    gpus = 8 if gpus is None else gpus
    try:
        errs = model_errors(m, instance_recipe(m, gpus))
    except ValueError as exc:
        errs = [("gpus", str(exc), "use a GPU count the model's recipe divides (e.g. 8)")]
    if errs:
        field, problem, fix = errs[0]
        raise PrfaasError(f"--gpus {gpus}: {m.name}: {problem}", fix=fix)
    return gpus


def run_profile(device: str, model: str | None, gpus: int | None, quick: bool, smoke: bool, output: Path,
                progress: bool, on_note: Any = None, log: Any = None) -> Profile:
    """Checks both output paths first (the CSV and its sidecar), then times the suite; both files'
    texts are built before either is written. `on_note(text)` hears the backend's note (e.g. no GPU,
    timing the CPU) and the time estimate before the run; `log(text)` gets plain progress lines."""
    from prfaas_plan.io.files import check_output
    from prfaas_plan.profiler.backends import select_backend
    from prfaas_plan.profiler.runner import meta_yaml, sidecar_path
    from prfaas_plan.profiler.runner import run_profile as run_suite
    from prfaas_plan.profiler.suite import build_suite

    if quick and smoke:
        raise PrfaasError("give --quick or --smoke, not both", fix="drop one of them")
    suite = "smoke" if smoke else "quick" if quick else "full"
    m = Catalog().model(model) if model else None
    gpus = _profile_gpus(m, gpus)
    if output.suffix.lower() != ".csv":
        raise PrfaasError(f"--output {output}: the measurement file must end in .csv", fix="e.g. -o measurements.csv")
    check_output(output)
    check_output(sidecar_path(output), "--output (sidecar)")
    backend, note = select_backend(device)
    if note and on_note is not None:
        on_note(note)
    if backend.name == "cpu" and on_note is not None:
        on_note(f"the {suite} suite takes about {CPU_SUITE_SECONDS[suite]} s on an idle 2-core CPU, several times "
                "longer on a loaded machine")
    cases = build_suite(backend.name, suite, list(backend.dtypes), m, gpus)
    res = run_suite(backend, cases, suite, progress, log)
    if not res.rows:
        raise PrfaasError("every case was skipped (out of memory): nothing to write", fix="free device memory")
    return Profile(measurement_csv(res.rows), meta_yaml(backend, suite, model, gpus, res), len(res.rows), res.seconds,
                   backend.name, list(res.skipped))
