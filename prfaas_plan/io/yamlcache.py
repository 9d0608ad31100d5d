"""A persistent cache of parsed catalog YAML files, so a run that reads a few catalog entries does
not import PyYAML or parse (about 0.02 s of a `kv`/`perf` run on a 2-core machine).

Where: $PRFAAS_CACHE_DIR, else $XDG_CACHE_HOME/prfaas-plan, else ~/.cache/prfaas-plan;
PRFAAS_CACHE_DIR=off (or empty) turns it off. Each entry is `<sha256 of the file's text>.json`: the key
is the content itself (with CACHE_VERSION), so an edited file is a miss and is parsed again, and
two files with the same text share an entry. Only a successful parse whose value JSON carries
exactly (string keys; strings, integers, floats, booleans, nulls, lists) is stored, written to a
temporary sibling and renamed into place, so a reader never sees a partial entry. A cache that
cannot be read or written (no home, read-only, a damaged entry) is ignored: the file is parsed.
Entries are small (a few KB); deleting the folder at any time is safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_ENV = "PRFAAS_CACHE_DIR"
CACHE_VERSION = "2"  # bump when what the YAML reader returns for a text changes


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    raw = os.environ.get(CACHE_ENV)
    if raw is not None:
        return None if raw.strip().lower() in ("", "off", "0", "no") else Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    try:
        return (Path(base) if base else Path.home() / ".cache") / "prfaas-plan"
    except RuntimeError:  # no home folder
        return None


def _entry(folder: Path, text: str) -> Path:
    digest = hashlib.sha256(f"{CACHE_VERSION}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return folder / f"{digest}.json"


def json_exact(value: Any) -> bool:
    """Whether JSON gives `value` back equal and of the same types (no tuples, sets, dates, bytes,
    non-string keys)."""
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(json_exact(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_exact(v) for k, v in value.items())
    return False


def lookup(text: str) -> tuple[bool, Any]:
    """(True, the parsed value) when `text` is cached, else (False, None)."""
    folder = cache_dir()
    if folder is None:
        return False, None
    import stat

    entry = _entry(folder, text)
    try:
        if not stat.S_ISREG(entry.stat().st_mode):  # a FIFO would block the read, a device never end
            return False, None
        return True, json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # a damaged entry (RecursionError: nested too deeply)
        return False, None


def store(text: str, value: Any) -> None:
    """Cache `value` as the parse of `text` (when JSON carries it exactly); errors are ignored."""
    folder = cache_dir()
    if folder is None:
        return
    import tempfile

    tmp = None
    try:
        if not json_exact(value):
            return
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f)
        os.replace(tmp, _entry(folder, text))
        tmp = None
    except (OSError, ValueError, RecursionError):
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
