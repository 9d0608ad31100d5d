"""KV sizing against hand arithmetic (specs.md A3 formulas)."""

import pytest

from prfaas_plan import catalog
from prfaas_plan.perf.kv import kv_bytes, kv_layout

MiB = 2**20

# (model, bytes/token, fixed state bytes), worked by hand:
CASES = [
    ("minimax-m2.5", 62 * 2 * 8 * 128 * 2, 0),
    ("qwen3-235b", 94 * 2 * 4 * 128 * 2, 0),
    ("qwen3-30b-a3b", 48 * 2 * 4 * 128 * 2, 0),
    ("llama-3.1-70b", 80 * 2 * 8 * 128 * 2, 0),
    ("llama-3.1-8b", 32 * 2 * 8 * 128 * 2, 0),
    ("deepseek-v3", 61 * 576 * 2, 0),
    ("kimi-k2", 61 * 576 * 2, 0),
    # 9 GA x 4 kv heads x (192 + 128) x 2 B; SWA: 39 layers x 128 window x 8 x 320 x 2 B
    ("mimo-v2-flash", 9 * 4 * 320 * 2, 39 * 128 * 8 * 320 * 2),
    # 15 GA x 2 x 2 x 256 x 2 B; GDN 45 x 64 x 128 x 128 x 4 B + conv 45 x 12288 x 3 x 2 B
    ("qwen3.5-397b", 15 * 2 * 2 * 256 * 2, 45 * 64 * 128 * 128 * 4 + 45 * 12288 * 3 * 2),
    ("qwen3-next-80b", 12 * 2 * 2 * 256 * 2, 36 * 32 * 128 * 128 * 4 + 36 * 8192 * 3 * 2),
    # 7 MLA x 576 x 2 B; KDA 20 x 32 x 128 x 128 x 4 B + conv 20 x 3 x 4096 x 3 x 2 B
    ("kimi-linear-48b", 7 * 576 * 2, 20 * 32 * 128 * 128 * 4 + 20 * 3 * 4096 * 3 * 2),
    ("ring-2.5-1t", 10 * 576 * 2, 70 * 64 * 128 * 128 * 4),
    # 18 full x 8 x (64 + 64) x 2 B; 18 SWA x 128 x 8 x 128 x 2 B
    ("gpt-oss-120b", 18 * 8 * 128 * 2, 18 * 128 * 8 * 128 * 2),
    # 15 MLA x 576 x 2; 46 KDA x 56 x 128 x 128 x 4 + conv 46 x (3 x 56 x 128) x 3 x 2
    ("prfaas-hybrid-1t", 15 * 576 * 2, 46 * 56 * 128 * 128 * 4 + 46 * 3 * 56 * 128 * 3 * 2),
]


@pytest.mark.parametrize("name,per_token,fixed", CASES)
def test_kv_layout_matches_hand_arithmetic(name, per_token, fixed):
    lay = kv_layout(catalog.load_model(name))
    assert lay.full_bytes_per_token == per_token
    assert lay.fixed_state_bytes == pytest.approx(fixed)


def test_every_catalog_model_has_a_case():
    assert {c[0] for c in CASES} == set(catalog.catalog_names("models"))


def test_swa_below_window_uses_min_l_window():
    m = catalog.load_model("mimo-v2-flash")
    # at 64 tokens the 39 SWA layers hold 64 tokens each, not the 128-token window
    assert kv_bytes(m, [64])[0] == 64 * (9 * 4 * 320 * 2 + 39 * 8 * 320 * 2)


def test_proxy_matches_table5_within_5_percent():
    m = catalog.load_model("prfaas-hybrid-1t")
    got = kv_bytes(m, [1024, 8192, 32768, 131072]) / MiB
    for g, want in zip(got, [190.8, 308.9, 701.3, 2316.3], strict=True):
        assert abs(g / want - 1) < 0.05, (g, want)
