"""`prfaas workload import`: a request trace -> a workload YAML (and a one-line summary)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prfaas_plan.commands.catalog import check_name_flag


@dataclass
class ImportedWorkload:
    yaml_text: str
    summary: str


def import_trace(trace: Path, fmt: str, skip_bad: bool, block_tokens: int, cache_tokens: float | None,
                 name: str | None, as_json: bool = False) -> ImportedWorkload:
    """The workload as YAML, or as JSON when `as_json` (an output file named *.json: JSON is also YAML,
    so either loads as a workload)."""
    import yaml

    from prfaas_plan.assemble.workload import trace_workload
    from prfaas_plan.catalog import Catalog
    from prfaas_plan.io.traces import read_trace

    check_name_flag(name)
    tr = read_trace(Catalog().trace(trace), fmt, skip_bad)
    wl = trace_workload(tr, name or trace.stem.replace("_", "-"), block_tokens, cache_tokens)
    data = wl.model_dump(mode="json", exclude_none=True)
    pv = data["provenance"]
    summary = (f"{pv['requests']:,} requests over {pv['time_span_s']:,.0f} s; mean input {pv['mean_input_tokens']:,.0f}, "
               f"P90 {pv['p90_input_tokens']:,.0f}; prefix hit ratio {pv['prefix_hit_ratio']:.1%}; "
               f"arrival SCV {data['arrival']['burstiness_scv']:.2f}"
               + (f"; {len(tr.skipped)} bad lines skipped" if tr.skipped else ""))
    if as_json:
        import json

        return ImportedWorkload(json.dumps(data, indent=2) + "\n", summary)
    return ImportedWorkload(yaml.safe_dump(data, sort_keys=False, width=120), summary)
