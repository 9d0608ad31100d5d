"""File output helpers: every file is written to a temporary sibling, then renamed into place,
so an error never leaves a partial output file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from prfaas_plan.errors import PrfaasError


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
