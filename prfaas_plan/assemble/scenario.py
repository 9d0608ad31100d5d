"""Loading a scenario: the file (a catalog name or a path), `--set PATH=VALUE` overrides, schema
validation, and the workload it names (catalog or inline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import InvalidFileError, PrfaasError
from prfaas_plan.io.yamlfile import read_yaml, validate_data
from prfaas_plan.specs.scenario import ScenarioSpec
from prfaas_plan.specs.workload import WorkloadSpec

DEFAULT_SCENARIO = "prfaas-paper"


@dataclass(frozen=True)
class LoadedScenario:
    spec: ScenarioSpec
    workload: WorkloadSpec
    path: str


def _parse_set(s: str) -> tuple[str, list[str], Any]:
    """PATH=VALUE, the value read as the scenario file's values are (`io.yamlfile.parse_yaml_value`:
    `0100` is 100, a key twice is refused); a value that is not YAML at all is taken as text."""
    import yaml

    from prfaas_plan.io.yamlfile import parse_yaml_value

    if "=" not in s:
        raise PrfaasError(f"--set '{s}' is not PATH=VALUE", fix="e.g. --set link.bandwidth_gbps=50")
    path, raw = s.split("=", 1)
    keys = path.strip().split(".")
    if not any(keys):
        raise PrfaasError(f"--set '{s}' has an empty path", fix="e.g. --set link.bandwidth_gbps=50")
    if not all(keys):  # 'prfaas.' set the whole prfaas block, 'a..b' set a.b
        raise PrfaasError(f"--set '{s}': the path '{path.strip()}' has an empty field name",
                          fix="name each field between the dots, e.g. --set link.bandwidth_gbps=50")
    try:
        value = parse_yaml_value(raw)
    except yaml.constructor.ConstructorError as exc:  # a duplicated key, an unknown tag: not just text
        raise PrfaasError(f"--set {path.strip()}: {getattr(exc, 'problem', None) or exc}",
                          fix="give each key once, in plain YAML") from None
    except (yaml.YAMLError, ValueError):
        value = raw
    return path, keys, value


def apply_overrides(data: dict[str, Any], sets: list[str], where: str) -> dict[str, Any]:
    for s in sets:
        path, keys, value = _parse_set(s)
        node: Any = data
        for k in keys[:-1]:
            if not isinstance(node, dict):
                raise PrfaasError(f"--set {path}: '{k}' is not a section", where=where,
                                  fix="set the parent itself, or a field of a section")
            if node.get(k) is None:
                node[k] = {}
            node = node[k]
        if not isinstance(node, dict):
            raise PrfaasError(f"--set {path}: parent is not a section", where=where,
                              fix="set the parent itself, or a field of a section")
        node[keys[-1]] = value
    return data


def _check_names(cat: Catalog, sc: ScenarioSpec, where: str) -> None:
    """Each catalog name or path the scenario gives (model, workload, each cluster's hardware) exists;
    one that does not is an error naming the scenario file and the field (not a bare 'unknown
    model', nor, in `size`, a GPU pair skipped as if it could not serve the model)."""
    refs = [("model", "models", sc.model)]
    if isinstance(sc.workload, str):
        refs.append(("workload", "workloads", sc.workload))
    refs += [(f"{name}.hardware", "hardware", cl.hardware) for name in ("prfaas", "local")
             if (cl := getattr(sc, name)) is not None]
    for field, kind, ref in refs:
        try:
            cat.resolve(kind, ref)
        except PrfaasError as exc:
            raise InvalidFileError(f"field '{field}': {exc.message}", where=where, fix=exc.fix) from None


def load_scenario(cat: Catalog, ref: str | None, sets: list[str] | None = None) -> LoadedScenario:
    path = cat.resolve("scenarios", ref or DEFAULT_SCENARIO)
    data = read_yaml(path, cache=True)
    if not isinstance(data, dict):
        raise PrfaasError("expected a mapping at the top level", where=str(path),
                          fix="a scenario is a YAML mapping of fields (see `prfaas schema scenario`)")
    if isinstance(data.get("workload"), str) and any(x.strip().startswith("workload.") for x in sets or []):
        # `--set workload.*` on a named workload: inline the named file, then override it
        data["workload"] = read_yaml(cat.resolve("workloads", data["workload"]), cache=True)
    data = apply_overrides(data, sets or [], str(path))
    sc = validate_data(ScenarioSpec, data, str(path))
    _check_names(cat, sc, str(path))
    wl = cat.workload(sc.workload) if isinstance(sc.workload, str) else sc.workload
    return LoadedScenario(sc, wl, str(path))
