"""The `prfaas` typer app: the root callback (`--debug`) and the registration of every command.

Each command lives in its own module (`cli/plan.py`, `cli/kv.py`, ...), imports only
`cli/common.py`, and is registered here, so the arrows point one way (app -> command modules ->
common). To add a command: write `cli/NAME.py` with a function whose docstring has examples and
whose body calls one function of `commands/`, then register it below.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from prfaas_plan.cli import calibrate, catalog, kv, perf, plan, scale, simulate, size

app = typer.Typer(
    name="prfaas",
    help="Capacity planner for cross-datacenter Prefill-as-a-Service (PrfaaS) LLM serving.\n\n"
    "Examples:\n\n  prfaas plan\n\n  prfaas kv minimax-m2.5 --hardware h200\n\n"
    "  prfaas perf qwen3-30b-a3b --hardware h20\n\n  prfaas catalog models",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _main(ctx: typer.Context,
          debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    ctx.obj = {"debug": debug}


app.command()(kv.kv)
app.command()(perf.perf)
app.command()(catalog.schema)
app.command()(calibrate.calibrate)
app.command()(calibrate.validate)
app.command()(calibrate.profile)
app.command()(plan.plan)
app.command()(scale.scale)
app.command()(scale.compare)
app.command()(size.size)
app.command()(simulate.simulate)
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(catalog.models_app, name="models")
app.add_typer(simulate.workload_app, name="workload")


def main() -> None:
    """Run the app; a flag the parser rejects (not a number, out of range, unknown) exits 2 with
    click's message naming the flag, plus a Fix line like every other bad input."""
    import importlib
    import sys

    try:  # typer >= 0.22 vendors click as typer._click
        click_exc: Any = importlib.import_module("typer._click.exceptions")
    except ImportError:
        click_exc = importlib.import_module("click.exceptions")
    try:
        code = app(standalone_mode=False)
    except click_exc.UsageError as exc:
        exc.show()
        name = exc.ctx.command_path if exc.ctx is not None else "prfaas"
        sys.stderr.write(f"Fix: correct the flag named above; see `{name} --help` for its range and examples.\n")
        sys.exit(exc.exit_code)
    except click_exc.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
