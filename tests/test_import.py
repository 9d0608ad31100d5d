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


def test_integer_4_bit_checkpoints_import_as_int4(tmp_path):
    """AWQ/GPTQ `bits: 4` and compressed-tensors int 4-bit weights were imported as bf16 (4x the weight
    bytes); fp8 and no quantisation are unchanged."""
    import json

    base = json.loads((FIX / "llama-config.json").read_text())
    for qc, want in [({"quant_method": "awq", "bits": 4}, "int4"), ({"quant_method": "gptq", "bits": 4}, "int4"),
                     ({"quant_method": "compressed-tensors", "config_groups": {"group_0": {
                         "weights": {"num_bits": 4, "type": "int"}}}}, "int4"),
                     ({"quant_method": "fp8"}, "fp8"), (None, "bf16")]:
        p = tmp_path / "config.json"
        p.write_text(json.dumps({**base, **({"quantization_config": qc} if qc else {})}))
        assert yaml.safe_load(import_config(p, "x"))["weights_dtype"] == want, qc
