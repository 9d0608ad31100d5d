"""Command-line interface: the typer app (`cli/app.py`), one module per command group, and what
they share (`cli/common.py`: output formats, the single error boundary, the output writer, flag
parsers). Commands parse flags, call one function of `commands/` and hand its plain result to
`report/`; no arithmetic here. `prfaas` and `python -m prfaas_plan` both enter through `main`.
"""

from __future__ import annotations


def main() -> None:
    from prfaas_plan.cli.registry import main as _main

    _main()
