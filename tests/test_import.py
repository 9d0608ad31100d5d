"""`prfaas models import` on small config.json fixtures: KV layouts must match the catalog."""

from pathlib import Path

import pytest
import yaml

from prfaas_plan import catalog
from prfaas_plan.errors import InvalidFileError
from prfaas_plan.io.hf_config import import_config
from prfaas_plan.perf.kv import kv_layout
from prfaas_plan.specs.model import ModelSpec

FIX = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("fixture,catalog_name", [
    ("llama-config.json", "llama-3.1-8b"),
    ("kimi-linear-config.json", "kimi-linear-48b"),
    ("qwen3-next-config.json", "qwen3-next-80b"),
    ("deepseek-config.json", "deepseek-v3"),
])
def test_import_matches_catalog(fixture, catalog_name):
    m = ModelSpec.model_validate(yaml.safe_load(import_config(FIX / fixture, "x")))
    ref = catalog.load_model(catalog_name)
    a, b = kv_layout(m), kv_layout(ref)
    assert a.full_bytes_per_token == b.full_bytes_per_token
    assert a.fixed_state_bytes == pytest.approx(b.fixed_state_bytes)
    assert m.num_hidden_layers == ref.num_hidden_layers


def test_import_sliding_window_family():
    m = ModelSpec.model_validate(yaml.safe_load(import_config(FIX / "gpt-oss-config.json", "g")))
    kinds = sorted(g.attention.kind for g in m.layers)
    assert kinds == ["gqa", "swa"] and m.weights_dtype == "fp4"


def test_unsupported_config_names_missing_fields(tmp_path):
    p = tmp_path / "config.json"
    p.write_text('{"model_type": "weird", "hidden_size": 8}')
    with pytest.raises(InvalidFileError, match="num_hidden_layers"):
        import_config(p, None)
