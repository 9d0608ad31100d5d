"""VALIDATION against the paper's published measurements (not golden values).

Tolerances are issue 12's: KV throughput within 10% at 8K/32K/128K (Table 3, the three catalog
models), and the 1T hybrid's prefill seconds within 10% (Table 5). Table 5 is **not held** at 8K-128K
with every layer on its kernel-fitted mechanism (+18% / +30% / +29%): under the assumed recipe (INT4
routed experts, TP 8) the measured fused-MoE kernels alone (4.3 ms per layer at 8K tokens, the
Kimi-K2 shape, h200-sglang-mechanisms.csv) take 0.28 s of the paper's 0.72 s at 8K, and the kernels
alone exceed the paper's 7.40 s at 128K, so no engine overhead can close it (README, "Accuracy").
The acceptance at those points (10%) is a strict xfail that reports when it starts to hold; the 35%
bound is a regression guard (the known miss must not grow), not an acceptance. The arithmetic: the
paper's marginal cost is 45.6 us per token from 8K to 32K (0.373 s per 8K chunk), the kernels of one
8K chunk cost 0.475 s before attention growth or engine overhead (README, "Accuracy"). Errors are
printed win or lose (pytest -s).
"""

import pytest

from prfaas_plan import catalog
from prfaas_plan.perf import paper_targets as pt
from prfaas_plan.perf.api import kv_throughput

H200 = catalog.load_hardware("h200")


@pytest.mark.parametrize("model", sorted(pt.TABLE3_KV_GBPS))
@pytest.mark.parametrize("idx", [1, 2, 3])
def test_table3_kv_throughput_within_10pct(model, idx):
    tok = pt.TABLE3_TOKENS[idx]
    r = kv_throughput(catalog.load_model(model), H200, 8, [tok])
    want = pt.TABLE3_KV_GBPS[model][idx]
    err = r.kv_gbps[0] / want - 1
    print(f"{model} {tok}: predicted {r.kv_gbps[0]:.2f} Gbps vs paper {want} ({err:+.1%})")
    assert abs(err) <= 0.10


def _table5_err(idx):
    tok = pt.TABLE5_TOKENS[idx]
    r = kv_throughput(catalog.load_model(pt.TABLE5_MODEL), H200, 8, [tok])
    err = r.prefill_s[0] / pt.TABLE5_PREFILL_S[idx] - 1
    print(f"table5 {tok}: predicted {r.prefill_s[0]:.2f} s vs paper {pt.TABLE5_PREFILL_S[idx]} ({err:+.1%})")
    return err


def test_table5_prefill_1k_within_10pct():
    assert abs(_table5_err(0)) <= 0.10


@pytest.mark.parametrize("idx", [1, 2, 3])
def test_table5_8k_to_128k_regression_guard(idx):
    """Not an acceptance (that is the strict xfail below): the known +18/+30/+29% miss must not grow."""
    assert abs(_table5_err(idx)) <= 0.35


@pytest.mark.xfail(strict=True, reason="issue 12's 10% at 8K-128K is not held (+18/+30/+29%): module docstring")
def test_table5_within_10pct_at_8k_to_128k():
    assert all(abs(_table5_err(i)) <= 0.10 for i in (1, 2, 3))


def test_h20_is_about_2_8x_slower_at_p90_length():
    """Case study: 8xH20 takes ~9.7 s at the P90 length (62K) vs ~3.5 s on 8xH200."""
    m = catalog.load_model(pt.TABLE5_MODEL)
    h20 = kv_throughput(m, catalog.load_hardware("h20"), 8, [62000]).prefill_s[0]
    h200 = kv_throughput(m, H200, 8, [62000]).prefill_s[0]
    print(f"H20 {h20:.2f} s, H200 {h200:.2f} s, ratio {h20 / h200:.2f}")
    assert 2.2 <= h20 / h200 <= 3.4
    assert abs(h20 / 9.7 - 1) < 0.15
