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


# output formats an `-o` extension implies when `--format` is not given
EXTENSION_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown",
                     ".yaml": "yaml", ".yml": "yaml", ".xml": "junit", ".txt": "table"}
WIDE = 10_000  # columns for a table that is not on a terminal: never truncate a cell


def _format_choices(ctx: typer.Context) -> list[str] | None:
    """The output formats this command offers (its `--format` enum), or None when its `--format`
    is not an output format (`workload import` takes a trace format)."""
    value = ctx.params.get("format")
    if not isinstance(value, Enum):
        return None
    choices = [str(m.value) for m in type(value)]
    return choices if "table" in choices else None


def out_format(ctx: typer.Context) -> str:
    """The output format: `--format` when given, else the one the `-o` file's extension implies
    (plan.json -> json), else the default; a `--format` that contradicts the extension is refused."""
    choices = _format_choices(ctx)
    value = ctx.params.get("format")
    chosen = str(getattr(value, "value", value))
    output = ctx.params.get("output")
    if choices is None or output is None:
        return chosen
    implied = EXTENSION_FORMATS.get(Path(output).suffix.lower())
    if implied is None or implied not in choices:
        return chosen
    source = ctx.get_parameter_source("format")
    given = source is not None and getattr(source, "name", "") != "DEFAULT"
    if given and chosen != implied:
        raise PrfaasError(f"--format {chosen} does not match --output {output} ({implied})",
                          fix=f"drop --format (the extension picks {implied}), or name the file for {chosen}")
    return implied


def check_outputs(ctx: typer.Context | None) -> None:
    """Before any work: refuse NaN/infinite numeric flags, unwritable `--output` / `--plot` targets and a
    `--format` that contradicts the output file's extension."""
    if ctx is None:
        return
    import math

    from prfaas_plan.io.files import check_output

    for p in ctx.command.params:  # click's float ranges let nan and inf through
        v = ctx.params.get(p.name or "")
        for x in v if isinstance(v, list | tuple) else [v]:
            if isinstance(x, float) and not math.isfinite(x):
                flag = max(getattr(p, "opts", []) or [p.name or "?"], key=len)
                raise PrfaasError(f"{flag} {x}: must be a finite number", fix=f"give {flag} a number, see --help")

    targets = [(flag, v) for name, flag in OUTPUT_PARAMS if isinstance(v := ctx.params.get(name), Path)]
    for flag, v in targets:
        check_output(v, flag)
    _check_distinct(ctx, targets)
    out_format(ctx)


# the flags that name files a command writes (checked before any work by `check_outputs`)
OUTPUT_PARAMS = (("output", "--output"), ("plot", "--plot"), ("export", "--export"))


def _check_distinct(ctx: typer.Context, targets: list[tuple[str, Path]]) -> None:
    """Two outputs naming one file (the second write would replace the first), or an output that is
    also an input of the run (a measurement CSV, a scenario: writing it would destroy it)."""
    import os

    def same(a: Path, b: Path) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:  # one does not exist (yet): compare the paths
            return os.path.abspath(a) == os.path.abspath(b)

    outputs = {name for name, _ in OUTPUT_PARAMS}
    inputs = [(max(getattr(p, "opts", None) or [p.name or "?"], key=len), Path(x)) for p in ctx.command.params
              if p.name not in outputs for v in [ctx.params.get(p.name or "")]
              for x in (v if isinstance(v, list | tuple) else [v]) if isinstance(x, Path | str) and x]
    for i, (flag, path) in enumerate(targets):
        for other, opath in targets[:i]:
            if same(path, opath):
                raise PrfaasError(f"{flag} {path} and {other} {opath} name the same file (one would overwrite the other)",
                                  fix=f"give {flag} another file name")
        for name, ipath in inputs:
            if ipath.is_file() and same(path, ipath):
                raise PrfaasError(f"{flag} {path} is also an input of this run ({name.upper()}): writing it would "
                                  "destroy it", fix=f"give {flag} another file name")


