"""Serving recipes: catalog data with sources, overrides, and clear errors for recipes that cannot run."""

import json

import pytest

from prfaas_plan import catalog
from prfaas_plan.errors import InfeasibleError, PrfaasError
from prfaas_plan.perf.recipe import check_recipe, resolve_recipe
from prfaas_plan.perf.roofline import prefill_time
from prfaas_plan.specs.model import ModelSpec
from prfaas_plan.specs.recipe import Recipe, RecipeOverrides

H200 = catalog.load_hardware("h200")
# models with no published recipe for an 8-GPU instance: the catalog states what it assumed
ASSUMED = {"gpt-oss-120b", "llama-3.1-8b", "prfaas-hybrid-1t"}


@pytest.mark.parametrize("name", ["deepseek-v3", "gpt-oss-120b", "kimi-k2", "kimi-linear-48b", "llama-3.1-70b",
                                  "llama-3.1-8b", "mimo-v2-flash", "minimax-m2.5", "prfaas-hybrid-1t", "qwen3-235b",
                                  "qwen3-next-80b", "qwen3.5-397b", "ring-2.5-1t"])
def test_every_catalog_model_carries_a_sourced_recipe_that_runs_on_8_h200(name):
    m = catalog.load_model(name)
    r = m.recipe
    assert r.gpus == 8 and r.attn_tp * r.attention_dp == 8 and r.moe_tp * r.expert_ep == 8
    assert len(r.source) > 40 and r.assumed == (name in ASSUMED)
    assert r.assumed == r.source.startswith("assumed")
    check_recipe(m, H200, r)  # fits and is valid: raises otherwise


def test_published_layouts():
    """Spot checks against the launch commands cited in the catalog."""
    mm = catalog.load_model("minimax-m2.5").recipe  # --tp-size 8 --ep-size 8, FP8 checkpoint
    assert (mm.weights_dtype, mm.attn_tp, mm.moe_tp, mm.expert_ep) == ("fp8", 8, 1, 8)
    mimo = catalog.load_model("mimo-v2-flash").recipe  # --tp-size 8 --dp-size 2 --enable-dp-attention
    assert (mimo.attn_tp, mimo.attention_dp) == (4, 2)
    kl = catalog.load_model("kimi-linear-48b").recipe  # TP only, bf16 checkpoint
    assert (kl.weights_dtype, kl.moe_tp, kl.expert_ep) == ("bf16", 8, 1)


def test_overrides_replace_parts_and_keep_the_rest():
    base = catalog.load_model("minimax-m2.5").recipe
    r = RecipeOverrides(weights_dtype="bf16", ep=2).apply(base)
    assert (r.weights_dtype, r.kv_dtype, r.expert_ep, r.moe_tp, r.attn_tp) == ("bf16", "bf16", 2, 4, 8)
    assert "overridden: weights_dtype=bf16, ep=2" in r.source
    r2 = RecipeOverrides(tp=4).apply(base)  # attention TP 4 on 8 GPUs = 2 DP-attention groups
    assert (r2.attn_tp, r2.attention_dp) == (4, 2)
    assert base.for_gpus(16).expert_ep == 16 and base.for_gpus(4).attention_dp == 1


def test_the_core_takes_a_recipe_argument():
    m = catalog.load_model("minimax-m2.5")
    bf16 = RecipeOverrides(weights_dtype="bf16").apply(m.recipe)
    t_fp8 = prefill_time(m, H200, 8, [8192]).seconds[0]
    t_bf16 = prefill_time(m, H200, 8, [8192], recipe=bf16).seconds[0]
    assert t_bf16 > t_fp8  # bf16 GEMMs run at half the fp8 peak
    assert m.recipe.weights_dtype == "fp8"  # the catalog model is unchanged


