"""JSON Schemas of the file kinds, for `prfaas schema` and editor validation."""

from __future__ import annotations

from typing import Any

from prfaas_plan.errors import PrfaasError


def schema_for(kind: str) -> dict[str, Any]:
    from prfaas_plan.specs.calibration import CalibrationFile
    from prfaas_plan.specs.hardware import HardwareSpec
    from prfaas_plan.specs.model import ModelSpec
    from prfaas_plan.specs.scenario import ScenarioSpec
    from prfaas_plan.specs.workload import WorkloadSpec

    kinds: dict[str, Any] = {
        "scenario": ScenarioSpec, "workload": WorkloadSpec, "hardware": HardwareSpec,
        "model": ModelSpec, "calibration": CalibrationFile,
    }
    if kind not in kinds:
        raise PrfaasError(f"unknown schema kind '{kind}'", fix=f"use one of {', '.join(kinds)}")
    return dict(kinds[kind].model_json_schema())
