"""The package's shape, read from its source: the pure core imports no CLI, rendering or YAML code
and does no file I/O; every import points down the pipeline's layers; no import circles; no
module-level mutable state; no function over 60 lines (issue #13)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "prfaas_plan"
FORBIDDEN = {"typer", "rich", "yaml", "prfaas_plan.cli", "prfaas_plan.report", "prfaas_plan.catalog"}

# Layers, top to bottom: a module may import its own package or any package on a LOWER layer
# (a larger number). Packages on one layer do not import each other.
LAYERS = {
    "__main__": 0,
    "cli": 1,
    "commands": 2,
    "assemble": 3, "report": 3,
    "catalog": 4,
    "io": 5,
    "profiler": 6, "sim": 6,
    "plan": 7,
    "perf": 8,
    "specs": 9,
    "errors": 10, "__init__": 10,
}
MAX_FUNCTION_LINES = 60


def _modules():
    for f in sorted(PKG.rglob("*.py")):
        rel = f.relative_to(PKG)
        name = "prfaas_plan." + ".".join(rel.with_suffix("").parts)
        yield f, rel, name.removesuffix(".__init__"), ast.parse(f.read_text())


def _is_module(dotted: str) -> bool:
    p = PKG.parent.joinpath(*dotted.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _imports(tree):
    """Every prfaas_plan module a file imports, at module level or inside functions
    (`from pkg import mod` counts as importing `pkg.mod`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                yield sub if _is_module(sub) else node.module


def _layer_of(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if module.count(".") else "__init__"
    return top, LAYERS[top]


def test_pure_core_imports():
    bad = []
    for sub in ("perf", "plan", "sim"):
        for f in (PKG / sub).glob("*.py"):
            tree = ast.parse(f.read_text())
            for n in _imports(tree):
                if any(n == x or n.startswith(x + ".") for x in FORBIDDEN):
                    bad.append(f"{f.name}: {n}")
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                    bad.append(f"{f.name}: open()")
    assert not bad, bad


def test_every_package_has_a_layer():
    tops = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    tops |= {p.stem for p in PKG.glob("*.py")}
    assert tops <= set(LAYERS), f"give these a layer in LAYERS: {sorted(tops - set(LAYERS))}"


def test_imports_point_down():
    bad = []
    for _, rel, name, tree in _modules():
        src_pkg, src_layer = _layer_of(name)
        for target in _imports(tree):
            if not target.startswith("prfaas_plan"):
                continue
            dst_pkg, dst_layer = _layer_of(target)
            if dst_pkg != src_pkg and dst_layer <= src_layer:
                bad.append(f"{rel} imports {target} ({src_pkg} layer {src_layer} -> {dst_pkg} layer {dst_layer})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {}
    for _, _, name, tree in _modules():
        graph[name] = {t for t in _imports(tree) if t.startswith("prfaas_plan") and t != name}
    state: dict[str, int] = {}

    def visit(n, path):
        state[n] = 1
        for m in graph.get(n, ()):
            if m not in graph:
                continue
            if state.get(m) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, n, m]))
            if m not in state:
                visit(m, [*path, n])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])


def test_no_module_level_mutable_state():
    """No `global`, no cached (memoising) module functions, no mutable module-level containers
    except UPPER_CASE constants (tables that are read, never written)."""
    bad = []
    for _, rel, _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                bad.append(f"{rel}:{node.lineno}: global {', '.join(node.names)}")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for d in node.decorator_list:
                    src = ast.unparse(d)
                    if "cache" in src:
                        bad.append(f"{rel}:{node.lineno}: @{src} on {node.name}")
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            value = getattr(node, "value", None)
            if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp):
                for t in targets:
                    if isinstance(t, ast.Name) and not t.id.isupper() and t.id != "__all__":
                        bad.append(f"{rel}:{node.lineno}: module-level mutable {t.id}")
    assert not bad, "\n".join(bad)


def test_functions_are_short():
    bad = []
    for _, rel, _, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    bad.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    assert not bad, "\n".join(bad)