@pytest.mark.parametrize(("model", "hw", "ov", "field", "fix"), [
    ("minimax-m2.5", "h200", {"ep": 16}, "ep 16 must divide", "divide the instance"),  # EP larger than the instance
    ("qwen3-next-80b", "h200", {"tp": 8, "attention_dp": 1}, None, None),  # valid: no error
    ("gpt-oss-120b", "a100", {"weights_dtype": "fp8"}, "recipe.weights_dtype (--weights-dtype)", "bf16"),
    ("kimi-k2", "h20", {"weights_dtype": "fp8"}, "recipe.weights_dtype (--weights-dtype)", "at least 12 GPUs"),
])
def test_recipes_that_cannot_run_name_the_field_and_the_fix(model, hw, ov, field, fix):
    m, h = catalog.load_model(model), catalog.load_hardware(hw)
    if field is None:
        resolve_recipe(m, h, 8, RecipeOverrides(**ov))
        return
    with pytest.raises(PrfaasError) as e:
        resolve_recipe(m, h, 8, RecipeOverrides(**ov))
    msg = e.value.render()
    assert field in msg and fix in msg, msg


def test_architecture_rules_ep_above_experts_and_tp_not_dividing_heads():
    m = catalog.load_model("minimax-m2.5")  # 48 heads, 256 experts
    r16 = Recipe(gpus=16, weights_dtype="fp8", attention_tp=16, expert_ep=16, source="test")
    check_recipe(m, H200, r16)  # 48 heads split 16 ways (3 each)
    with pytest.raises(PrfaasError) as e:  # but not 32 ways
        check_recipe(m, H200, Recipe(gpus=32, weights_dtype="fp8", attention_tp=32, expert_ep=32, source="test"))
    assert "recipe.attention_tp (--tp)" in e.value.render() and "does not divide the 48" in e.value.render()
    gm = catalog.load_model("gpt-oss-120b")  # 128 experts
    big = Recipe(gpus=256, weights_dtype="fp4", attention_tp=64, attention_dp=4, expert_ep=256, source="test")
    with pytest.raises(PrfaasError) as e:
        check_recipe(gm, H200, big)
    assert "recipe.expert_ep (--ep)" in e.value.render() and "exceeds the 128 routed experts" in e.value.render()


def test_model_file_rules():
    raw = catalog.load_model("llama-3.1-8b").model_dump(exclude={"recipe"})
    legacy = ModelSpec.model_validate({**raw, "weights_dtype": "fp8"})  # no recipe: an assumed one
    assert legacy.recipe.assumed and legacy.weights_dtype == "fp8" and legacy.recipe.attn_tp == 8
    with pytest.raises(ValueError, match="belong inside `recipe:`"):
        ModelSpec.model_validate({**raw, "weights_dtype": "fp8", "recipe": legacy.recipe.model_dump()})
    bad = {**legacy.recipe.model_dump(), "attention_tp": 3, "attention_dp": 1}
    with pytest.raises(ValueError, match="attention_tp x attention_dp"):
        ModelSpec.model_validate({**raw, "recipe": bad})


def test_an_unfittable_recipe_is_infeasible():
    with pytest.raises(InfeasibleError):
        check_recipe(catalog.load_model("ring-2.5-1t"), catalog.load_hardware("h20"),
                     catalog.load_model("ring-2.5-1t").recipe)


@pytest.mark.parametrize(("dtype", "gpus", "suggested"), [
    ("bf16", 8, "--weights-dtype fp8 or int4 or fp4"), ("fp8", 4, "--weights-dtype int4 or fp4"), ("int4", 2, None)])
def test_weights_that_do_not_fit_are_pointed_only_at_fewer_bytes_per_weight(dtype, gpus, suggested):
    """prfaas-hybrid-1t: 2,063 GB in bf16 (8 x H200 hold 8 x 150.75 x 0.9 = 1,085 GB), 1,034 GB in fp8 (4 x
    H200 hold 543 GB), 519 GB in int4 (2 x H200 hold 271 GB; fp4 is as many bytes as int4, so nothing
    narrower is suggested)."""
    m = catalog.load_model("prfaas-hybrid-1t")
    rc = RecipeOverrides(weights_dtype=dtype).apply(m.recipe.for_gpus(gpus))
    with pytest.raises(InfeasibleError) as e:
        check_recipe(m, catalog.load_hardware("h200"), rc)
    fix = e.value.fix or ""
    assert (suggested in fix) if suggested else ("lower-precision" not in fix)
    assert f"--weights-dtype {dtype}" not in fix and f" {dtype} " not in fix.split("(")[-1]


