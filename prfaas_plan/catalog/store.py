"""The `Catalog` object: finds and loads the YAML catalogs shipped with the package (hardware,
models, workloads, scenarios) and user files given by path. YAML and validation errors become
`PrfaasError`s that name the file, the field and the fix.

In a wheel the catalogs live in `prfaas_plan/_data/<kind>/`; in a source checkout they are the
top-level folders `hardware/`, `models/`, `workloads/`, `scenarios/` (and `traces/`, the request
traces the help examples replay).

Lookup order for a NAME (a reference without a folder or a .yaml/.json ending): each folder of the
environment variable PRFAAS_CATALOG_PATH in order (`FOLDER/<kind>/NAME.yaml`, folders separated
by `:` like PATH), then the shipped catalog. A user folder therefore adds entries, or replaces a
shipped one of the same name, without touching the installed package. A path is used as given.

A `Catalog` carries its own state: a per-instance memo of parsed files and the hardware
overrides a calibration file makes (`with_hardware`). Nothing is global: a command builds one
catalog and passes it to what needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from prfaas_plan.errors import InvalidFileError, UnknownNameError
from prfaas_plan.io.yamlfile import read_yaml, validate_data
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec

if TYPE_CHECKING:
    from prfaas_plan.specs.workload import WorkloadSpec

KINDS = ("hardware", "models", "workloads", "scenarios")
CATALOG_PATH_ENV = "PRFAAS_CATALOG_PATH"
M = TypeVar("M", bound=BaseModel)


def catalog_dir(kind: str) -> Path:
    """Directory holding the shipped YAML files of one kind (the package's `_data/<kind>` in a wheel,
    else the source checkout's top-level folder)."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "_data" / kind
    if packaged.is_dir():
        return packaged
    return package.parent / kind


def user_dirs_from_env() -> tuple[Path, ...]:
    """The folders named by PRFAAS_CATALOG_PATH, in order (empty entries skipped)."""
    import os

    raw = os.environ.get(CATALOG_PATH_ENV, "")
    return tuple(Path(x).expanduser() for x in raw.split(os.pathsep) if x.strip())


def bandwidth_trace_path(ref: str | Path) -> Path:
    """A `--bandwidth-trace` argument: an existing file, or the name of a shipped example trace
    (`bandwidth/NAME.csv`: link-drop, link-flapping)."""
    if not str(ref).strip():  # Path("") is the current folder
        raise UnknownNameError("--bandwidth-trace: an empty name", fix="give a CSV path, or link-drop / link-flapping")
    p = Path(ref)
    if p.exists() or looks_like_path(str(ref)) or str(ref).endswith(".csv"):
        return p
    d = catalog_dir("bandwidth")
    shipped = d / f"{ref}.csv"
    if shipped.is_file():
        return shipped
    names = sorted(x.stem for x in d.glob("*.csv")) if d.is_dir() else []
    raise UnknownNameError(f"--bandwidth-trace: no file '{ref}' and no shipped trace of that name",
                           fix=f"give a CSV path or one of: {', '.join(names)}")


def looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml", ".json")) or "/" in ref or "\\" in ref


def _unknown(kind: str, ref: str, names: tuple[str, ...]) -> UnknownNameError:
    import difflib

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
    user_dirs: tuple[Path, ...] = field(default_factory=user_dirs_from_env)
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def with_hardware(self, specs: Mapping[str, HardwareSpec]) -> Catalog:
        """A catalog whose `hardware(name)` returns these specs (by GPU name) instead of the shipped ones."""
        return Catalog({**self.hardware_overrides, **specs}, self.user_dirs)

    def dirs(self, kind: str) -> list[Path]:
        """Where names of this kind are looked up, in order: the user folders, then the shipped one."""
        return [d / kind for d in self.user_dirs] + [catalog_dir(kind)]

    def names(self, kind: str) -> tuple[str, ...]:
        key = ("names", kind)
        if key not in self._memo:
            found = {p.stem for d in self.dirs(kind) if d.is_dir() for p in d.glob("*.yaml")}
            self._memo[key] = tuple(sorted(found))
        out: tuple[str, ...] = self._memo[key]
        return out

    def trace(self, ref: Path) -> Path:
        """A request trace: the path when it exists, else a trace of that file name in the user
        folders' `traces/` or the shipped `traces/` (so `--trace mooncake-conversation.jsonl` runs
        from any folder)."""
        if ref.is_file() or ref.is_dir() or len(ref.parts) > 1:
            return ref
        for d in self.dirs("traces"):
            if (d / ref.name).is_file():
                return d / ref.name
        shipped = sorted(p.name for d in self.dirs("traces") if d.is_dir() for p in d.iterdir() if p.suffix != ".md")
        raise InvalidFileError(f"trace not found: {ref} (not a file here, nor a shipped trace)",
                               fix=f"check the path; shipped traces: {', '.join(shipped) or 'none'}")

    def resolve(self, kind: str, ref: str) -> Path:
        """Turn a catalog name or a path into a file path; unknown names list the closest ones."""
        if looks_like_path(ref):
            p = Path(ref).expanduser()
            if not p.exists():  # a folder, a FIFO: the reader says what it is (`io.files.read_text`)
                raise InvalidFileError(f"file not found: {ref}", fix="check the path")
            return p
        key = ref.strip().lower()
        for d in self.dirs(kind):
            if (d / f"{key}.yaml").is_file():
                return d / f"{key}.yaml"
        raise _unknown(kind, ref, self.names(kind))

    def load(self, kind: str, ref: str, schema: type[M]) -> M:
        path = str(self.resolve(kind, ref))
        key = (kind, path)
        if key not in self._memo:
            self._memo[key] = validate_data(schema, read_yaml(Path(path), cache=True), path)
        obj = self._memo[key]
        assert isinstance(obj, schema)
        return obj

    def hardware(self, ref: str) -> HardwareSpec:
        hw = self.load("hardware", ref, HardwareSpec)
        return self.hardware_overrides.get(hw.name, hw)

    def model(self, ref: str) -> ModelSpec:
        return self.load("models", ref, ModelSpec)

    def workload(self, ref: str) -> WorkloadSpec:
        from prfaas_plan.specs.workload import WorkloadSpec

        return self.load("workloads", ref, WorkloadSpec)