def _full_width(out: Any) -> str:
    """`out` as text for a file or a pipe: tables at full width (no cell truncated), no colour, no
    trailing spaces. Report tables and notes (`report.blocks`) render without rich where they can."""
    plain = out.plain(WIDE) if hasattr(out, "plain") else None
    if plain is None:
        import io

        from rich.console import Console

        con = Console(file=io.StringIO(), width=WIDE, color_system=None)
        con.print(out)
        plain = con.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in plain.splitlines()) + "\n"


def emit(out: Any, output: Path | None = None) -> None:
    """Print `out` (text, or a table / rich renderable), or write it atomically to `output`. Tables
    off a terminal (piped, or in a file) are rendered at full width: no cell is truncated."""
    if output is not None:
        from prfaas_plan.io.files import atomic_write_text

        atomic_write_text(output, out if isinstance(out, str) else _full_width(out))
        return
    try:
        if sys.stdout is None:  # started with stdout closed (`prfaas kv M >&-`)
            raise OSError("it is closed")
        if isinstance(out, str):
            sys.stdout.write(out)
        elif sys.stdout.isatty():
            from rich.console import Console

            Console().print(out)
        else:
            sys.stdout.write(_full_width(out))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (`| head`): its choice, not an error; nothing more to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
    except OSError as exc:  # a full disk behind `> file`, a closed stdout
        raise PrfaasError(f"cannot write the output to standard output: {exc.strerror or exc}",
                          fix="free space where it goes, or write to a file with -o FILE") from None


def _debug(ctx: typer.Context | None) -> bool:
    """`--debug`, as the root callback stored it in the command's context (passed, not global)."""
    obj = ctx.find_root().obj if ctx is not None else None
    return bool(isinstance(obj, dict) and obj.get("debug"))


def _traceback(ctx: typer.Context | None) -> None:
    """With `--debug`, the traceback of the exception being handled; the exit code stays the one
    without it (re-raising made every error exit 1, the code for failed expectations)."""
    if _debug(ctx):
        import traceback

        traceback.print_exc()


def run(fn: Callable[[], int | None], ctx: typer.Context | None = None) -> None:
    """The single error boundary: domain and validation errors become messages, never tracebacks
    (with `--debug`, the traceback). `ctx` is the command's typer context."""
    try:
        check_outputs(ctx)
        code = fn() or 0
    except PrfaasError as exc:
        _traceback(ctx)
        sys.stderr.write(f"error: {exc.render()}\n")
        raise typer.Exit(exc.exit_code) from None
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        _traceback(ctx)
        sys.stderr.write(f"error: {exc}\nFix: check the inputs; rerun with --debug for details.\n")
        raise typer.Exit(2) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug, not bad input: say so without a traceback
        _traceback(ctx)
        sys.stderr.write(f"internal error ({type(exc).__name__}): {exc}\n"
                         "This is a bug in prfaas-plan; rerun with --debug for the traceback and report it.\n")
        raise typer.Exit(3) from None
    raise typer.Exit(code)


MAX_LIST = 1000  # values in one comma-separated flag: a table of 1,000 rows is already more than a screen


