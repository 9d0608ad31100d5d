"""The full `prfaas` typer app, every command registered (see `cli/registry.py`, which `prfaas`
runs through: it builds only the command a command line names)."""

from __future__ import annotations

from prfaas_plan.cli.registry import build_app, main

app = build_app()

__all__ = ["app", "main"]
