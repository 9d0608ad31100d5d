"""Reading and writing calibration files (`specs.calibration.CalibrationFile`)."""

from __future__ import annotations

from pathlib import Path

from prfaas_plan.io.yamlfile import read_yaml, validate_data
from prfaas_plan.specs.calibration import CalibrationFile


def read_calibration(path: Path) -> CalibrationFile:
    return validate_data(CalibrationFile, read_yaml(path), str(path))


def dump_calibration(cal: CalibrationFile) -> str:
    import yaml

    return yaml.safe_dump(cal.model_dump(mode="json", exclude_none=True), sort_keys=False, width=100)
