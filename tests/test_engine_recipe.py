"""Engine settings of a published launch command as recipe data: the chunked-prefill size and
speculative decoding with the checkpoint's MTP layers (the draft's extend over every prefill chunk).
Hand-worked cases with the arithmetic in comments."""

import json

import numpy as np
import pytest

from prfaas_plan import catalog
from prfaas_plan.perf.ops import _layer_params, build_ops, weight_bytes
from prfaas_plan.perf.roofline import chunk_tokens, decode_step_time, forward_time, prefill_time
from prfaas_plan.perf.serving import prefill_service_time, token_budget
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import Recipe, RecipeOverrides, Speculative

H200 = catalog.load_hardware("h200")
MIMO = catalog.load_model("mimo-v2-flash")
# MiMo-V2-Flash's published SGLang command (README "Quick Start with SGLang"): --chunked-prefill-size
# 16384, --speculative-algorithm EAGLE --speculative-num-steps 3 ... --enable-mtp (multi-layer MTP)
PUBLISHED = {"chunked_prefill_tokens": 16384,
             "speculative": Speculative(algorithm="eagle", num_steps=3, multi_layer=True)}


def _mimo(**upd: object) -> ModelSpec:
    return MIMO.with_recipe(MIMO.recipe.model_copy(update=upd))


def test_the_recipe_chunk_is_the_engines_and_dp_attention_divides_it():
    """--chunked-prefill-size 16384 with --dp-size 2: SGLang gives each DP group 16384 // 2 = 8192
    tokens per forward, so a lone 32K request is 32768 / 8192 = 4 forwards (8 with the GPU's default
    8192 // 2 = 4096): overhead = request + 4 x forward."""
    m = _mimo(chunked_prefill_tokens=16384)
    assert chunk_tokens(m, H200, 8) == 8192 and chunk_tokens(MIMO, H200, 8) == 4096
    assert token_budget(m, H200) == 16384 and token_budget(MIMO, H200) == 8192
    e = H200.efficiency
    got = prefill_time(m, H200, 8, [32768]).by_class["overhead"][0]
    assert got == pytest.approx(e.request_overhead_s + 4 * e.forward_overhead_s, rel=1e-12)
    # a busy instance batches up to the same budget: a 4K request is a quarter of one 16K forward
    # shared over the 2 groups, so it pays 4096 / 16384 of the per-forward overhead
    occ = prefill_service_time(m, H200, 8, [4096]).by_class["overhead"][0]
    assert occ == pytest.approx(e.forward_overhead_s * 4096 / 16384, rel=1e-12)


def test_the_draft_extend_costs_its_own_ops_on_every_chunk_and_nothing_else():
    """With speculative decoding every prefill chunk also runs the draft extend: per draft layer
    enorm/hnorm, eh_proj (2 x 4096 -> 4096, bf16), one SWA layer with a dense 16384 FFN, the norms,
    the all-reduces and the LM head on the last position. A 16K request in 4096-token chunks is 4
    chunks, so T(spec) - T(plain) = 4 x (the draft ops' time on one 4096-token chunk), and
    multi-layer MTP with 3 steps runs 3 draft layers: 3 x one layer's."""
    spec = Speculative(algorithm="eagle", num_steps=3, multi_layer=True)
    m = _mimo(speculative=spec)
    draft = [o for o in build_ops(m, 8) if o.label.startswith("mtp.")]
    assert {o.count for o in draft} == {3} and len(draft) == 13
    assert not [o for o in build_ops(MIMO, 8) if o.label.startswith("mtp.")]
    eh = next(o for o in draft if o.label == "mtp.eh_proj")
    assert (eh.n, eh.k, eh.weights_dtype) == (4096, 8192, "bf16")
    # chunks of 4096 tokens over prefixes 0, 4096, 8192, 12288: the draft's SWA window is 128
    # (the draft's kernels only: a forward of the draft ops alone would also carry the host floor of a
    # whole forward, `layer_launch_s`, which the full 4096-token forward's kernels outlast)
    fts = [forward_time(m, H200, 8, [4096.0], [p], ops=draft) for p in (0, 4096, 8192, 12288)]
    per_chunk = [f.total[0] - f.by_class["overhead"][0] for f in fts]
    delta = prefill_time(m, H200, 8, [16384]).seconds[0] - prefill_time(MIMO, H200, 8, [16384]).seconds[0]
    assert delta == pytest.approx(sum(per_chunk), rel=1e-9)
    one = _mimo(speculative=Speculative(algorithm="eagle", num_steps=3, multi_layer=False))
    d1 = prefill_time(one, H200, 8, [16384]).seconds[0] - prefill_time(MIMO, H200, 8, [16384]).seconds[0]
    assert delta == pytest.approx(3 * d1, rel=1e-9)
    assert 0 < delta < 0.05 * prefill_time(MIMO, H200, 8, [16384]).seconds[0]  # a 1-layer draft vs 48 layers


