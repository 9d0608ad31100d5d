"""Calibration files: an `efficiency` block plus provenance (inputs and fit error).

Format (YAML): {hardware: str, efficiency: {...same as the catalog block...},
inputs: [paths], fit: {"<op>/<dtype>/median_ape": f, ...}, system_fit: {...} | null}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from prfaas_plan.catalog import read_yaml, validate_data
from prfaas_plan.specs.base import StrictModel
from prfaas_plan.specs.hardware import Efficiency, HardwareSpec


class CalibrationFile(StrictModel):
    hardware: str
    efficiency: Efficiency
    inputs: list[str] = Field(default_factory=list)
    system_fit: dict[str, Any] | None = None
    tool_version: str | None = None
    created: str | None = None


def apply_calibration(hw: HardwareSpec, path: Path) -> HardwareSpec:
    cal = validate_data(CalibrationFile, read_yaml(path), str(path))
    return hw.model_copy(update={"efficiency": cal.efficiency})


def dump_calibration(cal: CalibrationFile) -> str:
    import yaml

    return yaml.safe_dump(cal.model_dump(mode="json", exclude_none=True), sort_keys=False, width=100)
