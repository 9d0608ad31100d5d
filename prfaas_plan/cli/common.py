"""What every command module shares: the output formats, the single error boundary (`run`), the
output writer (`emit`) and the flag parsers. Imports nothing of the command modules or `app`.

Exit codes: 0 ok, 1 expectations failed (`plan` with `expect:`), 2 bad input or infeasible,
3 internal error (a bug).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.errors import PrfaasError


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def emit(out: Any, output: Path | None = None) -> None:
    """Print `out` (text or a rich renderable), or write it atomically to `output`."""
    if output is not None:
        from prfaas_plan.io.files import atomic_write_text

        if not isinstance(out, str):
            import io

            from rich.console import Console

            con = Console(file=io.StringIO(), width=120)
            con.print(out)
            out = con.file.getvalue()  # type: ignore[attr-defined]
        atomic_write_text(output, out)
        return
    if isinstance(out, str):
        sys.stdout.write(out)
    else:
        from rich.console import Console

        Console().print(out)


def _debug(ctx: typer.Context | None) -> bool:
    """`--debug`, as the root callback stored it in the command's context (passed, not global)."""
    obj = ctx.find_root().obj if ctx is not None else None
    return bool(isinstance(obj, dict) and obj.get("debug"))


def run(fn: Callable[[], int | None], ctx: typer.Context | None = None) -> None:
    """The single error boundary: domain and validation errors become messages, never tracebacks
    (with `--debug`, the traceback). `ctx` is the command's typer context."""
    try:
        code = fn() or 0
    except PrfaasError as exc:
        sys.stderr.write(f"error: {exc.render()}\n")
        if _debug(ctx):
            raise
        raise typer.Exit(exc.exit_code) from None
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        if _debug(ctx):
            raise
        sys.stderr.write(f"error: {exc}\nFix: check the inputs; rerun with --debug for details.\n")
        raise typer.Exit(2) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug, not bad input: say so without a traceback
        if _debug(ctx):
            raise
        sys.stderr.write(f"internal error ({type(exc).__name__}): {exc}\n"
                         "This is a bug in prfaas-plan; rerun with --debug for the traceback and report it.\n")
        raise typer.Exit(3) from None
    raise typer.Exit(code)


def parse_counts(text: str, flag: str, *, k: int, what: str, example: str, hi: float = 1e8) -> list[int]:
    """Comma-separated whole counts >= 1 with an optional `k` suffix (x `k`), e.g. 1024,8k,32k."""
    out = []
    for part in text.split(","):
        p = part.strip().lower().replace("_", "")
        if not p:
            continue
        mult = k if p.endswith("k") else 1
        try:
            v = float(p[:-1] if p.endswith("k") else p) * mult
        except ValueError:
            raise PrfaasError(f"{flag}: '{part}' is not a {what}", fix=f"use e.g. {flag} {example}") from None
        if not (1 <= v <= hi):
            raise PrfaasError(f"{flag}: '{part}' must be a {what} between 1 and {hi:g}", fix=f"use e.g. {flag} {example}")
        out.append(int(round(v)))
    if not out:
        raise PrfaasError(f"{flag} is empty", fix=f"use e.g. {flag} {example}")
    return out


def parse_lengths(text: str, flag: str = "--lengths") -> list[int]:
    """Token counts; k = x1024."""
    return parse_counts(text, flag, k=1024, what="token count", example="1024,8k,32k")


def parse_names(text: str | None, flag: str) -> list[str] | None:
    """A comma-separated list of GPU names (duplicates dropped); None when the flag is absent."""
    if text is None:
        return None
    out = [x.strip() for x in text.split(",") if x.strip()]
    if not out:
        raise PrfaasError(f"{flag} is empty", fix=f"name at least one GPU, e.g. {flag} h200,b200")
    return list(dict.fromkeys(out))


def parse_count(text: str, flag: str, example: str = "4k") -> int:
    """One token count; k = x1024."""
    out = parse_counts(text, flag, k=1024, what="token count", example=example)
    if len(out) != 1:
        raise PrfaasError(f"{flag} takes one token count, got {text!r}", fix=f"use e.g. {flag} {example}")
    return out[0]


# The serving-recipe flags shared by `kv` and `perf` (one definition, one help text).
AttentionDpOpt = Annotated[int | None, typer.Option(
    "--attention-dp", help="DP-attention groups (SGLang --dp-size with --enable-dp-attention); default: the "
    "model's published serving recipe (its `recipe:` block)", min=1, max=1024)]