def test_an_instance_runs_the_first_published_checkpoint_that_fits():
    """prfaas-hybrid-1t publishes fp8 (1,034 GB) and int4 (519 GB) checkpoints. 8 x H200 (8 x 143,771 MiB x
    0.9 = 1,085 GB usable) run fp8; 8 x H20 (8 x 97,871 MiB x 0.9 = 739 GB) cannot, so they run int4 and the
    recipe's source says why; an explicit fp8 on H20 is an error, not silently replaced."""
    from prfaas_plan.perf.recipe import resolve_recipe

    m = catalog.load_model("prfaas-hybrid-1t")
    assert m.recipe.weights_dtype == "fp8" and m.recipe.fallback_weights_dtypes == ("int4",)
    on_h200 = resolve_recipe(m, catalog.load_hardware("h200"), 8)
    on_h20 = resolve_recipe(m, catalog.load_hardware("h20"), 8)
    assert on_h200.weights_dtype == "fp8" and "do not fit" not in on_h200.source
    assert on_h20.weights_dtype == "int4" and "fp8 weights (1,034 GB) do not fit 8 x h20 (739 GB usable)" in on_h20.source
    with pytest.raises(InfeasibleError, match="fp8"):
        resolve_recipe(m, catalog.load_hardware("h20"), 8, RecipeOverrides(weights_dtype="fp8"))
    # the output says so: a NOTE in kv (table and JSON) on H20, none on H200
    assert "NOTE: checkpoint: fp8 weights" in " ".join(_kv("prfaas-hybrid-1t", "--hardware", "h20").output.split())
    assert not any("checkpoint" in n for n in json.loads(_kv("prfaas-hybrid-1t", "-f", "json").output).get("notes", []))


def test_a_fallback_checkpoint_must_differ_from_the_primary():
    from prfaas_plan.specs.recipe import Recipe

    with pytest.raises(ValueError, match="fallback_weights_dtypes"):
        Recipe(weights_dtype="fp8", fallback_weights_dtypes=("fp8",), source="t")


def _kv(*args):
    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    return CliRunner().invoke(app, ["kv", *args])


def test_kv_recipe_overrides_change_the_prediction_and_are_reported():
    import json

    base = json.loads(_kv("minimax-m2.5", "--lengths", "32k", "-f", "json").stdout)
    bf16 = json.loads(_kv("minimax-m2.5", "--lengths", "32k", "-f", "json", "--weights-dtype", "bf16",
                          "--kv-dtype", "fp8").stdout)
    assert base["recipe"]["weights_dtype"] == "fp8" and not base["recipe"]["assumed"]
    assert (bf16["recipe"]["weights_dtype"], bf16["recipe"]["kv_dtype"]) == ("bf16", "fp8")
    assert "overridden: weights_dtype=bf16, kv_dtype=fp8" in bf16["recipe"]["source"]
    # fp8 KV halves the bytes per token; bf16 GEMMs run at half the fp8 peak
    assert bf16["kv_bytes_per_token"] == pytest.approx(base["kv_bytes_per_token"] / 2)
    assert bf16["rows"][0]["prefill_s"] > base["rows"][0]["prefill_s"]
    tp4 = json.loads(_kv("minimax-m2.5", "--lengths", "32k", "-f", "json", "--tp", "4").stdout)
    assert (tp4["attention_dp"], tp4["recipe"]["attention_tp"]) == (2, 4)
    hyb = _kv("prfaas-hybrid-1t", "--lengths", "8k")
    assert hyb.exit_code == 0 and "ASSUMED: no published recipe" in hyb.stdout


