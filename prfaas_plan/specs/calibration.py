"""Calibration files: an `efficiency` block plus provenance (inputs and fit error).

Format (YAML): {hardware: str, efficiency: {...same as the catalog block...},
inputs: [paths], fit: {"<op>/<dtype>/median_ape": f, ...}, system_fit: {...} | null}
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from prfaas_plan.specs.base import StrictModel
from prfaas_plan.specs.hardware import Efficiency


class CalibrationFile(StrictModel):
    hardware: str
    efficiency: Efficiency
    inputs: list[str] = Field(default_factory=list)
    system_fit: dict[str, Any] | None = None
    tool_version: str | None = None
    created: str | None = None
