"""YAML files: reading (syntax errors name the file, line and column) and validating a parsed
mapping against a pydantic schema (each bad field named, with the fix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from prfaas_plan.errors import InvalidFileError
from prfaas_plan.io.files import read_text
from prfaas_plan.specs.limits import MAX_YAML_FILE_BYTES, MAX_YAML_VALUES

M = TypeVar("M", bound=BaseModel)


# libyaml recurses on the C stack (a deeply nested file crashes the process); texts nested deeper
# than this (brackets, or indentation columns / 2) go to the pure-Python parser, which raises
# RecursionError, reported as a clear message. Catalog and scenario files nest < 10 levels.
C_PARSER_MAX_DEPTH = 64


def _shallow(text: str) -> bool:
    """Whether `text` surely nests less than C_PARSER_MAX_DEPTH levels (brackets inside strings
    count too: a conservative over-estimate)."""
    import re

    import numpy as np

    b = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    step_of = np.zeros(256, dtype=np.int64)  # +1 for an opening bracket, -1 for a closing one, by byte
    step_of[[ord("["), ord("{")]] = 1
    step_of[[ord("]"), ord("}")]] = -1
    depth = int(np.cumsum(step_of[b]).max()) if len(b) else 0
    indent = max((len(m) for m in re.findall(r"^[ \t-]*", text, flags=re.M)), default=0)
    return depth + indent // 2 < C_PARSER_MAX_DEPTH


# YAML 1.1 numbers nobody means in a planner's file, read as YAML 1.2 does: a leading zero is not octal
# (`gpus: 0100` was 64 GPUs), `1:30` is not base-60 (`bandwidth_gbps: 1:30` was 90), and `1_000`,
# `0x40`, `0b100` are not numbers. Only plain decimals resolve to int/float (plus 1e5, which YAML 1.1
# read as a string); anything else stays a string, which the schema then reads as a decimal or refuses.
_INT_1_2 = r"^[-+]?[0-9]+$"
_FLOAT_1_2 = (r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")


def _numbers_1_2(cls: Any) -> None:
    """Give loader class `cls` its own implicit resolvers with the YAML 1.2 number patterns above."""
    import re

    table = {ch: [(tag, rx) for tag, rx in rs if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
             for ch, rs in cls.yaml_implicit_resolvers.items()}
    cls.yaml_implicit_resolvers = table
    cls.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(_INT_1_2), list("-+0123456789"))
    cls.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(_FLOAT_1_2), list("-+0123456789."))


def _int_1_2(loader: Any, node: Any) -> int:
    return int(loader.construct_scalar(node))  # '0100' -> 100 (PyYAML's int constructor reads octal)


def _loader(fast: bool = True) -> Any:
    """A safe loader that refuses duplicated mapping keys (PyYAML silently keeps the last), resolves
    numbers as YAML 1.2 does (`_numbers_1_2`) and takes merge keys (`<<: *base`, whose own keys
    override the merged ones); on libyaml's C parser where PyYAML has it and `fast` (about 10x faster
    than the pure-Python scanner; the constructor, and so the safe types and these checks, are the
    same Python code)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else yaml.SafeLoader

    class StrictLoader(base):  # type: ignore[valid-type,misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            own = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
            if isinstance(node, yaml.MappingNode):
                self.flatten_mapping(node)  # merged keys first, then the node's own, which win
            for k, _ in own:
                key = self.construct_object(k, deep=True)
                try:
                    first = seen.get(key)
                    seen[key] = k.start_mark.line + 1
                except TypeError:
                    continue  # an unhashable key: the constructor reports it
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicated key {key!r} (first on line {first}; the YAML would keep only one)",
                        k.start_mark)
            return super().construct_mapping(node, deep)

        def construct_document(self, node: Any) -> Any:
            _check_expansion(node)
            return super().construct_document(node)

    _numbers_1_2(StrictLoader)
    StrictLoader.add_constructor("tag:yaml.org,2002:int", _int_1_2)
    return StrictLoader


def parse_yaml_value(text: str) -> Any:
    """One YAML value given on the command line (`--set PATH=VALUE`), read as files are (numbers,
    duplicate keys, alias expansion); yaml.YAMLError or ValueError when it is not YAML."""
    import yaml

    return yaml.load(text, Loader=_loader(_shallow(text)))  # noqa: S506 - a SafeLoader subclass