@pytest.mark.parametrize(("args", "field", "fix"), [
    (["minimax-m2.5", "--ep", "16"], "recipe.expert_ep (--ep)", "divide the instance's 8 GPUs"),
    (["minimax-m2.5", "--gpus", "32", "--tp", "32"], "recipe.attention_tp (--tp)", "divides 48"),
    (["gpt-oss-120b", "-H", "a100", "--weights-dtype", "fp8"], "recipe.weights_dtype (--weights-dtype)", "bf16"),
    (["kimi-k2", "-H", "h20", "--weights-dtype", "fp8"], "recipe.weights_dtype (--weights-dtype)", "at least 12 GPUs"),
    (["minimax-m2.5", "--kv-dtype", "int8"], "--kv-dtype 'int8'", "bf16, fp8, fp32"),
])
def test_kv_bad_recipes_exit_2_naming_the_field_and_the_fix(args, field, fix):
    r = _kv(*args)
    assert r.exit_code == 2, r.output
    assert field in r.output and fix in r.output and "Traceback" not in r.output


def test_scenario_cluster_recipe_block(tmp_path):
    import json

    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    sc = tmp_path / "s.yaml"
    body = ("model: minimax-m2.5\nname: t\nlocal:\n  hardware: h20\n  gpus: 64\n  recipe: {RECIPE}\n"
            "link: {bandwidth_gbps: 100}\nworkload: paper-lognormal\ndecode: {mode: fixed, max_batch: 20, step_time_ms: 25}\n")
    sc.write_text(body.replace("{RECIPE}", "{weights_dtype: bf16}"))
    r = CliRunner().invoke(app, ["plan", str(sc), "-f", "json"])
    assert r.exit_code in (0, 1), r.output
    rec = json.loads(r.stdout)["inputs"]["recipes"]["local"]
    assert rec.startswith("bf16 weights") and "overridden: weights_dtype=bf16" in rec
    sc.write_text(body.replace("{RECIPE}", "{ep: 16}"))
    r = CliRunner().invoke(app, ["plan", str(sc)])
    assert r.exit_code == 2 and "local.recipe.expert_ep (--ep)" in r.output and "Fix:" in r.output


def test_a_gpu_that_cannot_run_the_primary_checkpoint_runs_the_fallback():
    """16 x A100 hold prfaas-hybrid-1t's fp8 checkpoint (1,034 GB of 16 x 81,920 MiB x 0.9 = 1,237 GB) but have
    no fp8 tensor cores: an operator serves the published int4 checkpoint, as where fp8 does not fit."""
    m = catalog.load_model("prfaas-hybrid-1t")
    r = resolve_recipe(m, catalog.load_hardware("a100"), 16, RecipeOverrides(tp=8, attention_dp=2))
    assert r.weights_dtype == "int4" and "a100 has no fp8 tensor cores" in r.source


def test_when_no_published_checkpoint_fits_the_error_names_each_and_sizes_the_fix_on_the_smallest():
    """8 x L20 give 8 x 46,068 MiB x 0.9 = 348 GB: neither fp8 (1,034 GB) nor int4 (519 GB) fits; the int4
    checkpoint needs 519 / 43.5 GB per GPU = 11.9, so 12 GPUs (not the 24 fp8 would need); nothing narrower
    than int4 is suggested (fp4 is as many bytes)."""
    m = catalog.load_model("prfaas-hybrid-1t")
    with pytest.raises(InfeasibleError) as e:
        resolve_recipe(m, catalog.load_hardware("l20"), 8)
    assert "fp8 (1,034 GB) or int4 (519 GB)" in str(e.value) and "348 GB usable" in str(e.value)
    assert "at least 12 GPUs per instance (the int4 checkpoint)" in (e.value.fix or "")
    assert "lower-precision" not in (e.value.fix or "")


