"""File helpers. Output: `check_output` refuses an unwritable target before any work is done, and
every file is written to a hidden temporary sibling (`.NAME.XXXX.tmp`), given the mode a new file
gets under the user's umask, then renamed into place, so an error (a full disk, a killed run)
never leaves a partial output file; `atomic_write_many` writes several files or none. Missing
output folders are refused, never created (one rule for `-o`, `--plot` and `profile -o`).
Input: `read_text` / `read_bytes` read regular files only (a FIFO would block, a device never
end), within a size bound, and turn a missing, unreadable or oversized file into a message naming it.
`csv_rows` parses the project's CSV inputs (measurements, traces), one row per line."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

from prfaas_plan.errors import InvalidFileError, PrfaasError
from prfaas_plan.specs.limits import MAX_TEXT_FILE_BYTES

Writer = Callable[[Path], object]


def _regular_size(p: Path, what: str) -> int:
    """The size of `p`, a regular file; a folder, a missing path, a pipe, socket or device (reading a
    FIFO blocks until something writes to it; /dev/zero never ends) is an InvalidFileError naming it."""
    import stat

    try:
        st = p.stat()
    except FileNotFoundError:
        raise InvalidFileError(f"{what} not found: {p}", fix="check the path") from None
    except OSError as exc:  # a symlink loop, a name too long, no permission on a folder
        raise InvalidFileError(f"cannot read {what} {p}: {exc.strerror or exc}",
                               fix="check the path and its permissions") from None
    if stat.S_ISDIR(st.st_mode):
        raise InvalidFileError(f"{what} {p} is a folder, not a file", fix="give the path of a file")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidFileError(f"{what} {p} is not a regular file (a pipe, socket or device)",
                               fix="save the data to a file and give its path")
    return st.st_size


def read_bytes(path: str | Path, what: str = "file", max_bytes: int | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `max_bytes` (None: no limit); anything else is an
    InvalidFileError naming the file (see `_regular_size`)."""
    p = Path(path)
    size = _regular_size(p, what)
    too_big = InvalidFileError(
        f"{what} {p} is {size / 2**20:,.1f} MiB, more than the {(max_bytes or 0) / 2**20:,.0f} MiB such a file "
        "can plausibly need", fix="check the path (is this the file you meant?)")
    if max_bytes is not None and size > max_bytes:
        raise too_big
    try:
        with open(p, "rb") as f:
            raw = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidFileError(f"cannot read {what} {p}: {exc.strerror or exc}",
                               fix="check the path and its permissions") from None
    if max_bytes is not None and len(raw) > max_bytes:  # it grew while being read
        raise too_big
    return raw