def test_the_draft_extend_is_not_hidden_by_the_target_forwards_host_floor():
    """The draft extend is a forward of its own, launched after the target's (it reads the target's
    hidden states), so its kernels cannot fill the time the GPU waits on the target's launches. A
    lone 1K MiMo request is one forward whose kernels (32.7 ms) are below its host floor, 48 layers x
    1.2 ms = 57.6 ms: T(spec) - T(plain) is still the draft's own kernels (1.7 ms for 3 draft layers
    at 1K), not 0 as when the floor was taken over the target's and the draft's kernels together."""
    from prfaas_plan.perf.ops import is_draft

    m = _mimo(speculative=Speculative(algorithm="eagle", num_steps=3, multi_layer=True))
    target = forward_time(MIMO, H200, 8, [1024.0], [0.0])
    assert target.total[0] - target.by_class["overhead"][0] < MIMO.num_hidden_layers * H200.efficiency.layer_launch_s
    fd = forward_time(m, H200, 8, [1024.0], [0.0], ops=[o for o in build_ops(m, 8) if is_draft(o)])
    draft_s = fd.total[0] - fd.by_class["overhead"][0]
    delta = prefill_time(m, H200, 8, [1024]).seconds[0] - prefill_time(MIMO, H200, 8, [1024]).seconds[0]
    assert draft_s > 0 and delta == pytest.approx(draft_s, rel=1e-9)


def test_decode_is_not_speculative_and_says_so():
    """Decode speculation is not modelled (no acceptance-rate data): the decode step is the plain
    model's, and the output says so."""
    m = _mimo(**PUBLISHED)
    b, ctx = np.array([1.0, 64.0]), np.array([8192.0, 8192.0])
    np.testing.assert_allclose(decode_step_time(m, H200, 8, b, ctx).total, decode_step_time(MIMO, H200, 8, b, ctx).total)
    from prfaas_plan.perf.api import mechanism_notes

    notes = " ".join(mechanism_notes(m, H200, 8))
    assert "decode speculation is NOT modelled" in notes and "3 MTP layers" in notes
    assert not [n for n in mechanism_notes(MIMO, H200, 8) if "speculative" in n]


def test_mtp_layers_match_the_published_block_size_and_are_loaded_when_used():
    """MiMo's README: 0.33B parameters per MTP block. One block = SWA attention 4096 x (64 x 192 +
    8 x 320) + 64 x 128 x 4096 = 94.4M, dense FFN 3 x 4096 x 16384 = 201.3M, eh_proj 2 x 4096^2 = 33.6M:
    329.3M. With speculative decoding the engine loads 3 of them (fp8 layer, bf16 eh_proj)."""
    mtp = MIMO.mtp
    assert mtp is not None and mtp.count == 3
    per_layer = _layer_params(4096, mtp.attention, mtp.ffn)
    assert per_layer + 2 * 4096 * 4096 == pytest.approx(0.33e9, rel=0.01)
    extra = weight_bytes(_mimo(**PUBLISHED)) - weight_bytes(MIMO)
    assert extra == pytest.approx(3 * (per_layer * 1.0 + 2 * 4096 * 4096 * 2.0), rel=1e-12)


def test_speculative_without_mtp_layers_or_with_too_few_is_refused():
    mm = catalog.load_model("minimax-m2.5")
    with pytest.raises(ValueError, match="recipe.speculative: speculative decoding needs the model's MTP"):
        mm.with_recipe(mm.recipe.model_copy(update={"speculative": PUBLISHED["speculative"]}))
    with pytest.raises(ValueError, match="needs 4 MTP layers; the checkpoint has 3"):
        _mimo(speculative=Speculative(algorithm="eagle", num_steps=4, multi_layer=True))
    with pytest.raises(ValueError):
        Recipe.model_validate({**MIMO.recipe.model_dump(), "chunked_prefill_tokens": 0})


def _kv(*args: str):
    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    return CliRunner().invoke(app, ["kv", *args])


def test_kv_chunked_prefill_size_override_and_json():
    base = json.loads(_kv("mimo-v2-flash", "--lengths", "32k", "-f", "json").stdout)
    big = json.loads(_kv("mimo-v2-flash", "--lengths", "32k", "-f", "json", "--chunked-prefill-size", "16k").stdout)
    assert base["recipe"]["chunked_prefill_tokens"] is None and base["recipe"]["speculative"] is None
    assert big["recipe"]["chunked_prefill_tokens"] == 16384
    assert "overridden: chunked_prefill_tokens=16384" in big["recipe"]["source"]
    assert big["rows"][0]["prefill_s"] < base["rows"][0]["prefill_s"]  # 4 forwards instead of 8
    assert RecipeOverrides(chunked_prefill_tokens=16384).apply(MIMO.recipe).chunked_prefill_tokens == 16384
    bad = _kv("mimo-v2-flash", "--chunked-prefill-size", "0")
    assert bad.exit_code == 2 and "--chunked-prefill-size" in bad.output and "Traceback" not in bad.output


