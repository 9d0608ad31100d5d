"""Catalogs: finds, loads and validates the YAML catalogs (GPUs, models, workloads, scenarios) and
returns specs. No global state: build a `Catalog` and pass it down; a calibration file reaches
the core as `Catalog.with_hardware({...})`, never by patching.

To add a GPU or a model: drop a YAML file into `hardware/` or `models/` at the repository root
(shipped in the wheel as `prfaas_plan/_data/`); `prfaas schema hardware|model` prints its schema.
`load_hardware` / `load_model` are conveniences for one-off lookups (tests, scripts) on a fresh
catalog; commands keep one `Catalog` for the whole run.
"""

from __future__ import annotations

from prfaas_plan.catalog.store import KINDS, Catalog, bandwidth_trace_path, catalog_dir, looks_like_path
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec

__all__ = ["KINDS", "Catalog", "bandwidth_trace_path", "catalog_dir", "catalog_names", "load_hardware", "load_model",
           "looks_like_path"]


def load_hardware(ref: str) -> HardwareSpec:
    return Catalog().hardware(ref)


def load_model(ref: str) -> ModelSpec:
    return Catalog().model(ref)


def catalog_names(kind: str) -> tuple[str, ...]:
    return Catalog().names(kind)