class _Expansion(Exception):
    """A document whose aliases expand too far or refer to themselves (`_check_expansion`)."""


def _children(node: Any) -> list[Any]:
    if isinstance(node.value, list):  # a sequence (nodes) or a mapping ((key, value) pairs)
        return [x for item in node.value for x in (item if isinstance(item, tuple) else (item,))]
    return []


def _check_expansion(root: Any) -> None:
    """Refuse a composed document that expands past MAX_YAML_VALUES values once its aliases are
    resolved (each `*name` repeats a whole anchored subtree, so nine lines can stand for 10^9
    values: everything that walks the value, the cache's JSON and the schema, would hang), or whose
    alias refers to an anchor it is inside (a recursive value). Each node is sized once."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in _children(node))
            if size[key] > MAX_YAML_VALUES:
                raise _Expansion(f"line {node.start_mark.line + 1}: its aliases (*name) expand to more than "
                                 f"{MAX_YAML_VALUES:,} values")
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Expansion(f"line {node.start_mark.line + 1}: an alias (*name) refers to the anchor it is inside "
                             "(a value that contains itself)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node))


def _long_number_line(text: str) -> int:
    import re

    m = re.search(r"\d{4000,}", text)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def read_yaml(path: Path, cache: bool = False) -> Any:
    """The parsed file; with `cache`, through the persistent cache of parsed files (`io.yamlcache`)."""
    text = read_text(path, max_bytes=MAX_YAML_FILE_BYTES)
    if cache:
        from prfaas_plan.io import yamlcache

        hit, value = yamlcache.lookup(text)
        if hit:
            return value
        value = _parse(text, path)
        yamlcache.store(text, value)
        return value
    return _parse(text, path)


def _parse(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader(_shallow(text)))  # noqa: S506 - a SafeLoader subclass
    except _Expansion as exc:
        raise InvalidFileError(str(exc), where=str(path),
                               fix="write the values out, or repeat fewer anchored blocks") from None
    except RecursionError:
        raise InvalidFileError("nested too deeply (more levels than any catalog or scenario file has)",
                               where=str(path), fix="flatten the file; see `prfaas schema` for its shape") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        n = _long_number_line(text)
        raise InvalidFileError(f"line {n}: a value cannot be read ({exc})" if n else f"a value cannot be read ({exc})",
                               where=str(path), fix="write numbers with at most a few dozen digits") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidFileError(
            f"malformed YAML{line}: {problem}", where=str(path), fix="fix the YAML syntax"
        ) from None


def format_validation_error(exc: ValidationError, where: str) -> InvalidFileError:
    from prfaas_plan.specs.hardware import REFIT_FIX, REMOVED_FIELDS

    lines, refit = [], False
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg, last = err["msg"], str(err["loc"][-1]) if err["loc"] else ""
        in_efficiency = bool(err["loc"]) and err["loc"][0] == "efficiency"
        if err["type"] == "extra_forbidden" and last in REMOVED_FIELDS:
            msg, refit = f"removed on {REMOVED_FIELDS[last]}: rerun `prfaas calibrate` / see README", True
        elif err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see `prfaas schema`)"
        elif err["type"] == "missing":
            msg = "required field is missing" + (" (a fitted parameter: `prfaas calibrate` writes it)"
                                                 if in_efficiency else "")
            refit = refit or in_efficiency
        elif "prfaas calibrate" in msg:
            refit = True
        lines.append(f"  field '{loc}': {msg}")
    more = len(exc.errors()) - 8
    if more > 0:
        lines.append(f"  ... and {more} more")
    return InvalidFileError(
        "invalid values:\n" + "\n".join(lines),
        where=where,
        fix=REFIT_FIX if refit else "correct the fields named above",
    )


def validate_data(schema: type[M], data: Any, where: str) -> M:
    if not isinstance(data, dict):
        raise InvalidFileError(
            f"expected a mapping at the top level, got {type(data).__name__}", where=where,
            fix="the file must be a YAML mapping of fields (see `prfaas schema`)",
        )
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, where) from None