def parse_counts(text: str, flag: str, *, k: int, what: str, example: str, hi: float = 1e8) -> list[int]:
    """Comma-separated whole counts >= 1 with an optional `k` suffix (x `k`), e.g. 1024,8k,32k;
    at most MAX_LIST of them; a value that is not whole (2.5, 0.1k of 1024) is refused, not rounded."""
    out = []
    parts = text.split(",")
    if len(parts) > MAX_LIST:
        raise PrfaasError(f"{flag}: {len(parts):,} values, more than the {MAX_LIST:,} one run takes",
                          fix=f"give at most {MAX_LIST:,} values (or run several times)")
    for part in parts:
        p = part.strip().lower().replace("_", "")
        if not p:
            continue
        mult = k if p.endswith("k") else 1
        try:
            v = float(p[:-1] if p.endswith("k") else p) * mult
        except ValueError:
            raise PrfaasError(f"{flag}: '{part[:40]}' is not a {what}", fix=f"use e.g. {flag} {example}") from None
        if not (1 <= v <= hi):
            raise PrfaasError(f"{flag}: '{part}' must be a {what} between 1 and {hi:g}", fix=f"use e.g. {flag} {example}")
        if abs(v - round(v)) > 1e-9 * v:  # 1.5k is 1536; 2.5 GPUs is not a count (it used to round to 2)
            raise PrfaasError(f"{flag}: '{part}' is not a whole {what}", fix=f"use e.g. {flag} {example}")
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


def parse_prices(values: list[str] | None, flag: str = "--price") -> dict[str, float]:
    """`--price GPU=USD` (repeatable): {GPU name (lower case): USD per GPU-hour}; each price a
    finite positive number within `specs.limits` (shared by `compare` and `size`)."""
    import math

    from prfaas_plan.specs.limits import MAX_USD_PER_GPU_HOUR

    out: dict[str, float] = {}
    for v in values or []:
        name, sep, usd = v.partition("=")
        try:
            price = float(usd)
        except ValueError:
            price = math.nan
        if not sep or not name.strip() or not (0 < price <= MAX_USD_PER_GPU_HOUR):
            raise PrfaasError(f"{flag} {v!r}: expected GPU=USD per GPU-hour, a number above 0 and at most "
                              f"{MAX_USD_PER_GPU_HOUR:g}", fix=f"e.g. {flag} h200=3.5 {flag} l20=0.9")
        key = name.strip().lower()
        if key in out:
            raise PrfaasError(f"{flag}: {key} is priced twice", fix=f"give one {flag} per GPU")
        out[key] = price
    return out


def parse_count(text: str, flag: str, example: str = "4k") -> int:
    """One token count; k = x1024."""
    out = parse_counts(text, flag, k=1024, what="token count", example=example)
    if len(out) != 1:
        raise PrfaasError(f"{flag} takes one token count, got {text!r}", fix=f"use e.g. {flag} {example}")
    return out[0]


# The serving-recipe flags shared by `kv` and `perf` (one definition, one help text).
WeightsDtypeOpt = Annotated[str | None, typer.Option(
    "--weights-dtype", help="weights checkpoint: bf16, fp8, int4 (or fp4); default: the model's published recipe")]
KvDtypeOpt = Annotated[str | None, typer.Option(
    "--kv-dtype", help="KV-cache dtype: bf16, fp8 (or fp32); default: the model's published recipe")]
TpOpt = Annotated[int | None, typer.Option(
    "--tp", help="attention tensor-parallel degree (GPUs / TP become DP-attention groups); default: the recipe's",
    min=1, max=1024)]
EpOpt = Annotated[int | None, typer.Option(
    "--ep", help="expert-parallel degree (experts' TP = GPUs / EP); default: the recipe's", min=1, max=1024)]
RoutingOpt = Annotated[str | None, typer.Option(
    "--routing", help="MoE routing the experts' cost assumes: balanced (default) or power_law (the measured "
    "skew: the busiest expert-parallel GPU's load)")]
ChunkedPrefillOpt = Annotated[str | None, typer.Option(
    "--chunked-prefill-size", help="the engine's chunked-prefill size in tokens (SGLang --chunked-prefill-size; "
    "DP attention divides it over the groups); k = x1024; default: the recipe's, else the GPU's (8192 on "
    "H100/H20/H200)")]
AttentionDpOpt = Annotated[int | None, typer.Option(
    "--attention-dp", help="DP-attention groups (SGLang --dp-size with --enable-dp-attention); default: the "
    "model's published serving recipe (its `recipe:` block)", min=1, max=1024)]
