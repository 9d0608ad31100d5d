"""The `Catalog` object: finds and loads the YAML catalogs shipped with the package (hardware,
models, workloads, scenarios) and user files given by path. YAML and validation errors become
`PrfaasError`s that name the file, the field and the fix.

In a wheel the catalogs live in `prfaas_plan/_data/<kind>/`; in a source checkout they are the
top-level folders `hardware/`, `models/`, `workloads/`, `scenarios/`.

A `Catalog` carries its own state: a per-instance memo of parsed files and the hardware
overrides a calibration file makes (`with_hardware`). Nothing is global: a command builds one
catalog and passes it to what needs it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from prfaas_plan.errors import InvalidFileError, UnknownNameError
from prfaas_plan.io.yamlfile import read_yaml, validate_data
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.workload import WorkloadSpec

KINDS = ("hardware", "models", "workloads", "scenarios")
M = TypeVar("M", bound=BaseModel)


def catalog_dir(kind: str) -> Path:
    """Directory holding the shipped YAML files of one kind."""
    packaged = resources.files("prfaas_plan") / "_data" / kind
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.parent / kind


def looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml", ".json")) or "/" in ref or "\\" in ref


def _unknown(kind: str, ref: str, names: tuple[str, ...]) -> UnknownNameError:
    key = ref.strip().lower()
    if kind == "hardware" and key == "cpu":
        return UnknownNameError(
            "'cpu' is not a catalog GPU: a host-CPU entry is made from this machine's measurements",
            fix="prfaas profile --device cpu --quick -o cpu.csv; prfaas calibrate --hardware cpu cpu.csv -o cpu.yaml; "
            "then pass --hardware cpu.yaml",
        )
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(names)}"
    return UnknownNameError(
        f"unknown {kind.rstrip('s')} '{ref}'; {hint}",
        fix=f"use a name from `prfaas catalog {kind}` or a path to a YAML file",
    )


@dataclass(frozen=True)
class Catalog:
    """Shipped catalogs plus per-GPU overrides (calibrated entries), with a per-instance memo."""

    hardware_overrides: Mapping[str, HardwareSpec] = field(default_factory=dict)
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def with_hardware(self, specs: Mapping[str, HardwareSpec]) -> Catalog:
        """A catalog whose `hardware(name)` returns these specs (by GPU name) instead of the shipped ones."""
        return Catalog({**self.hardware_overrides, **specs})

    def names(self, kind: str) -> tuple[str, ...]:
        key = ("names", kind)
        if key not in self._memo:
            d = catalog_dir(kind)
            self._memo[key] = tuple(sorted(p.stem for p in d.glob("*.yaml"))) if d.is_dir() else ()
        out: tuple[str, ...] = self._memo[key]
        return out

    def resolve(self, kind: str, ref: str) -> Path:
        """Turn a catalog name or a path into a file path; unknown names list the closest ones."""
        if looks_like_path(ref):
            p = Path(ref).expanduser()
            if not p.is_file():
                raise InvalidFileError(f"file not found: {ref}", fix="check the path")
            return p
        key = ref.strip().lower()
        names = self.names(kind)
        if key in names:
            return catalog_dir(kind) / f"{key}.yaml"
        raise _unknown(kind, ref, names)

    def load(self, kind: str, ref: str, schema: type[M]) -> M:
        path = str(self.resolve(kind, ref))
        key = (kind, path)
        if key not in self._memo:
            self._memo[key] = validate_data(schema, read_yaml(Path(path)), path)
        obj = self._memo[key]
        assert isinstance(obj, schema)
        return obj

    def hardware(self, ref: str) -> HardwareSpec:
        hw = self.load("hardware", ref, HardwareSpec)
        return self.hardware_overrides.get(hw.name, hw)

    def model(self, ref: str) -> ModelSpec:
        return self.load("models", ref, ModelSpec)

    def workload(self, ref: str) -> WorkloadSpec:
        return self.load("workloads", ref, WorkloadSpec)
