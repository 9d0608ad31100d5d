"""`prfaas catalog hardware|models`, `prfaas models import` and `prfaas schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import Fmt, emit, run

catalog_app = typer.Typer(help="List catalog entries or show one with its derived figures.", no_args_is_help=True)
models_app = typer.Typer(help="Model catalog tools (import a Hugging Face config.json).", no_args_is_help=True)


@catalog_app.command("hardware")
def catalog_hardware(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="show one entry")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
) -> None:
    """List GPUs, or show one.

    Examples:

      prfaas catalog hardware

      prfaas catalog hardware h20 --format json
    """

    def go() -> None:
        from prfaas_plan.commands.catalog import hardware_entries
        from prfaas_plan.report.catalog import render_hardware

        emit(render_hardware(hardware_entries(name), name is not None, format.value))

    run(go, ctx)


@catalog_app.command("models")
def catalog_models(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="show one entry")] = None,
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
) -> None:
    """List models with weights and KV bytes per token, or show one.

    Examples:

      prfaas catalog models

      prfaas catalog models mimo-v2-flash
    """

    def go() -> None:
        from prfaas_plan.commands.catalog import model_entries
        from prfaas_plan.report.catalog import render_models

        emit(render_models(model_entries(name), name is not None, format.value))

    run(go, ctx)


@models_app.command("import")
def models_import(
    ctx: typer.Context,
    config_json: Annotated[Path, typer.Argument(help="a local Hugging Face config.json")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the YAML here")] = None,
    name: Annotated[str | None, typer.Option(
        help="catalog name (default: the output file's name, else the config's model name)")] = None,
) -> None:
    """Write a model catalog YAML from a Hugging Face config.json (no network).

    The model is named after the output file (-o my-model.yaml -> my-model) unless --name is given.
    To use it by name, keep your own catalog folder: FOLDER/models/NAME.yaml with
    PRFAAS_CATALOG_PATH=FOLDER (several folders separated by ':'; looked up in order, then the
    shipped catalog), without touching the installed one.

    Supports Llama/Qwen3 (GQA), DeepSeek-V3/Kimi-K2 (MLA), Qwen3-Next/Qwen3.5 (Gated DeltaNet),
    Kimi Linear (KDA) and MiMo-V2-Flash/gpt-oss (sliding window) configs.

    Examples:

      prfaas models import config.json -o my-model.yaml && prfaas kv my-model.yaml

      mkdir -p ~/prfaas/models && prfaas models import config.json -o ~/prfaas/models/my-model.yaml

      PRFAAS_CATALOG_PATH=~/prfaas prfaas kv my-model
    """

    def go() -> None:
        import sys

        from prfaas_plan.commands.catalog import import_model

        text, note = import_model(config_json, name, output)
        emit(text, output)
        sys.stderr.write(note + "\n")

    run(go, ctx)


def schema(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="scenario | workload | hardware | model | calibration")] = "scenario",
) -> None:
    """Print the JSON Schema of a file kind, for editor validation.

    Examples:

      prfaas schema scenario > scenario.schema.json
    """

    def go() -> None:
        from prfaas_plan.report.tables import to_json
        from prfaas_plan.specs.schemas import schema_for

        emit(to_json(schema_for(kind)))

    run(go, ctx)
