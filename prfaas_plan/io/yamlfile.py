"""YAML files: reading (syntax errors name the file, line and column) and validating a parsed
mapping against a pydantic schema (each bad field named, with the fix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from prfaas_plan.errors import InvalidFileError
from prfaas_plan.io.files import read_text

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    import yaml

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
