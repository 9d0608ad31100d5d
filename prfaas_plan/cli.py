"""Command-line interface: thin typer commands around one error boundary (`_run`).

Commands parse arguments, call the pure core, and hand results to `report/`. No arithmetic here.
Exit codes: 0 ok, 1 expectations failed (`plan` with `expect:`), 2 bad input or infeasible.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from prfaas_plan.errors import PrfaasError

app = typer.Typer(
    name="prfaas",
    help="Capacity planner for cross-datacenter Prefill-as-a-Service (PrfaaS) LLM serving.\n\n"
    "Examples:\n\n  prfaas plan\n\n  prfaas kv minimax-m2.5 --hardware h200\n\n"
    "  prfaas catalog models",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
catalog_app = typer.Typer(help="List catalog entries or show one with its derived figures.", no_args_is_help=True)
models_app = typer.Typer(help="Model catalog tools (import a Hugging Face config.json).", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
app.add_typer(models_app, name="models")

_DEBUG = False


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _emit(out: Any, output: Path | None = None) -> None:
    if output is not None:
        from prfaas_plan.fileio import atomic_write_text

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


def _run(fn: Callable[[], int | None]) -> None:
    """The single error boundary: domain and validation errors become messages, never tracebacks."""
    try:
        code = fn() or 0
    except PrfaasError as exc:
        sys.stderr.write(f"error: {exc.render()}\n")
        if _DEBUG:
            raise
        raise typer.Exit(exc.exit_code) from None
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        if _DEBUG:
            raise
        sys.stderr.write(f"error: {exc}\nFix: check the inputs; rerun with --debug for details.\n")
        raise typer.Exit(2) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # a bug, not bad input: say so without a traceback
        if _DEBUG:
            raise
        sys.stderr.write(f"internal error ({type(exc).__name__}): {exc}\n"
                         "This is a bug in prfaas-plan; rerun with --debug for the traceback and report it.\n")
        raise typer.Exit(3) from None
    raise typer.Exit(code)


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    global _DEBUG
    _DEBUG = debug


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


def _load_hw(ref: str, calibration: Path | None) -> Any:
    from prfaas_plan import catalog

    hw = catalog.load_hardware(ref)
    if calibration is not None:
        from prfaas_plan.calibration_io import apply_calibration

        hw = apply_calibration(hw, calibration)
    return hw


@app.command()
def kv(
    model: Annotated[str, typer.Argument(help="catalog model name or path to a model YAML")],
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="GPU name or YAML path")] = "h200",
    gpus: Annotated[int, typer.Option(help="GPUs per prefill instance", min=1, max=1024)] = 8,
    lengths: Annotated[str, typer.Option(help="comma-separated token counts; k = x1024")] = "1024,8192,32768,131072",
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    breakdown: Annotated[bool, typer.Option(help="time per op class")] = False,
    calibration: Annotated[Path | None, typer.Option(help="calibration YAML from `prfaas calibrate`")] = None,
    attention_dp: Annotated[int | None, typer.Option(
        help="DP-attention groups (SGLang --dp-size with --enable-dp-attention); default: the model's "
        "published serving recipe (its `serving:` block), else 1", min=1, max=1024)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """KV throughput of one prefill instance (paper Eq 1): KV bytes, prefill seconds, Gbps.

    Examples:

      prfaas kv minimax-m2.5

      prfaas kv kimi-linear-48b --hardware h20 --lengths 4k,16k,64k --format json

      prfaas kv ./my-model.yaml --breakdown

      prfaas kv mimo-v2-flash --attention-dp 1
    """

    def go() -> None:
        from prfaas_plan import catalog
        from prfaas_plan.perf.api import kv_throughput
        from prfaas_plan.plan.feasibility import check_weights_fit
        from prfaas_plan.report.kv import render_kv

        m = catalog.load_model(model)
        if attention_dp is not None:
            from prfaas_plan.specs.model import ServingLayout

            if gpus % attention_dp:
                raise PrfaasError(f"--attention-dp {attention_dp} does not divide --gpus {gpus}",
                                  fix="use a divisor of the instance's GPU count")
            m = m.model_copy(update={"serving": ServingLayout(attention_data_parallel=attention_dp,
                                                              source="--attention-dp")})
        hw = _load_hw(hardware, calibration)
        check_weights_fit(m, hw, gpus, "--gpus")
        r = kv_throughput(m, hw, gpus, parse_lengths(lengths))
        _emit(render_kv(r, format.value, breakdown), output)

    _run(go)


@catalog_app.command("hardware")
def catalog_hardware(
    name: Annotated[str | None, typer.Argument(help="show one entry")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
) -> None:
    """List GPUs, or show one.

    Examples:

      prfaas catalog hardware

      prfaas catalog hardware h20 --format json
    """

    def go() -> None:
        from prfaas_plan.report.catalog import render_hardware

        _emit(render_hardware(name, format.value))

    _run(go)


@catalog_app.command("models")
def catalog_models(
    name: Annotated[str | None, typer.Argument(help="show one entry")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
) -> None:
    """List models with weights and KV bytes per token, or show one.

    Examples:

      prfaas catalog models

      prfaas catalog models mimo-v2-flash
    """

    def go() -> None:
        from prfaas_plan.report.catalog import render_models

        _emit(render_models(name, format.value))

    _run(go)


@models_app.command("import")
def models_import(
    config_json: Annotated[Path, typer.Argument(help="a local Hugging Face config.json")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the YAML here")] = None,
    name: Annotated[str | None, typer.Option(help="catalog name (default: from the file)")] = None,
) -> None:
    """Write a model catalog YAML from a Hugging Face config.json (no network).

    Supports Llama/Qwen3 (GQA), DeepSeek-V3/Kimi-K2 (MLA), Qwen3-Next/Qwen3.5 (Gated DeltaNet),
    Kimi Linear (KDA) and MiMo-V2-Flash/gpt-oss (sliding window) configs.

    Examples:

      prfaas models import config.json -o models/my-model.yaml
    """

    def go() -> None:
        from prfaas_plan.hf_import import import_config

        text = import_config(config_json, name)
        _emit(text, output)

    _run(go)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="scenario | workload | hardware | model | calibration")] = "scenario",
) -> None:
    """Print the JSON Schema of a file kind, for editor validation.

    Examples:

      prfaas schema scenario > scenario.schema.json
    """

    def go() -> None:
        from prfaas_plan.report.tables import to_json
        from prfaas_plan.schemas import schema_for

        _emit(to_json(schema_for(kind)))

    _run(go)


def main() -> None:
    app()


from prfaas_plan import cli_calibrate as _cal  # noqa: E402,F401  (registers commands)
from prfaas_plan import cli_plan as _plan  # noqa: E402,F401
from prfaas_plan import cli_scale as _scale  # noqa: E402,F401
from prfaas_plan import cli_trace as _trace  # noqa: E402,F401