def test_scale_quick_costs_the_checkpoint_the_gpu_holds():
    """`scale --model --hardware h20` was costed with the fp8 default (refused: it does not fit 8 x H20);
    it runs the int4 checkpoint as `kv` does, with the same prefill seconds, and says which and why."""
    import json

    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    r = CliRunner().invoke(app, ["scale", "--model", "prfaas-hybrid-1t", "--hardware", "h20", "--tokens", "32k",
                                 "--gpus", "64", "-f", "json"])
    assert r.exit_code == 0, r.output
    head = json.loads(r.stdout)
    assert head["recipe"]["weights_dtype"] == "int4" and "do not fit 8 x h20" in head["recipe"]["source"]
    assert any(n.startswith("checkpoint: fp8 weights (1,034 GB) do not fit 8 x h20") for n in head["notes"])
    kv = json.loads(_kv("prfaas-hybrid-1t", "-H", "h20", "--lengths", "32k", "-f", "json").stdout)
    assert head["prefill_s"] == pytest.approx(kv["rows"][0]["prefill_s"])


def test_compare_and_size_carry_a_fixed_decode_with_each_gpus_own_checkpoint():
    """The paper scenario's fixed decode capacity is the 8 x H20 local's, which runs int4; carried to local
    H200 (fp8) by the roofline step-time ratio. `compare` costed the reference with the fp8 default on H20
    (a checkpoint that does not fit there, ratio 1.79); it now agrees with `size`, which resolves each side."""
    from prfaas_plan.assemble.inputs import mix_inputs, workload_lengths
    from prfaas_plan.assemble.scenario import load_scenario
    from prfaas_plan.catalog import Catalog
    from prfaas_plan.commands.size_families import local_decode, prepare_gpu

    cat = Catalog()
    loaded = load_scenario(cat, None)
    inp, info = mix_inputs(cat, loaded.spec, loaded.workload, "prfaas-paper", None, "h200")
    ln = workload_lengths(loaded.workload, 200)
    g = prepare_gpu(cat, loaded, (float(ln.atoms[0]), float(ln.atoms[-1])), "h200", 8, "scenario", {})
    rps, _ = local_decode(cat, loaded, ln, g)
    assert info["recipes"]["local"].startswith("fp8 weights")
    assert inp.route.decode_rps_per_instance == pytest.approx(rps, rel=1e-9)


def test_size_says_which_checkpoint_each_gpu_runs_and_why():
    """`size` reports each family's layout (the dtype); a GPU on the model's fallback checkpoint gets a note
    with the reason (here the paper scenario's 8 x H20 local, on which fp8 does not fit)."""
    import json

    from typer.testing import CliRunner

    from prfaas_plan.cli.app import app

    r = CliRunner().invoke(app, ["size", "--target-rps", "1", "--recipes", "scenario", "-f", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["best"]["recipe"]["local"].startswith("scenario: int4 weights")
    assert ("checkpoint: fp8 weights (1,034 GB) do not fit 8 x h20 (739 GB usable): running the published int4 "
            "checkpoint") in out["notes"]
    assert not any("h200" in n for n in out["notes"])  # 8 x H200 run the fp8 checkpoint itself


def test_compare_keeps_a_scenario_clusters_recipe_block(tmp_path):
    """`compare` re-builds each cluster per GPU mix; it dropped the scenario's `recipe:` blocks (a bf16 local
    was costed in the published fp8), so `plan` and `compare` priced different deployments."""
    from prfaas_plan.assemble.inputs import build_inputs, mix_inputs
    from prfaas_plan.assemble.scenario import load_scenario
    from prfaas_plan.catalog import Catalog

    sc = tmp_path / "s.yaml"
    sc.write_text("model: minimax-m2.5\nname: t\nprfaas: {hardware: h200, gpus: 16, recipe: {ep: 1}}\n"
                  "local: {hardware: h20, gpus: 64, recipe: {weights_dtype: bf16}}\nlink: {bandwidth_gbps: 100}\n"
                  "workload: paper-lognormal\ndecode: {mode: fixed, max_batch: 20, step_time_ms: 25}\n")
    cat = Catalog()
    loaded = load_scenario(cat, str(sc))
    _, plan = build_inputs(cat, loaded.spec, loaded.workload, str(sc), False, None)
    _, mix = mix_inputs(cat, loaded.spec, loaded.workload, str(sc), "h200", "h20")
    assert mix["recipes"] == plan["recipes"]
    assert mix["recipes"]["local"].startswith("bf16 weights") and "EP 1" in mix["recipes"]["prfaas"]
