"""Strict base model shared by every schema: unknown keys rejected, values frozen, finite floats."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return v


PosFloat = Annotated[float, Field(gt=0), AfterValidator(_finite)]
NonNegFloat = Annotated[float, Field(ge=0), AfterValidator(_finite)]
Fraction = Annotated[float, Field(gt=0, le=1), AfterValidator(_finite)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