def test_a_model_file_with_speculative_decoding_reports_it(tmp_path):
    import yaml

    d = yaml.safe_load((catalog.catalog_dir("models") / "mimo-v2-flash.yaml").read_text())
    d["recipe"].update(chunked_prefill_tokens=16384, speculative={"algorithm": "eagle", "num_steps": 3,
                                                                  "multi_layer": True})
    f = tmp_path / "mimo-published.yaml"
    f.write_text(yaml.safe_dump(d))
    out = json.loads(_kv(str(f), "--lengths", "8k", "-f", "json").stdout)
    assert out["recipe"]["speculative"] == {"algorithm": "eagle", "num_steps": 3, "multi_layer": True,
                                            "draft_extend_layers": 3}
    assert any("decode speculation is NOT modelled" in n for n in out["notes"])
    del d["mtp"]
    f.write_text(yaml.safe_dump(d))
    r = _kv(str(f))
    assert r.exit_code == 2 and "speculative" in r.output and "mtp" in r.output and "Traceback" not in r.output


def test_a_chunk_smaller_than_the_dp_groups_is_refused_on_every_surface(tmp_path):
    """MiMo's recipe has 2 DP-attention groups and SGLang divides the chunked-prefill size over them
    (16384 // 2): a size of 1 gives each group 1 // 2 = 0 tokens per forward (an internal error, a
    division by zero, before). Refused as bad input naming the flag or field; 2 tokens (1 per group) runs."""
    import yaml
    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    r = _kv("mimo-v2-flash", "--lengths", "1k", "--chunked-prefill-size", "1")
    assert r.exit_code == 2 and "--chunked-prefill-size" in r.output and "2 DP-attention groups" in r.output
    assert _kv("mimo-v2-flash", "--lengths", "1k", "--chunked-prefill-size", "2").exit_code == 0
    r = CliRunner().invoke(app, ["perf", "mimo-v2-flash", "--prefill-batch-tokens", "1"])
    assert r.exit_code == 2 and "chunked_prefill_tokens" in r.output and "Traceback" not in r.output
    for flag, cmd in (("--chunked-prefill-size", "kv"), ("--prefill-batch-tokens", "perf")):  # an empty value
        r = CliRunner().invoke(app, [cmd, "mimo-v2-flash", flag, ""])  # was read as "not given"
        assert r.exit_code == 2 and flag in r.output
    with pytest.raises(ValueError, match="recipe.chunked_prefill_tokens: a chunked-prefill size of 1 token"):
        _mimo(chunked_prefill_tokens=1)
    d = yaml.safe_load((catalog.catalog_dir("models") / "mimo-v2-flash.yaml").read_text())
    d["recipe"]["chunked_prefill_tokens"] = 1
    f = tmp_path / "mimo-tiny-chunk.yaml"
    f.write_text(yaml.safe_dump(d))
    r = _kv(str(f))
    assert r.exit_code == 2 and "chunked_prefill_tokens" in r.output and "Traceback" not in r.output


def test_perf_prefill_batch_tokens_is_the_recipes_chunk():
    """`perf --prefill-batch-tokens` (alias --chunked-prefill-size, kv's flag) is the recipe's
    chunked-prefill size: the same figures as the recipe field set in the model, and reported in
    the recipe (it was a second path beside the recipe, shown as null there)."""
    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    def perf(*args: str) -> dict:
        r = CliRunner().invoke(app, ["perf", "mimo-v2-flash", "--input-length", "32k", "-f", "json", *args])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    a, b = perf("--prefill-batch-tokens", "16k"), perf("--chunked-prefill-size", "16k")
    assert a == b and a["recipe"]["chunked_prefill_tokens"] == 16384 and a["prefill"]["batch_tokens"] == 16384
    base = perf()
    assert base["recipe"]["chunked_prefill_tokens"] is None and base["prefill"]["batch_tokens"] == 8192
    # 32K in 8192-token chunks per DP group: 4 forwards instead of 8, the recipe field's own figure
    m = _mimo(chunked_prefill_tokens=16384)
    assert a["prefill"]["latency_s"] == pytest.approx(prefill_time(m, H200, 8, [32768]).seconds[0], rel=1e-6)
    assert a["prefill"]["latency_s"] < base["prefill"]["latency_s"]


@pytest.mark.parametrize("value", [1, 0, "yes"])
def test_a_number_or_word_where_true_or_false_is_expected_is_refused(value):
    """pydantic's lax mode reads 1 and "yes" as true: `multi_layer: 1` silently ran multi-layer MTP."""
    from pydantic import ValidationError

    from prfaas_plan.specs.recipe import Speculative

    with pytest.raises(ValidationError, match="multi_layer: .* where true or false is expected"):
        Speculative.model_validate({"algorithm": "eagle", "num_steps": 3, "multi_layer": value})
    assert Speculative.model_validate({"algorithm": "eagle", "num_steps": 3, "multi_layer": True}).multi_layer
