"""`prfaas catalog` and `prfaas models import`: catalog entries for the report, and a model YAML
from a Hugging Face config.json."""

from __future__ import annotations

from pathlib import Path

from prfaas_plan.catalog import Catalog
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec


def hardware_entries(name: str | None) -> list[HardwareSpec]:
    cat = Catalog()
    return [cat.hardware(n) for n in ([name] if name else cat.names("hardware"))]


def model_entries(name: str | None) -> list[ModelSpec]:
    cat = Catalog()
    return [cat.model(n) for n in ([name] if name else cat.names("models"))]


def import_model(config_json: Path, name: str | None) -> str:
    from prfaas_plan.io.hf_config import import_config

    return import_config(config_json, name)
