"""The registration of every command, the root callback (`--debug`) and `main`, the entry point.

Each command lives in its own module (`cli/plan.py`, `cli/kv.py`, ...), imports only
`cli/common.py`, and is registered here, so the arrows point one way (app -> command modules ->
common). To add a command: write `cli/NAME.py` with a function whose docstring has examples and
whose body calls one function of `commands/`, then add it to COMMANDS below.

`cli/app.py`'s `app` is the full app (every command; tests drive it). `main` builds only what
the command line names: for `prfaas kv ...` an app holding the root callback and `kv` alone, so a
run neither imports the other command modules nor makes typer read their parameters. Help, usage
errors and output are the same as the full app's: the group is the same (`prfaas`, its callback),
and anything that is not one known command name (no command, `--help`, an unknown name) gets the
full app.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer

# (name on the command line, cli module, attribute, "command" or "group"), in `--help` order
COMMANDS = (
    ("kv", "kv", "kv", "command"),
    ("perf", "perf", "perf", "command"),
    ("schema", "catalog", "schema", "command"),
    ("calibrate", "calibrate", "calibrate", "command"),
    ("validate", "calibrate", "validate", "command"),
    ("profile", "calibrate", "profile", "command"),
    ("plan", "plan", "plan", "command"),
    ("scale", "scale", "scale", "command"),
    ("compare", "scale", "compare", "command"),
    ("size", "size", "size", "command"),
    ("simulate", "simulate", "simulate", "command"),
    ("catalog", "catalog", "catalog_app", "group"),
    ("models", "catalog", "models_app", "group"),
    ("workload", "simulate", "workload_app", "group"),
)
ROOT_FLAGS = ("--debug",)  # root options that take no value and may precede the command name


def _main(ctx: typer.Context,
          debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    ctx.obj = {"debug": debug}


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with the command (or command group) named `only` alone."""
    root = typer.Typer(
        name="prfaas",
        help="Capacity planner for cross-datacenter Prefill-as-a-Service (PrfaaS) LLM serving.\n\n"
        "Examples:\n\n  prfaas plan\n\n  prfaas kv minimax-m2.5 --hardware h200\n\n"
        "  prfaas perf qwen3-30b-a3b --hardware h20\n\n  prfaas catalog models",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    root.callback()(_main)
    for name, module, attr, kind in COMMANDS:
        if only is not None and name != only:
            continue
        obj = getattr(importlib.import_module(f"prfaas_plan.cli.{module}"), attr)
        if kind == "group":
            root.add_typer(obj, name=name)
        else:
            root.command()(obj)
    return root


def command_name(args: list[str]) -> str | None:
    """The command the arguments name, when they name a known one after the root flags; else None."""
    rest = list(args)
    while rest and rest[0] in ROOT_FLAGS:
        rest.pop(0)
    known = {c[0] for c in COMMANDS}
    return rest[0] if rest and rest[0] in known else None


def main() -> None:
    """Run the app; a flag the parser rejects (not a number, out of range, unknown) exits 2 with
    click's message naming the flag, plus a Fix line like every other bad input."""
    import sys

    try:  # typer >= 0.22 vendors click as typer._click
        click_exc: Any = importlib.import_module("typer._click.exceptions")
    except ImportError:
        click_exc = importlib.import_module("click.exceptions")
    try:
        code = build_app(command_name(sys.argv[1:]))(standalone_mode=False)
    except click_exc.UsageError as exc:
        exc.show()
        name = exc.ctx.command_path if exc.ctx is not None else "prfaas"
        sys.stderr.write(f"Fix: correct the flag named above; see `{name} --help` for its range and examples.\n")
        sys.exit(exc.exit_code)
    except click_exc.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