def read_text(path: str | Path, what: str = "file", max_bytes: int | None = MAX_TEXT_FILE_BYTES) -> str:
    """UTF-8 text of the regular file `path` (a leading byte-order mark dropped), at most `max_bytes`;
    a missing, unreadable, oversized or non-UTF-8 file is an InvalidFileError naming it."""
    p = Path(path)
    raw = read_bytes(p, what, max_bytes)
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidFileError(f"cannot read {what} {p}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                               fix="save the file as UTF-8 text") from None


def csv_rows(text: str, path: str | Path, fix: str = "fix or remove the line (fields are numbers and short names)"
             ) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each CSV row. The project's CSVs hold numbers and short names, one
    record per line, so a quoted field that runs past its line is an unclosed quote (it would swallow
    every later line into one field): refused, naming the line it opens on, as is a row the csv module
    refuses (a field over its 128 KiB limit)."""
    reader = csv.reader(text.splitlines())
    out: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            line = len(out) + 1 if not out else out[-1][0] + 1
            if reader.line_num != line:
                raise InvalidFileError(f"line {line}: a quoted field opened on this line is not closed (it runs to "
                                       f"line {reader.line_num}, the end of the file or the next quote)",
                                       where=str(path), fix="close the quote, or remove it")
            out.append((line, row))
    except csv.Error as exc:
        raise InvalidFileError(f"line {reader.line_num}: {exc}", where=str(path), fix=fix) from None
    return out


def _temp(p: Path) -> Path:
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; an output file gets what the umask gives
    return Path(tmp)


def _os_error(p: Path, flag: str, exc: OSError) -> PrfaasError:
    return PrfaasError(f"{flag} {p}: cannot write: {exc.strerror or exc}",
                       fix="choose a writable folder with free space (nothing was written)")


def _target(p: Path) -> Path:
    """Where a write to `p` lands: a symlink's target (renaming a temporary file over the link would
    replace the link with a file and leave its target as it was)."""
    if not p.is_symlink() or is_stream(p):  # /dev/stdout -> /proc/self/fd/1 -> 'pipe:[...]': open the link
        return p
    return Path(os.path.realpath(p))


def is_stream(p: Path) -> bool:
    """Whether `p` exists and is neither a regular file nor a folder: a device (/dev/null,
    /dev/stdout), a FIFO, a socket. Such a target is written in place: a temporary file renamed over
    it would replace the device node or pipe with a regular file (as root, `-o /dev/null` would
    replace the system's /dev/null)."""
    import stat

    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_output(path: str | Path, flag: str = "--output") -> Path:
    """Refuse, before any work, an output path that is a folder or whose folder is missing or not
    writable (probed with a hidden temporary file, removed at once); a symlink stands for its target,
    a device or FIFO must be writable. Returns the path written (a symlink's target). A path the
    system refuses to look at (a name over 255 bytes, a symlink loop) is refused the same way."""
    try:
        return _check_output(Path(path), flag)
    except OSError as exc:
        raise _os_error(Path(path), flag, exc) from None


def _check_output(path: Path, flag: str) -> Path:
    p = _target(path)
    if is_stream(p):
        if not os.access(p, os.W_OK):
            raise PrfaasError(f"{flag} {path}: cannot write to it (permission denied)", fix="choose a writable target")
        return p
    if p.is_dir():
        raise PrfaasError(f"{flag} {p} is a folder, not a file", fix=f"give a file name, e.g. {flag} {p / 'out'}")
    if not p.parent.is_dir():
        raise PrfaasError(f"{flag} {p}: output folder {p.parent} does not exist",
                          fix=f"create it first (mkdir -p {p.parent}) or choose another path")
    try:
        _temp(p).unlink()
    except OSError as exc:
        raise _os_error(p, flag, exc) from None
    return p


def atomic_write_many(items: list[tuple[Path, Writer]], flag: str = "--output") -> None:
    """Write every (path, writer) pair or none: each writer fills a hidden temporary sibling; only
    when all succeeded are they renamed into place (originals kept aside until the last rename)."""
    targets = [(check_output(p, flag), w) for p, w in items]
    streams = [(p, w) for p, w in targets if is_stream(p)]
    files = [(p, w) for p, w in targets if not is_stream(p)]
    _write_files(files, flag)
    for p, write in streams:  # after the files: a stream cannot be taken back
        try:
            write(p)
        except OSError as exc:
            raise _os_error(p, flag, exc) from None


def _write_files(items: list[tuple[Path, Writer]], flag: str) -> None:
    if not items:
        return
    paths = [p for p, _ in items]
    temps: list[Path] = []
    try:
        for p, (_, write) in zip(paths, items, strict=True):
            temps.append(_temp(p))
            write(temps[-1])
    except OSError as exc:
        for t in temps:
            t.unlink(missing_ok=True)
        raise _os_error(p, flag, exc) from None
    except BaseException:
        for t in temps:
            t.unlink(missing_ok=True)
        raise
    _commit(paths, temps, flag)


def _commit(paths: list[Path], temps: list[Path], flag: str) -> None:
    import tempfile

    backups: list[Path | None] = []
    done: list[Path] = []
    try:
        for p in paths:
            b = None
            if p.exists():
                b = Path(tempfile.mktemp(prefix=f".{p.name}.", suffix=".orig", dir=p.parent))
                try:
                    os.link(p, b)
                except OSError:  # no hard links here: this file cannot be restored, the others can
                    b = None
            backups.append(b)
        for p, t in zip(paths, temps, strict=True):
            os.replace(t, p)
            done.append(p)
    except OSError as exc:
        for p, b in zip(done, backups, strict=False):
            if b is not None:
                os.replace(b, p)
            else:
                p.unlink(missing_ok=True)
        for t in temps:
            t.unlink(missing_ok=True)
        raise _os_error(paths[len(done)] if len(done) < len(paths) else paths[-1], flag, exc) from None
    finally:
        for b in backups:
            if b is not None:
                b.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str, flag: str = "--output") -> None:
    atomic_write_many([(Path(path), lambda t: t.write_text(text, encoding="utf-8"))], flag)
