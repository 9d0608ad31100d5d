"""Finds and loads the YAML catalogs shipped with the package (hardware, models, workloads,
scenarios) and user files given by path. All YAML reading and pydantic validation errors are
turned into `PrfaasError`s that name the file, the field and the fix.

In a wheel the catalogs live in `prfaas_plan/_data/<kind>/`; in a source checkout they are the
top-level folders `hardware/`, `models/`, `workloads/`, `scenarios/`.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from prfaas_plan.errors import InvalidFileError, UnknownNameError

KINDS = ("hardware", "models", "workloads", "scenarios")
M = TypeVar("M", bound=BaseModel)


def catalog_dir(kind: str) -> Path:
    """Directory holding the shipped YAML files of one kind."""
    packaged = resources.files("prfaas_plan") / "_data" / kind
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / kind


@functools.cache
def catalog_names(kind: str) -> tuple[str, ...]:
    d = catalog_dir(kind)
    if not d.is_dir():
        return ()
    return tuple(sorted(p.stem for p in d.glob("*.yaml")))


def read_yaml(path: Path) -> Any:
    import yaml

    from prfaas_plan.fileio import read_text

    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidFileError(
            f"malformed YAML{line}: {problem}", where=str(path), fix="fix the YAML syntax"
        ) from None


def format_validation_error(exc: ValidationError, where: str) -> InvalidFileError:
    lines = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see `prfaas schema`)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  field '{loc}': {msg}")
    more = len(exc.errors()) - 8
    if more > 0:
        lines.append(f"  ... and {more} more")
    return InvalidFileError(
        "invalid values:\n" + "\n".join(lines),
        where=where,
        fix="correct the fields named above",
    )


def validate_data(schema: type[M], data: Any, where: str) -> M:
    if not isinstance(data, dict):
        raise InvalidFileError(
            f"expected a mapping at the top level, got {type(data).__name__}", where=where
        )
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, where) from None


def looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml", ".json")) or "/" in ref or "\\" in ref


def resolve(kind: str, ref: str) -> Path:
    """Turn a catalog name or a path into a file path; unknown names list the closest ones."""
    if looks_like_path(ref):
        p = Path(ref).expanduser()
        if not p.is_file():
            raise InvalidFileError(f"file not found: {ref}", fix="check the path")
        return p
    key = ref.strip().lower()
    names = catalog_names(kind)
    if key in names:
        return catalog_dir(kind) / f"{key}.yaml"
    if kind == "hardware" and key == "cpu":
        raise UnknownNameError(
            "'cpu' is not a catalog GPU: a host-CPU entry is made from this machine's measurements",
            fix="prfaas profile --device cpu --quick -o cpu.csv; prfaas calibrate --hardware cpu cpu.csv -o cpu.yaml; "
            "then pass --hardware cpu.yaml",
        )
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(names)}"
    raise UnknownNameError(
        f"unknown {kind.rstrip('s')} '{ref}'; {hint}",
        fix=f"use a name from `prfaas catalog {kind}` or a path to a YAML file",
    )


@functools.lru_cache(maxsize=128)
def _load_cached(kind: str, path: str, schema: type[BaseModel]) -> BaseModel:
    data = read_yaml(Path(path))
    return validate_data(schema, data, path)


def load(kind: str, ref: str, schema: type[M]) -> M:
    path = resolve(kind, ref)
    obj = _load_cached(kind, str(path), schema)
    assert isinstance(obj, schema)
    return obj


_HW_OVERRIDES: dict[str, Any] = {}


@contextlib.contextmanager
def calibrated(specs: dict[str, Any]) -> Iterator[None]:
    """Within the block, `load_hardware` returns these specs (by GPU name) instead of the
    catalog's: how `--calibration FILE` reaches every cluster of a scenario."""
    old = dict(_HW_OVERRIDES)
    _HW_OVERRIDES.update(specs)
    try:
        yield
    finally:
        _HW_OVERRIDES.clear()
        _HW_OVERRIDES.update(old)


def load_hardware(ref: str):  # noqa: ANN201 - returns HardwareSpec
    from prfaas_plan.specs.hardware import HardwareSpec

    hw = load("hardware", ref, HardwareSpec)
    return _HW_OVERRIDES.get(hw.name, hw)


def load_model(ref: str):  # noqa: ANN201 - returns ModelSpec
    from prfaas_plan.specs.model import ModelSpec

    return load("models", ref, ModelSpec)
