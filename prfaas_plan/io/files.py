"""File helpers. Output: every file is written to a temporary sibling, then renamed into place,
so an error never leaves a partial output file. Input: `read_text` turns a missing or unreadable
file into a message naming it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from prfaas_plan.errors import InvalidFileError, PrfaasError


def read_text(path: str | Path, what: str = "file") -> str:
    """UTF-8 text of `path`; a missing or unreadable file is an InvalidFileError naming it."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidFileError(f"{what} not found: {p}", fix="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidFileError(f"cannot read {what} {p}: {exc}") from None


def atomic_write_text(path: str | Path, text: str) -> None:
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise PrfaasError(f"output folder does not exist: {parent}", fix="create it or choose another path")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
