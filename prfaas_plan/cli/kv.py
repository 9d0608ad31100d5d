"""`prfaas kv`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import (
    AttentionDpOpt,
    ChunkedPrefillOpt,
    EpOpt,
    Fmt,
    KvDtypeOpt,
    RoutingOpt,
    TpOpt,
    WeightsDtypeOpt,
    emit,
    out_format,
    parse_count,
    parse_lengths,
    run,
)


def kv(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="catalog model name or path to a model YAML")],
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="GPU name or YAML path")] = "h200",
    gpus: Annotated[int, typer.Option(help="GPUs per prefill instance", min=1, max=1024)] = 8,
    lengths: Annotated[str, typer.Option(help="comma-separated token counts; k = x1024")] = "1024,8192,32768,131072",
    format: Annotated[Fmt, typer.Option("--format", "-f")] = Fmt.table,
    breakdown: Annotated[bool, typer.Option(help="time per op class")] = False,
    calibration: Annotated[Path | None, typer.Option(help="calibration YAML from `prfaas calibrate`")] = None,
    attention_dp: AttentionDpOpt = None,
    weights_dtype: WeightsDtypeOpt = None,
    kv_dtype: KvDtypeOpt = None,
    tp: TpOpt = None,
    ep: EpOpt = None,
    routing: RoutingOpt = None,
    chunked_prefill_size: ChunkedPrefillOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """KV throughput of one prefill instance (paper Eq 1): KV bytes, prefill seconds, Gbps.

    Examples:

      prfaas kv minimax-m2.5

      prfaas kv kimi-linear-48b --hardware h20 --lengths 4k,16k,64k --format json

      prfaas kv ./my-model.yaml --breakdown

      prfaas kv mimo-v2-flash --attention-dp 1

      prfaas kv minimax-m2.5 --weights-dtype bf16 --kv-dtype fp8 --tp 8 --ep 8

      prfaas kv minimax-m2.5 --routing power_law

      prfaas kv mimo-v2-flash --chunked-prefill-size 16k

    The model's published serving recipe (its `recipe:` block) is assumed unless overridden; the
    output names it and says when it is the planner's assumption rather than a published one.
    """

    def go() -> None:
        from prfaas_plan.commands.kv import recipe_overrides, run_kv
        from prfaas_plan.report.kv import render_kv

        chunk = parse_count(chunked_prefill_size, "--chunked-prefill-size", "16k") if chunked_prefill_size is not None else None
        ov = recipe_overrides(weights_dtype, kv_dtype, tp, ep, attention_dp, routing, chunk)
        r = run_kv(model, hardware, gpus, parse_lengths(lengths), calibration, ov)
        emit(render_kv(r, out_format(ctx), breakdown), output)

    run(go, ctx)
