"""`prfaas models import`: a model catalog YAML from a local Hugging Face config.json.

Families: Llama / Qwen2 / Qwen3 / Qwen3-MoE / MiniMax-M2 (GQA), DeepSeek-V3 / Kimi-K2 (MLA),
Qwen3-Next / Qwen3.5 (Gated DeltaNet hybrid), Kimi Linear (KDA hybrid), MiMo-V2-Flash and gpt-oss
(sliding-window hybrid). Layers are grouped by (attention, FFN) kind in order of first appearance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from prfaas_plan.errors import InvalidFileError
from prfaas_plan.io.files import read_text
from prfaas_plan.io.yamlfile import validate_data
from prfaas_plan.specs.limits import MAX_LAYERS, MAX_MODEL_DIM
from prfaas_plan.specs.model import ModelSpec

POSITIVE = (
    "hidden_size", "vocab_size", "num_attention_heads", "num_key_value_heads", "head_dim", "intermediate_size",
    "moe_intermediate_size", "n_routed_experts", "num_experts", "num_local_experts", "num_experts_per_tok",
    "experts_per_token", "moe_top_k", "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
    "v_head_dim", "sliding_window", "swa_num_key_value_heads", "swa_head_dim", "swa_v_head_dim",
    "swa_num_attention_heads", "linear_num_value_heads", "linear_num_key_heads", "linear_key_head_dim",
    "linear_value_head_dim", "linear_conv_kernel_dim", "full_attention_interval", "shared_expert_intermediate_size",
)
NON_NEGATIVE = ("n_shared_experts", "first_k_dense_replace")
PER_LAYER_LISTS = ("moe_layer_freq", "layer_types", "hybrid_layer_pattern")


def _whole(cfg: dict[str, Any], key: str, lo: int, hi: float, where: str) -> None:
    v = cfg.get(key)
    if v is None or (v == 0 and lo == 0 and not isinstance(v, bool)):
        return
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and float(v).is_integer()
    if not ok or not lo <= v <= hi:
        raise InvalidFileError(f"field '{key}' is {json.dumps(v)[:40]}: expected a whole number from {lo} to {hi:g}",
                               where=where, fix=f"correct '{key}' (copy it from the model's published config.json)")


def check_config(cfg: dict[str, Any], where: str) -> None:
    """Every dimension a whole number within `specs.limits` (no NaN, Infinity, strings or zero
    heads), per-layer lists as long as the model, before any loop is sized from them."""
    _whole(cfg, "num_hidden_layers", 1, MAX_LAYERS, where)
    for k in POSITIVE:
        _whole(cfg, k, 1, MAX_MODEL_DIM, where)
    for k in NON_NEGATIVE:
        _whole(cfg, k, 0, MAX_MODEL_DIM, where)
    n = cfg.get("num_hidden_layers")
    for k in PER_LAYER_LISTS:
        v = cfg.get(k)
        if isinstance(v, list) and isinstance(n, int) and len(v) < n:
            raise InvalidFileError(f"field '{k}' lists {len(v)} layers but num_hidden_layers is {n}", where=where,
                                   fix=f"give '{k}' one entry per layer")
    lac = cfg.get("linear_attn_config")
    if isinstance(lac, dict):
        for k in ("num_heads", "head_dim", "short_conv_kernel_size"):
            _whole(lac, k, 1, MAX_MODEL_DIM, f"{where}: linear_attn_config")
    _check_semantics(cfg, where)


def _check_semantics(cfg: dict[str, Any], where: str) -> None:
    """What the importer would otherwise read as something else without a word: a layer type it does
    not know (was costed as full attention), a head size that hidden / heads does not give exactly
    (4095 / 32 was floored to 127), a quantisation it cannot name (AWQ 3-bit was imported as bf16)."""
    lt = cfg.get("layer_types")
    bad = next(((i, t) for i, t in enumerate(lt) if t not in LAYER_TYPES), None) if isinstance(lt, list) else None
    if bad is not None:
        raise InvalidFileError(f"field 'layer_types' entry {bad[0]} is {str(bad[1])[:40]!r}, a layer type prfaas "
                               f"does not model (known: {', '.join(LAYER_TYPES)})", where=where,
                               fix="write the model YAML by hand (see `prfaas schema model`)")
    hidden, heads = cfg.get("hidden_size"), cfg.get("num_attention_heads")
    if not cfg.get("head_dim") and isinstance(hidden, int) and isinstance(heads, int) and hidden % heads:
        raise InvalidFileError(f"field 'hidden_size' {hidden} is not a multiple of num_attention_heads {heads}, and "
                               "the config gives no head_dim", where=where,
                               fix="add 'head_dim' (from the model card), or correct hidden_size / num_attention_heads")
    weights_dtype(cfg, where)


LAYER_TYPES = ("full_attention", "sliding_attention", "linear_attention")


def weights_dtype(cfg: dict[str, Any], where: str) -> str:
    """The checkpoint's weights dtype from `quantization_config`: none -> bf16, an fp8 method -> fp8,
    mxfp4 -> fp4, a 4-bit integer method (AWQ, GPTQ, compressed-tensors int4) -> int4; anything else is
    refused (importing it as bf16 would size the weights 2-4x off)."""
    qc = cfg.get("quantization_config")
    if qc is None or qc == {}:
        return "bf16"
    method = str(qc.get("quant_method", "")).lower() if isinstance(qc, dict) else ""
    if "fp8" in method:
        return "fp8"
    if "mxfp4" in method or "mxfp4" in str(qc):
        return "fp4"
    bits = _int4_bits(qc) if isinstance(qc, dict) else None
    if bits == 4:
        return "int4"
    raise InvalidFileError(f"field 'quantization_config' ({str(qc)[:80]}) is not a quantisation prfaas reads "
                           "(fp8, mxfp4, or 4-bit integer weights)", where=where,
                           fix="import a copy of config.json without quantization_config (bf16), then pick the "
                           "deployed checkpoint with --weights-dtype or a recipe's weights_dtype")


def _int4_bits(qc: dict[str, Any]) -> int | None:
    """The weight bits of an integer method (awq/gptq `bits`, compressed-tensors config_groups)."""
    if str(qc.get("quant_method", "")).lower() in ("awq", "gptq") and isinstance(qc.get("bits"), int):
        return int(qc["bits"])
    groups = qc.get("config_groups")
    if isinstance(groups, dict):
        bits = {g.get("weights", {}).get("num_bits") for g in groups.values() if isinstance(g, dict)
                and isinstance(g.get("weights"), dict) and g["weights"].get("type", "int") == "int"}
        return bits.pop() if len(bits) == 1 else None
    return None


def _need(cfg: dict[str, Any], where: str, *keys: str) -> list[Any]:
    missing = [k for k in keys if cfg.get(k) is None]
    if missing:
        raise InvalidFileError(
            f"config.json lacks field(s) {', '.join(missing)} needed for architecture "
            f"{cfg.get('model_type') or cfg.get('architectures')}", where=where,
            fix="add them, or write the model YAML by hand (see `prfaas schema model`)",
        )
    return [cfg[k] for k in keys]


def _ffn(cfg: dict[str, Any], i: int, where: str) -> dict[str, Any]:
    n_exp = cfg.get("n_routed_experts") or cfg.get("num_experts") or cfg.get("num_local_experts")
    dense_first = cfg.get("first_k_dense_replace", 0) or 0
    freq = cfg.get("moe_layer_freq")
    is_moe = bool(n_exp) and i >= dense_first and (not isinstance(freq, list) or bool(freq[i]))
    sparse = cfg.get("mlp_only_layers") or []
    if is_moe and i not in sparse:
        k = cfg.get("num_experts_per_tok") or cfg.get("experts_per_token") or cfg.get("moe_top_k")
        width = cfg.get("moe_intermediate_size") or cfg.get("intermediate_size")
        if not k or not width:
            _need(cfg, where, "num_experts_per_tok", "moe_intermediate_size")
        d: dict[str, Any] = {"kind": "moe", "num_experts": int(n_exp or 0), "top_k": int(k or 0),
                             "expert_intermediate_size": int(width or 0)}
        shared = cfg.get("n_shared_experts") or (1 if cfg.get("shared_expert_intermediate_size") else 0)
        if shared:
            d["num_shared_experts"] = int(shared)
            if cfg.get("shared_expert_intermediate_size"):
                d["shared_intermediate_size"] = int(cfg["shared_expert_intermediate_size"])
        return d
    (inter,) = _need(cfg, where, "intermediate_size")
    return {"kind": "dense", "intermediate_size": int(inter)}


def _layer_kind(cfg: dict[str, Any], i: int) -> str:
    lt = cfg.get("layer_types")
    if isinstance(lt, list) and i < len(lt):
        t = str(lt[i])
        return {"full_attention": "full", "sliding_attention": "swa", "linear_attention": "linear"}.get(t, t)
    pat = cfg.get("hybrid_layer_pattern")
    if isinstance(pat, list) and i < len(pat):
        return "full" if pat[i] == 0 else "swa"
    lac = cfg.get("linear_attn_config")
    if isinstance(lac, dict):
        full = [x - 1 for x in lac.get("full_attn_layers", [])]
        return "full" if i in full else "linear"
    if cfg.get("full_attention_interval"):
        return "full" if (i + 1) % int(cfg["full_attention_interval"]) == 0 else "linear"
    return "full"


def _attention(cfg: dict[str, Any], kind: str, where: str) -> dict[str, Any]:
    heads, = _need(cfg, where, "num_attention_heads")
    if kind == "linear":
        lac = cfg.get("linear_attn_config")
        if isinstance(lac, dict):  # Kimi Linear KDA
            h = int(lac.get("num_heads", heads))
            hd_ = int(lac.get("head_dim", 128))
            return {"kind": "linear", "variant": "kda", "num_heads": h, "key_head_dim": hd_, "value_head_dim": hd_,
                    "conv_kernel": int(lac.get("short_conv_kernel_size", 4)), "conv_channels": 3 * h * hd_,
                    "state_dtype": "fp32"}
        hv, hk, dk, dv = _need(cfg, where, "linear_num_value_heads", "linear_num_key_heads",
                               "linear_key_head_dim", "linear_value_head_dim")
        sd = "fp32" if str(cfg.get("mamba_ssm_dtype", "float32")) in ("float32", "fp32") else "bf16"
        return {"kind": "linear", "variant": "gated_deltanet", "num_heads": hv, "num_key_heads": hk,
                "key_head_dim": dk, "value_head_dim": dv, "conv_kernel": int(cfg.get("linear_conv_kernel_dim", 4)),
                "state_dtype": sd}
    if cfg.get("kv_lora_rank"):
        d = {"kind": "mla", "num_heads": heads, "kv_lora_rank": cfg["kv_lora_rank"],
             "qk_rope_head_dim": cfg.get("qk_rope_head_dim", 64), "qk_nope_head_dim": cfg.get("qk_nope_head_dim", 128),
             "v_head_dim": cfg.get("v_head_dim", 128)}
        if cfg.get("q_lora_rank"):
            d["q_lora_rank"] = cfg["q_lora_rank"]
        return d
    hidden = cfg["hidden_size"]
    hd = cfg.get("head_dim") or hidden // heads
    if kind == "swa":
        kvh = cfg.get("swa_num_key_value_heads") or cfg.get("num_key_value_heads") or heads
        hdim = cfg.get("swa_head_dim") or hd
        vdim = cfg.get("swa_v_head_dim") or cfg.get("v_head_dim") or hdim
        (win,) = _need(cfg, where, "sliding_window")
        return {"kind": "swa", "num_heads": cfg.get("swa_num_attention_heads") or heads, "num_kv_heads": kvh,
                "head_dim": hdim, "v_head_dim": vdim, "window": int(win)}
    d = {"kind": "gqa", "num_heads": heads, "num_kv_heads": cfg.get("num_key_value_heads") or heads,
         "head_dim": hd}
    if cfg.get("v_head_dim") and cfg["v_head_dim"] != hd:
        d["v_head_dim"] = cfg["v_head_dim"]
    if cfg.get("attn_output_gate") or cfg.get("full_attention_interval"):
        d["output_gate"] = True
    return d


def config_to_model(cfg: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    hidden, n_layers, vocab = _need(cfg, where, "hidden_size", "num_hidden_layers", "vocab_size")
    groups: list[dict[str, Any]] = []
    for i in range(int(n_layers)):
        kind = _layer_kind(cfg, i)
        g = {"attention": _attention(cfg, kind, where), "ffn": _ffn(cfg, i, where)}
        for grp in groups:
            if grp["attention"] == g["attention"] and grp["ffn"] == g["ffn"]:
                grp["count"] += 1
                break
        else:
            groups.append({"count": 1, **g})
    wd = weights_dtype(cfg, where)
    return {
        "name": name, "display_name": name, "source": f"imported from {where} by prfaas models import",
        "hidden_size": int(hidden), "vocab_size": int(vocab), "num_hidden_layers": int(n_layers),
        "weights_dtype": wd, "kv_dtype": "bf16", "tie_word_embeddings": bool(cfg.get("tie_word_embeddings", False)),
        "layers": groups,
    }


def import_config(path: Path, name: str | None) -> str:
    import yaml

    text = read_text(path, "config.json")
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFileError(f"not valid JSON: {exc}", where=str(path), fix="give the model's config.json") from None
    except RecursionError:
        raise InvalidFileError("not a model config: nested too deeply", where=str(path),
                               fix="give the model's config.json") from None
    if not isinstance(cfg, dict):
        raise InvalidFileError("expected a JSON object", where=str(path), fix="give the model's config.json")
    if isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg, **cfg["text_config"]}
    check_config(cfg, str(path))
    nm = name or str(cfg.get("_name_or_path") or cfg.get("model_type") or Path(path).parent.name).split("/")[-1].lower()
    try:
        data = config_to_model(cfg, nm, str(path))
    except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, AttributeError) as exc:
        raise InvalidFileError(f"cannot interpret the config ({type(exc).__name__}: {exc})", where=str(path),
                               fix="check the fields this architecture needs, or write the model YAML by hand "
                               "(see `prfaas schema model`)") from None
    validate_data(ModelSpec, data, str(path))
    return yaml.safe_dump(data, sort_keys=False, width=100)
