"""The pure core (perf/, plan/, sim/) imports no CLI, rendering or YAML code and does no file I/O."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "prfaas_plan"
FORBIDDEN = {"typer", "rich", "yaml", "prfaas_plan.cli", "prfaas_plan.report", "prfaas_plan.catalog"}


def test_pure_core_imports():
    bad = []
    for sub in ("perf", "plan", "sim"):
        for f in (PKG / sub).glob("*.py"):
            tree = ast.parse(f.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for n in names:
                    if any(n == x or n.startswith(x + ".") for x in FORBIDDEN):
                        bad.append(f"{f.name}: {n}")
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                    bad.append(f"{f.name}: open()")
    assert not bad, bad
