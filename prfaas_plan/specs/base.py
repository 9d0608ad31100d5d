"""Strict base model shared by every schema: unknown keys rejected, values frozen, finite floats."""

from __future__ import annotations

import math
from typing import Annotated, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from prfaas_plan.specs import limits as L


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return v


PosFloat = Annotated[float, Field(gt=0), AfterValidator(_finite)]
NonNegFloat = Annotated[float, Field(ge=0), AfterValidator(_finite)]
Fraction = Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]


# Plausibility-bounded values (see `specs.limits` for each limit and its source)
Tokens = Annotated[float, Field(gt=0, le=L.MAX_TOKENS), AfterValidator(_finite)]
TokensInt = Annotated[int, Field(gt=0, le=int(L.MAX_TOKENS))]
ClusterGpus = Annotated[int, Field(gt=0, le=L.MAX_CLUSTER_GPUS)]
InstanceGpus = Annotated[int, Field(gt=0, le=L.MAX_INSTANCE_GPUS)]
DecodeBatch = Annotated[int, Field(gt=0, le=L.MAX_DECODE_BATCH)]
Flops = Annotated[float, Field(ge=L.MIN_FLOPS_PER_S, le=L.MAX_FLOPS_PER_S), AfterValidator(_finite)]
MemoryBandwidth = Annotated[float, Field(ge=L.MIN_MEMORY_BANDWIDTH, le=L.MAX_MEMORY_BANDWIDTH), AfterValidator(_finite)]
MemoryBytes = Annotated[float, Field(ge=L.MIN_MEMORY_BYTES, le=L.MAX_MEMORY_BYTES), AfterValidator(_finite)]
LinkGbps = Annotated[float, Field(ge=L.MIN_LINK_GBPS, le=L.MAX_LINK_GBPS), AfterValidator(_finite)]
ComputeUnits = Annotated[int, Field(gt=0, le=L.MAX_COMPUTE_UNITS)]
ScaleupDomain = Annotated[int, Field(gt=0, le=L.MAX_SCALEUP_DOMAIN)]
UsdPerGpuHour = Annotated[float, Field(gt=0, le=L.MAX_USD_PER_GPU_HOUR), AfterValidator(_finite)]
KernelSeconds = Annotated[float, Field(ge=0, le=L.MAX_KERNEL_S), AfterValidator(_finite)]
EngineSeconds = Annotated[float, Field(ge=0, le=L.MAX_ENGINE_S), AfterValidator(_finite)]
ModelDim = Annotated[int, Field(gt=0, le=L.MAX_MODEL_DIM)]
ModelDimOrZero = Annotated[int, Field(ge=0, le=L.MAX_MODEL_DIM)]
Layers = Annotated[int, Field(gt=0, le=L.MAX_LAYERS)]
Weight = Annotated[float, Field(ge=0, le=L.MAX_WEIGHT), AfterValidator(_finite)]
PosWeight = Annotated[float, Field(gt=0, le=L.MAX_WEIGHT), AfterValidator(_finite)]


def _one_line(v: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        raise ValueError("must be one line of printable text (no newline, tab or control character)")
    return v


def name_problem(v: str) -> str | None:
    """Why `v` cannot be a `Name` (for a flag such as --name, checked before any work), or None."""
    if not v.strip():
        return "is empty"
    if len(v) > L.MAX_NAME_CHARS:
        return f"has {len(v):,} characters, more than {L.MAX_NAME_CHARS}"
    try:
        _one_line(v)
    except ValueError as exc:
        return str(exc)
    return None


# a name printed in tables, CSV rows and file names
Name = Annotated[str, Field(min_length=1, max_length=L.MAX_NAME_CHARS), AfterValidator(_one_line)]


def _types(annotation: object) -> set[object]:
    """The plain types an annotation admits (through unions, Optional, Annotated)."""
    args = get_args(annotation)
    if not args:
        return {annotation}
    return set().union(*(_types(a) for a in args)) | {get_origin(annotation)}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: object) -> object:
        """YAML's true/false where a number is expected (pydantic's lax mode reads true as 1: `tp: true`
        became a TP of 1), and a number or string where only true/false is (lax mode reads 1 and "yes"
        as true: `multi_layer: 1`); a field that admits both keeps either."""
        if isinstance(data, dict):
            for k, v in data.items():
                if k not in cls.model_fields or v is None:
                    continue
                admits = _types(cls.model_fields[k].annotation)
                if isinstance(v, bool) and bool not in admits and admits & {int, float}:
                    raise ValueError(f"{k}: {str(v).lower()} where a number is expected")
                if not isinstance(v, bool) and bool in admits and not admits & {int, float, str}:
                    raise ValueError(f"{k}: {v!r} where true or false is expected")
        return data
