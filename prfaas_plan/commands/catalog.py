"""`prfaas catalog` and `prfaas models import`: catalog entries for the report, and a model YAML
from a Hugging Face config.json."""

from __future__ import annotations

from pathlib import Path

from prfaas_plan.catalog import Catalog
from prfaas_plan.errors import PrfaasError
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec


def check_name_flag(name: str | None, flag: str = "--name") -> None:
    """A --name given (even empty: it used to fall back to the default without a word) must be a valid
    catalog name; checked before the input file is read."""
    from prfaas_plan.specs.base import name_problem

    if name is not None and (problem := name_problem(name)):
        raise PrfaasError(f"{flag} {name[:80]!r}: {problem}", fix=f"give a one-line name, e.g. {flag} my-model")


def hardware_entries(name: str | None) -> list[HardwareSpec]:
    cat = Catalog()
    return [cat.hardware(n) for n in ([name] if name is not None else cat.names("hardware"))]


def model_entries(name: str | None) -> list[ModelSpec]:
    cat = Catalog()
    return [cat.model(n) for n in ([name] if name is not None else cat.names("models"))]


def import_model(config_json: Path, name: str | None, output: Path | None = None) -> tuple[str, str]:
    """(catalog YAML, a note for stderr). The model is named `--name`, else after the output file
    (`-o models/my-model.yaml` -> my-model, so the catalog finds it by that name), else after the
    config's `_name_or_path` / `model_type`."""
    from prfaas_plan.catalog.store import CATALOG_PATH_ENV
    from prfaas_plan.io.hf_config import import_config

    check_name_flag(name)
    nm = name or (output.stem.lower() if output is not None else None)
    text = import_config(config_json, nm)
    import yaml

    got = str(yaml.safe_load(text)["name"])
    if output is None:
        return text, f"model '{got}' (write it with -o FILE.yaml to use it)"
    in_user = any(output.resolve().parent == (d / "models").resolve() for d in Catalog().user_dirs)
    use = (f"use it by name: prfaas kv {got}" if in_user else
           f"use it as: prfaas kv {output}; or by name: put it in FOLDER/models/ with "
           f"{CATALOG_PATH_ENV}=FOLDER (looked up before the shipped catalog)")
    return text, f"wrote {output} (model '{got}'); {use}"
