"""`prfaas perf`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from prfaas_plan.cli.common import (
    AttentionDpOpt,
    EpOpt,
    KvDtypeOpt,
    RoutingOpt,
    TpOpt,
    WeightsDtypeOpt,
    emit,
    out_format,
    parse_count,
    run,
)


class PerfFmt(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


def perf(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="catalog model name or path to a model YAML")],
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="GPU name or YAML path")] = "h200",
    gpus: Annotated[int, typer.Option(help="GPUs per instance", min=1, max=1024)] = 8,
    input_length: Annotated[str, typer.Option(help="prompt tokens per request; k = x1024")] = "4096",
    output_length: Annotated[str, typer.Option(help="generated tokens per request; k = x1024")] = "1024",
    prefill_batch_tokens: Annotated[str | None, typer.Option(
        "--prefill-batch-tokens", "--chunked-prefill-size", help="token budget of one prefill forward: the recipe's "
        "chunked-prefill size (SGLang --chunked-prefill-size, as kv's; DP attention divides it over the groups); "
        "default: the recipe's chunked_prefill_tokens, else the GPU's chunk size (8192 on H100/H20/H200)")] = None,
    decode_batch: Annotated[int | None, typer.Option(
        help="sequences decoding at once per instance; default: the largest that fits HBM and the SLO")] = None,
    slo_tokens_per_s: Annotated[float, typer.Option(help="decode SLO, tokens/s per request")] = 40.0,
    attention_dp: AttentionDpOpt = None,
    weights_dtype: WeightsDtypeOpt = None,
    kv_dtype: KvDtypeOpt = None,
    tp: TpOpt = None,
    ep: EpOpt = None,
    routing: RoutingOpt = None,
    calibration: Annotated[Path | None, typer.Option(help="calibration YAML from `prfaas calibrate`")] = None,
    format: Annotated[PerfFmt, typer.Option("--format", "-f")] = PerfFmt.table,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """What one instance does: prefill latency (TTFT) and throughput, decode step, TPOT and throughput.

    Prefill throughput is a busy instance's (forwards filled to the token budget, the per-request
    overhead overlapped), not 1 / latency; decode pays only its kernels.

    Examples:

      prfaas perf qwen3-30b-a3b

      prfaas perf prfaas-hybrid-1t --hardware h20 --input-length 32k --format json

      prfaas perf mimo-v2-flash --attention-dp 1 --decode-batch 64

      prfaas perf ./my-model.yaml --gpus 4 --prefill-batch-tokens 16k --format markdown

      prfaas perf minimax-m2.5 --weights-dtype bf16 --kv-dtype fp8 --tp 8 --ep 8 --routing power_law

    The model's published serving recipe (its `recipe:` block) is assumed unless overridden; the
    output names it and says when it is the planner's assumption rather than a published one.
    """

    def go() -> None:
        from prfaas_plan.commands.kv import recipe_overrides
        from prfaas_plan.commands.perf import PerfRequest, run_perf
        from prfaas_plan.report.perf import render_perf

        chunk = (parse_count(prefill_batch_tokens, "--prefill-batch-tokens", "8k")
                 if prefill_batch_tokens is not None else None)
        req = PerfRequest(
            model, hardware, gpus, parse_count(input_length, "--input-length"),
            parse_count(output_length, "--output-length"), decode_batch, slo_tokens_per_s,
            recipe_overrides(weights_dtype, kv_dtype, tp, ep, attention_dp, routing, chunk), calibration,
        )
        emit(render_perf(run_perf(req), out_format(ctx)), output)

    run(go, ctx)
