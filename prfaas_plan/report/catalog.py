"""`prfaas catalog`: lists and single-entry views with derived figures."""

from __future__ import annotations

from typing import Any

from prfaas_plan.perf.kv import kv_layout
from prfaas_plan.perf.ops import param_count, weight_bytes
from prfaas_plan.report.blocks import table
from prfaas_plan.report.tables import format_columns, to_csv, to_json, to_markdown
from prfaas_plan.specs.hardware import HardwareSpec
from prfaas_plan.specs.model import ModelSpec


def _out(cols: list[str], rows: list[list[Any]], fmt_name: str, title: str, data: Any) -> Any:
    if fmt_name == "json":
        return to_json(data)
    if fmt_name == "csv":
        return to_csv(cols, rows)
    srows = format_columns(rows)
    if fmt_name == "markdown":
        return to_markdown(cols, srows, title)
    return table(cols, srows, title)


def render_hardware(specs: list[HardwareSpec], one: bool, fmt_name: str) -> Any:
    """The GPU list (or, with `one`, the single entry's JSON object rather than a list)."""
    cols = ["name", "BF16 TFLOPS", "FP8 TFLOPS", "HBM GB", "HBM TB/s", "scale-up GB/s", "NIC Gbps", "$/GPU-h", "calibration"]
    rows = []
    for h in specs:
        d = h.datasheet
        rows.append([
            h.name, d.bf16_dense_flops_per_s / 1e12,
            d.fp8_dense_flops_per_s / 1e12 if d.fp8_dense_flops_per_s else None,
            d.hbm_capacity_bytes / 1e9, d.hbm_bandwidth_bytes_per_s / 1e12,
            d.scaleup_bandwidth_bytes_per_s / 1e9, d.nic_bandwidth_gbps,
            h.price.usd_per_gpu_hour if h.price else None,
            "UNCALIBRATED (copied block)" if "uncalibrated" in h.efficiency.source.lower() else "calibrated",
        ])
    data: Any = [h.model_dump() for h in specs]
    return _out(cols, rows, fmt_name, "GPU catalog (datasheet values; see YAML for sources)", data[0] if one else data)


def render_models(specs: list[ModelSpec], one: bool, fmt_name: str) -> Any:
    """The model list with derived figures (or, with `one`, the single entry's JSON object)."""
    cols = ["name", "layers", "params B", "weights GB", "KV B/token", "fixed state MiB", "KV @32K GiB", "weights"]
    rows = []
    data = []
    for m in specs:
        lay = kv_layout(m)
        p = param_count(m)
        wb = weight_bytes(m)
        kv32 = float(lay.bytes([32768])[0])
        rows.append([m.name, m.num_hidden_layers, p / 1e9, wb / 1e9, lay.full_bytes_per_token,
                     lay.fixed_state_bytes / 2**20, kv32 / 2**30, m.weights_dtype])
        data.append({**m.model_dump(), "derived": {
            "param_count": p, "weights_bytes": wb, "kv_bytes_per_token": lay.full_bytes_per_token,
            "fixed_state_bytes": lay.fixed_state_bytes, "linear_state_bytes": lay.linear_state_bytes,
            "conv_state_bytes": lay.conv_state_bytes, "swa_window_bytes": lay.swa_full_window_bytes,
        }})
    return _out(cols, rows, fmt_name, "Model catalog (derived from the layer lists)", data[0] if one else data)
